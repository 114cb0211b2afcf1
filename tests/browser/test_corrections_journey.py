"""In Chromium, on a phone: the demo officer corrects a mistyped mobile number and date of birth,
and is made to check eligibility again before the offer goes on."""

from __future__ import annotations

import os
from datetime import timedelta

from playwright.sync_api import expect

from cases.models import Case, CaseStatus
from tests.browser.conftest import sign_in
from tests.browser.test_officer_journey import fill_date

SCREENSHOTS = os.environ.get("SCREENSHOTS", "")


def test_demo_officer_corrects_a_mobile_number_and_a_date_of_birth_on_a_phone(page, demo):
    page.set_viewport_size({"width": 390, "height": 844})
    case = (
        Case.objects.filter(force__code="TVP", status=CaseStatus.OFFERED)
        .select_related("person")
        .order_by("reference")
        .first()
    )
    assert case is not None, "seed_demo should leave an offered Thames Valley case"
    person = case.person
    born = person.date_of_birth - timedelta(days=1)
    sign_in(page, "officer")
    page.goto(f"/cases/{case.reference}/")

    page.get_by_role("link", name=f"Correct {person.full_name}’s details").click()
    expect(page.get_by_label("Mobile phone number")).to_have_value(person.phone)
    page.get_by_label("Mobile phone number").fill("07700 900321")
    fill_date(page, "date_of_birth", born)
    page.get_by_label("Why are you correcting these details?").fill(
        "Number and birthday mistyped at custody"
    )
    page.get_by_role("button", name="Save the correction").click()

    expect(
        page.get_by_text(f"Eligibility must be checked again for {case.reference}")
    ).to_be_visible()
    expect(page.get_by_text("07700 900321").first).to_be_visible()
    history = page.locator("#history").locator("xpath=..")
    expect(history).to_contain_text(f"Mobile phone number: {person.phone} → 07700 900321")
    expect(history).to_contain_text("Number and birthday mistyped at custody")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/corrected-390.png", full_page=True)

    # The offer waits for the new check.
    expect(page.locator(f'a[href="/cases/{case.reference}/offer/"]')).to_have_count(0)
    page.get_by_role("button", name="Check eligibility again").click()
    expect(page.get_by_text("Eligible for diversion", exact=True)).to_be_visible()
    expect(page.locator(f'a[href="/cases/{case.reference}/offer/"]')).to_be_visible()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.ELIGIBLE
