"""In Chromium: the demo provider raises a concern that the demo officer and supervisor then
see, gives a referral to a colleague, and files an end-of-programme report that the officer
reads on the case page. Screenshots at a phone's width and a desk's go to SCREENSHOTS."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

from playwright.sync_api import expect

from escalations.models import Escalation
from programmes.models import Notification, ProgrammeReport, Referral, ReferralStatus
from tests.browser.conftest import sign_in
from tests.browser.test_pages_accessible import assert_accessible

SCREENSHOTS = Path(
    os.environ.get("SCREENSHOTS") or Path(tempfile.gettempdir()) / "diversion-screenshots"
)
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}


def shoot(page, name: str) -> None:
    """A full-page screenshot at a phone's width and a desk's, axe's accessibility rules, and
    no sideways scrolling on the phone."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("phone", PHONE), ("desk", DESK)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(PHONE)
    scrolls = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    page.set_viewport_size(DESK)
    assert_accessible(page)
    assert not scrolls, f"{name} scrolls sideways at {PHONE['width']}px"


def pathways(status: str, **more: object) -> Referral:
    referral = (
        Referral.objects.filter(
            programme__provider__name="Pathways Drug Education",
            case__force__code="TVP",
            status=status,
            **more,
        )
        .select_related("case")
        .order_by("reference")
        .first()
    )
    assert referral is not None, f"seed_demo should leave a {status} referral for Pathways"
    return referral


def test_a_concern_reaches_the_officer_and_supervisor(page, demo):
    referral = pathways(ReferralStatus.IN_PROGRESS)
    concern = "Said in the session that he is sleeping at a friend's; seemed frightened."

    sign_in(page, "provider")
    page.goto(f"/provider/referrals/{referral.reference}/")
    page.get_by_role("button", name="Add a note or raise a concern").click()
    page.get_by_role("button", name="Save the note").click()  # empty: refused clearly
    expect(page.get_by_role("link", name="Enter the note")).to_be_visible()
    page.get_by_label("Note", exact=True).fill(concern)
    page.get_by_label("Safeguarding").check()
    shoot(page, "note-form")
    page.get_by_role("button", name="Save the note").click()
    expect(
        page.get_by_text("Concern raised: the referring officer and supervisors")
    ).to_be_visible()
    expect(page.locator("#notes")).to_contain_text(concern)
    shoot(page, "provider-referral-notes")
    assert Notification.objects.filter(kind="concern_raised", referral=referral).count() >= 2

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "officer")
    row = page.get_by_role("row").filter(has_text=referral.case.reference)
    expect(row.locator(f'[data-flag="notes-{referral.reference}"]')).to_have_text("Concern raised")
    shoot(page, "case-list-marker")
    row.get_by_role("link", name=referral.case.reference).click()
    expect(page.locator(f"#notes-{referral.reference}")).to_be_visible()
    expect(page.get_by_text(concern).first).to_be_visible()
    # The officer answers for the force only: the provider never sees it.
    page.get_by_role("link", name=f"Add a note to referral {referral.reference}").click()
    page.get_by_label("Note", exact=True).fill("Known to the neighbourhood team: told them.")
    page.get_by_label("Force only").check()
    page.get_by_role("button", name="Save the note").click()
    expect(page.get_by_text("Note added (force only)")).to_be_visible()
    shoot(page, "case-page-notes")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "supervisor")
    escalated = (
        Escalation.objects.filter(
            referral__notes__concern_category="circumstances", decided_at__isnull=True
        )
        .select_related("referral")
        .first()
    )
    assert escalated is not None, "seed_demo should leave an escalation with a concern"
    page.goto(f"/escalations/{escalated.pk}/")
    concerns = page.locator("#concerns")
    expect(concerns).to_contain_text("Concern: Change of circumstances")
    expect(concerns).to_contain_text("new job clashes with daytime sessions")
    shoot(page, "escalation-concerns")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "provider")
    page.goto(f"/provider/referrals/{referral.reference}/")
    expect(page.locator("#notes")).to_contain_text(concern)
    expect(page.locator("#notes")).not_to_contain_text("neighbourhood team")


def test_a_referral_goes_to_a_colleague_and_the_report_reaches_the_officer(page, demo):
    new = pathways(ReferralStatus.NEW)
    completed = pathways(ReferralStatus.IN_PROGRESS, programme__sessions_required=1)

    sign_in(page, "provider")
    expect(page.locator("[data-tab=unassigned] [data-count]")).not_to_have_text("0")
    page.goto(f"/provider/referrals/{new.reference}/")
    page.get_by_role("link", name="Change caseworker").click()
    page.get_by_label("Caseworker").select_option(label="Sam Okafor")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Referral given to Sam Okafor")).to_be_visible()
    expect(page.locator("[data-caseworker]")).to_have_text("Sam Okafor")
    page.goto("/provider/?tab=unassigned")
    expect(page.locator(f'[data-referral="{new.reference}"]')).to_have_count(0)
    shoot(page, "inbox-unassigned")

    # A report is filed once the referral is over: first it completes.
    page.goto(f"/provider/referrals/{completed.reference}/")
    expect(page.get_by_role("button", name="File the end-of-programme report")).to_have_count(0)
    page.get_by_role("button", name="Record completion").click()
    today = date.today()
    page.locator("#id_completed_on_day").fill(str(today.day))
    page.locator("#id_completed_on_month").fill(str(today.month))
    page.locator("#id_completed_on_year").fill(str(today.year))
    page.get_by_role("button", name="Record completion").click()
    expect(page.get_by_text("Completion recorded")).to_be_visible()
    page.get_by_role("button", name="File the end-of-programme report").click()
    page.get_by_label("Summary for the force").fill("Engaged well; set goals for cutting down.")
    page.get_by_label("Drug or alcohol treatment").check()
    page.get_by_label("Onward referral details (optional)").fill("Community drug service")
    shoot(page, "report-form")
    page.get_by_role("button", name="File the report").click()
    expect(page.get_by_text("Report filed: the force sees it on the case")).to_be_visible()
    assert ProgrammeReport.objects.filter(referral=completed).exists()

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "provider.colleague")
    page.goto("/provider/?tab=mine")
    expect(page.locator(f'[data-referral="{new.reference}"]')).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "officer")
    page.goto(f"/cases/{completed.case.reference}/")
    page.get_by_label("Why do you need to open this closed case?").fill("Read the report")
    page.get_by_role("button", name="Open the case").click()
    expect(page.locator("[data-report]")).to_contain_text(
        "Engaged well; set goals for cutting down."
    )
    expect(page.locator("[data-report]")).to_contain_text(
        "Drug or alcohol treatment: Community drug service"
    )
    shoot(page, "case-page-report")
