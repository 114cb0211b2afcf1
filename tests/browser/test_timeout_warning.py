"""In Chromium: two minutes before the idle sign-out a warning opens; "Stay signed in" keeps
the session and what was typed on the page."""

from __future__ import annotations

import os

from playwright.sync_api import expect

from tests.browser.conftest import sign_in

SCREENSHOTS = os.environ.get("SCREENSHOTS", "")


def test_the_officer_stays_signed_in_without_losing_what_they_typed(page, demo, settings):
    settings.SESSION_COOKIE_AGE = 125  # the warning opens five seconds after the page loads
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "officer")
    page.goto("/cases/new/")
    page.get_by_label("First name").fill("Half-typed")

    warning = page.get_by_role("dialog", name="You’re about to be signed out")
    expect(warning).to_be_visible(timeout=20_000)
    expect(warning).to_contain_text("Anything you have not saved on this page will be lost")
    expect(warning.get_by_role("button", name="Stay signed in")).to_be_focused()
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/timeout-warning.png")
    warning.get_by_role("button", name="Stay signed in").click()

    expect(warning).to_be_hidden()
    expect(page.get_by_label("First name")).to_have_value("Half-typed")
    assert page.request.get("/cases/").url.endswith("/cases/")
