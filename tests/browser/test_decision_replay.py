"""In Chromium, on a phone and a desk: the officer replays a demo case's eligibility check from
the case page and sees the same answer and reasons, with no sideways scrolling."""

from __future__ import annotations

import os

import pytest

from cases.models import Case
from tests.browser.conftest import sign_in
from tests.browser.test_pages_accessible import assert_accessible

SCREENSHOTS = os.environ.get("SCREENSHOTS", "")


@pytest.mark.parametrize("width", [390, 1280])
def test_officer_replays_an_eligibility_check_from_the_case_page(page, demo, width):
    page.set_viewport_size({"width": width, "height": 844})
    sign_in(page, "officer")
    case = (
        Case.objects.filter(force__code="TVP", status="ineligible")
        .exclude(eligibility_decisions=None)
        .first()
    )
    page.goto(f"/cases/{case.reference}/")

    page.get_by_role("link", name="Replay this check with today's rules").click()

    page.wait_for_selector("[data-replay]")
    assert page.locator("[data-replay]").get_attribute("data-replay") == "same"
    assert page.get_by_role("heading", name="Same answer").is_visible()
    assert page.locator("[data-recorded]").inner_text() == "Not eligible"
    assert page.locator("[data-replayed]").inner_text() == "Not eligible"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(page)
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/replay-{width}.png", full_page=True)
