"""In Chromium: the demo custody officer takes a new case from logging to a referral."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import expect

from base.clock import LONDON
from cases.models import Case, CaseStatus
from tests.browser.conftest import sign_in


def fill_date(page, prefix: str, day: date) -> None:
    page.locator(f"#id_{prefix}_day").fill(str(day.day))
    page.locator(f"#id_{prefix}_month").fill(str(day.month))
    page.locator(f"#id_{prefix}_year").fill(str(day.year))


def test_demo_officer_logs_a_case_and_refers_it(page, demo):
    sign_in(page, "officer")
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()

    page.get_by_role("link", name="Log a case").first.click()
    page.get_by_label("First name").fill("Llŷr")
    page.get_by_label("Last name").fill("O'Donnell-Ní Mhaoil")
    fill_date(page, "date_of_birth", date(1998, 7, 14))
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="No matches")).to_be_visible()
    page.get_by_role("link", name="Add a new person").click()

    expect(page.get_by_label("First name")).to_have_value("Llŷr")
    page.get_by_label("Mobile phone number").fill("07700 900777")
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", name="Record the offence")).to_be_visible()
    page.get_by_label("Custody record number").fill("BRW/26/9001")
    fill_date(page, "offence_date", date.today() - timedelta(days=1))
    page.get_by_label("Simple possession").check()
    page.get_by_role("group", name="Did the person admit the offence?").get_by_label("Yes").check()
    page.get_by_role(
        "group", name="Does the PNC show an earlier drug conviction or caution?"
    ).get_by_label("No").check()
    page.get_by_role("group", name="Does the person live in the force area?").get_by_label(
        "Yes"
    ).check()
    page.locator("#id_drugs-0-drug").select_option(label="Cannabis (herbal): class B, in grams")
    page.locator("#id_drugs-0-quantity").fill("0")
    page.get_by_role("button", name="Log the case").click()

    # A mistake is shown in the error summary, and what was typed is still there.
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.get_by_label("Custody record number")).to_have_value("BRW/26/9001")
    page.locator("#id_drugs-0-quantity").fill("4.5")
    page.get_by_role("button", name="Log the case").click()

    case = Case.objects.get(custody_record_number="BRW/26/9001")
    expect(page.get_by_text(f"Case {case.reference} logged", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=f"Case {case.reference}")).to_be_visible()

    page.get_by_role("button", name="Check eligibility").click()
    expect(
        page.locator("#eligibility").get_by_text("Eligible for diversion", exact=True)
    ).to_be_visible()
    expect(
        page.get_by_text("4.5 g of Cannabis (herbal) is within the personal-use amount")
    ).to_be_visible()

    page.get_by_role("button", name="Record the offer").click()
    page.get_by_label("Accepted the offer").check()
    page.get_by_role("button", name="Save the answer").click()
    expect(page.get_by_role("link", name="The person must consent to take part")).to_be_visible()
    page.get_by_label("The person consents to take part").check()
    page.get_by_role("button", name="Save the answer").click()

    page.get_by_role("button", name="Refer to a programme").click()
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Refer").click()

    expect(page.locator("#referral").get_by_text("First appointment by")).to_be_visible()
    case.refresh_from_db()
    assert case.status == CaseStatus.REFERRED
    referral = case.referrals.get()
    expect(page.locator("#referral").get_by_text(referral.reference)).to_be_visible()
    due = referral.first_appointment_due.astimezone(LONDON)
    expect(page.locator("[data-deadline=first]")).to_have_text(f"{due:%A} {due.day} {due:%B %Y}")
