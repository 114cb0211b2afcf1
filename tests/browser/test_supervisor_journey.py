"""In Chromium: a demo referral misses its deadline; the supervisor refers it for prosecution."""

from __future__ import annotations

import os
from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import CaseOutcome, CaseStatus
from escalations.models import Escalation
from programmes.models import Referral, ReferralStatus
from tests.browser.conftest import sign_in

SCREENSHOTS = os.environ.get("SCREENSHOTS", "")


def test_demo_supervisor_refers_a_missed_deadline_for_prosecution(page, demo):
    referral = (
        Referral.objects.filter(case__force__code="TVP", status=ReferralStatus.NEW)
        .select_related("case")
        .order_by("reference")
        .first()
    )
    assert referral is not None, "seed_demo should leave new Thames Valley referrals"
    case = referral.case
    # The first appointment was due yesterday and nobody came: move the deadline into the
    # past, then sweep now, as Celery beat would on its next run.
    Referral.objects.filter(pk=referral.pk).update(
        first_appointment_due=timezone.now() - timedelta(days=1)
    )
    call_command("sweep_deadlines", stdout=StringIO())

    sign_in(page, "supervisor")
    expect(page.get_by_role("heading", name="Escalations")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=case.reference)
    expect(row).to_contain_text("No first appointment attended by the deadline")
    row.get_by_role("link", name=case.reference).click()

    expect(
        page.get_by_role("heading", name=f"Escalation for case {case.reference}")
    ).to_be_visible()
    expect(page.locator("[data-fact=first_appointment_missed]")).to_be_visible()

    # A decision without a rationale is refused, and the choice made is kept.
    page.get_by_label("Refer for prosecution").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.get_by_role("link", name="Give the rationale for the decision")).to_be_visible()
    expect(page.get_by_label("Refer for prosecution")).to_be_checked()

    page.get_by_label("Rationale", exact=True).fill(
        "No contact since the referral despite two letters and a call."
    )
    page.get_by_role("button", name="Continue").click()

    # The check step: the answers, what recording them will do, and nothing recorded yet.
    expect(
        page.get_by_role("heading", name="Check your decision before recording it")
    ).to_be_visible()
    expect(page.locator("[data-consequences]")).to_contain_text(
        f"Case {case.reference} closes as referred for prosecution"
    )
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/supervisor-check.png", full_page=True)
    assert Escalation.objects.get(referral=referral).decided_at is None
    page.get_by_role("link", name="Change the rationale").click()
    expect(page.get_by_label("Rationale", exact=True)).to_have_value(
        "No contact since the referral despite two letters and a call."
    )
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Record the decision").click()

    expect(
        page.get_by_text(f"Decision recorded: case {case.reference} is closed as referred")
    ).to_be_visible()
    heading = page.get_by_role("heading", name=f"Escalation for case {case.reference}")
    expect(heading).to_contain_text("Closed: Referred for prosecution")
    expect(page.locator("[data-decision=prosecute]")).to_contain_text("Marcus Reid")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert case.outcome == CaseOutcome.PROSECUTION
    escalation = Escalation.objects.get(referral=referral)
    assert escalation.decided_by.username == "supervisor"

    page.get_by_role("button", name="Case summary for the prosecution file").click()
    expect(
        page.get_by_role("heading", name=f"Case {case.reference}: referred for prosecution")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Print this page")).to_be_visible()
    expect(page.get_by_text("No contact since the referral despite two letters")).to_be_visible()
