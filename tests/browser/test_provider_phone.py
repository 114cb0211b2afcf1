"""In Chromium on a 320-pixel-wide phone: the provider's pages fit the screen, with no sideways
scrolling (the inbox's rows stack their labelled cells), and stay usable at desk width.

Set SCREENSHOTS to a directory to keep a full-page screenshot of each page at each width.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from programmes import rules
from programmes.models import Appointment, GroupSession
from tests.browser.conftest import sign_in

PHONE = 320


def provider_paths() -> dict[str, str]:
    """The demo provider's inbox, a referral with appointments, an attendance form and a group
    session that has started, with people on its list."""
    mine = {"referral__programme__provider__users__username": "provider"}
    due = (
        Appointment.objects.filter(
            **mine,
            status="booked",
            group_session__isnull=True,
            starts_at__lte=timezone.now(),
            referral__status__in=rules.OPEN_TO_BOOKINGS,
        )
        .select_related("referral")
        .order_by("-starts_at")
        .first()
    )
    assert due is not None, "seed_demo should leave appointments waiting for attendance"
    referral = due.referral
    session = (
        GroupSession.objects.filter(
            programme__provider__users__username="provider", starts_at__lte=timezone.now()
        )
        .filter(appointments__status="booked")
        .order_by("-starts_at")
        .first()
    )
    assert session is not None, "seed_demo should leave a group session to mark"
    base = f"/provider/referrals/{referral.reference}/"
    return {
        "inbox": "/provider/",
        "inbox-in-progress": "/provider/?tab=in_progress",
        "referral": base,
        "attendance": f"{base}appointments/{due.pk}/attendance/",
        "session": f"/provider/sessions/{session.pk}/",
        "session-marked": f"/provider/sessions/{session.pk}/?mark=attended",
        "sessions": "/provider/sessions/",
    }


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": PHONE, "height": 640}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def overflow(page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate(
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )


def keep_screenshot(page, name: str, width: int) -> None:
    directory = os.environ.get("SCREENSHOTS")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{directory}/{name}-{width}.png", full_page=True)


def test_provider_pages_fit_a_320_pixel_phone_without_sideways_scrolling(phone, demo):
    paths = provider_paths()
    sign_in(phone, "provider")

    too_wide = {}
    for name, path in paths.items():
        phone.goto(path)
        expect(phone.locator("h1")).to_be_visible()
        keep_screenshot(phone, name, PHONE)
        if overflow(phone):
            too_wide[name] = overflow(phone)

    assert too_wide == {}, f"wider than {PHONE}px (by pixels): {too_wide}"


def test_on_a_phone_each_inbox_row_stacks_its_labelled_cells(phone, demo):
    sign_in(phone, "provider")
    phone.goto("/provider/?tab=in_progress")
    row = phone.locator("tr[data-referral]").first
    cells = row.locator("td")

    boxes = [cells.nth(i).bounding_box() for i in range(cells.count())]

    # One cell under another, each as wide as the row, the label above its content.
    assert all(box["width"] > PHONE * 0.7 for box in boxes)
    assert all(upper["y"] < lower["y"] for upper, lower in zip(boxes, boxes[1:], strict=False))


@pytest.mark.parametrize("width", [390, 1280])
def test_provider_pages_fit_a_larger_phone_and_a_desk(browser, live_server, demo, width):
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": width, "height": 800}
    )
    page = context.new_page()
    try:
        paths = provider_paths()
        sign_in(page, "provider")
        for name, path in paths.items():
            page.goto(path)
            keep_screenshot(page, name, width)
            assert overflow(page) == 0, name
        if width >= 1280:  # on a desk the inbox is a table again: a header row, cells side by side
            page.goto("/provider/?tab=in_progress")
            expect(page.locator("thead th").first).to_be_visible()
            row = page.locator("tr[data-referral]").first
            first, second = (row.locator("td").nth(i).bounding_box() for i in (0, 1))
            assert first["y"] == pytest.approx(second["y"], abs=2)
    finally:
        context.close()
