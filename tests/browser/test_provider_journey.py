"""In Chromium: the demo provider takes a new referral to completion; the officer sees it."""

from __future__ import annotations

import re
from datetime import date, timedelta

from django.utils import timezone
from playwright.sync_api import expect

from base.clock import london_date
from cases.models import CaseOutcome, CaseStatus
from programmes.models import Appointment, Referral, ReferralStatus
from tests.browser.conftest import sign_in


def fill_date(page, prefix: str, day: date) -> None:
    page.locator(f"#id_{prefix}_day").fill(str(day.day))
    page.locator(f"#id_{prefix}_month").fill(str(day.month))
    page.locator(f"#id_{prefix}_year").fill(str(day.year))


def test_demo_provider_completes_a_referral_and_the_officer_sees_it_diverted(page, demo):
    referral = (
        Referral.objects.filter(
            programme__provider__name="Pathways Drug Education",
            programme__sessions_required=1,
            case__force__code="TVP",
            status=ReferralStatus.NEW,
        )
        .select_related("case")
        .order_by("reference")
        .first()
    )
    assert referral is not None, "seed_demo should leave new referrals for Pathways"
    today = london_date(timezone.now())

    sign_in(page, "provider")
    expect(page.get_by_role("heading", name="Referrals")).to_be_visible()
    page.get_by_role("link", name=referral.reference).click()

    expect(page.get_by_role("heading", name=f"Referral {referral.reference}")).to_be_visible()
    page.get_by_role("button", name="Accept the referral").click()
    expect(page.get_by_text("Referral accepted")).to_be_visible()

    page.get_by_role("button", name="Book an appointment").click()
    fill_date(page, "date", today + timedelta(days=1))
    page.get_by_label("Start time").fill("10:00")
    page.get_by_label("Assessment").check()
    page.get_by_role("button", name="Book the appointment").click()
    expect(page.get_by_text("Appointment booked for")).to_be_visible()
    expect(page.get_by_text("Can be recorded once the appointment has started")).to_be_visible()

    # Attendance cannot be recorded before an appointment starts: we move the clock on by
    # moving the appointment an hour into the past.
    Appointment.objects.filter(referral=referral).update(
        starts_at=timezone.now() - timedelta(hours=1)
    )
    page.reload()
    page.get_by_role("link", name=re.compile(r"^Record attendance")).click()
    page.get_by_label("Attended", exact=True).check()
    page.get_by_role("button", name="Save attendance").click()
    expect(page.get_by_text("Attendance recorded: attended")).to_be_visible()
    expect(page.locator("[data-attended]")).to_have_text("1 of 1 required session attended")

    page.get_by_role("button", name="Record completion").click()
    fill_date(page, "completed_on", today)
    page.get_by_role("button", name="Record completion").click()
    expect(page.get_by_text("Completion recorded")).to_be_visible()
    expect(page.locator("h1 [data-status=completed]")).to_be_visible()

    referral.refresh_from_db()
    referral.case.refresh_from_db()
    assert referral.status == ReferralStatus.COMPLETED
    assert referral.case.status == CaseStatus.CLOSED
    assert referral.case.outcome == CaseOutcome.DIVERTED

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "officer")
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()
    page.get_by_label("Search by name, case reference").fill(referral.case.reference)
    page.get_by_role("button", name="Search").click()
    row = page.get_by_role("row").filter(has_text=referral.case.reference)
    expect(row).to_contain_text("Closed")
    expect(row).to_contain_text("Diverted")
    row.get_by_role("link", name=referral.case.reference).click()
    heading = page.get_by_role("heading", name=f"Case {referral.case.reference}")
    expect(heading).to_contain_text("Closed")
    expect(heading).to_contain_text("Diverted")
    # A closed case opens only with a reason, which goes into the audit trail.
    page.get_by_label("Why do you need to open this closed case?").fill("Checking the outcome")
    page.get_by_role("button", name="Open the case").click()
    expect(page.get_by_text("diverted (Home Office crime outcome")).to_be_visible()
