"""In Chromium: the demo administrator lands on the service home and answers a subject access
request, on a desk and on a phone."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from audit.models import AuditEvent
from cases.models import Person
from tests.browser.conftest import sign_in
from tests.browser.test_pages_accessible import assert_accessible, console_errors  # noqa: F401

SCREENSHOTS = os.environ.get("SCREENSHOTS", "")


@pytest.mark.parametrize("width", [1280, 390])
def test_demo_administrator_answers_a_subject_access_request(
    page,
    demo,
    console_errors,  # noqa: F811
    width,
):
    page.set_viewport_size({"width": width, "height": 900})
    person = Person.objects.filter(cases__referrals__isnull=False).order_by("pk").first()
    sign_in(page, "admin")

    expect(page.get_by_role("heading", name="Service administration")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Subject access requests").click()

    expect(page.get_by_role("heading", name="Subject access request")).to_be_visible()
    page.get_by_label("First name").fill(person.given_name.upper())
    page.get_by_label("Last name").fill(person.family_name.lower())
    page.get_by_label("Day").fill(str(person.date_of_birth.day))
    page.get_by_label("Month").fill(str(person.date_of_birth.month))
    page.get_by_label("Year").fill(str(person.date_of_birth.year))
    page.get_by_role("button", name="Search").click()
    assert_accessible(page)
    page.get_by_role("link", name=f"Choose {person.full_name}").click()

    heading = page.get_by_role("heading", name=f"Produce a copy of {person.full_name}")
    expect(heading).to_be_visible()
    page.get_by_role("button", name="Produce the copy").click()
    error = page.get_by_role("link", name="Enter the reference of the subject access request")
    expect(error).to_be_visible()
    page.get_by_label("Request reference").fill("DP-2026-0007")
    page.get_by_label("A document to read and print").check()
    page.get_by_role("button", name="Produce the copy").click()

    expect(
        page.get_by_role("heading", name=f"Everything held about {person.full_name}")
    ).to_be_visible()
    reference = person.cases.order_by("pk").first().reference
    expect(page.get_by_role("heading", name="Cases", exact=True)).to_be_visible()
    expect(page.get_by_text(reference).first).to_be_visible()
    assert_accessible(page)
    no_sideways = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(no_sideways), f"the copy scrolls sideways at {width} pixels"
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/subject-access-{width}.png", full_page=False)
    assert AuditEvent.objects.filter(
        action="disclose", person_id=person.pk, reason="Subject access request DP-2026-0007"
    ).exists()
    assert console_errors == []
