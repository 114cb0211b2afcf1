"""In Chromium, as the demo analyst: each report shows its summary, a chart and its table, on a
phone and on a desk, passes axe's rules, keeps to the CSP, and downloads as CSV."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.management import call_command

from reports.views import REPORTS
from tests.browser.conftest import sign_in
from tests.browser.test_pages_accessible import assert_accessible, console_errors  # noqa: F401

# Set REPORT_SCREENSHOTS to a folder to keep a screenshot of each report at each width.
SCREENSHOTS = os.environ.get("REPORT_SCREENSHOTS", "")


@pytest.fixture
def report_demo(transactional_db):
    call_command("seed_demo", force=True, report_cases=400, verbosity=0)


@pytest.mark.parametrize("width", [390, 1280])
def test_every_report_shows_a_summary_chart_and_table(
    page,
    report_demo,
    console_errors,  # noqa: F811 (the fixture imported above)
    width,
):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "analyst")
    assert page.get_by_role("heading", name="Reports").is_visible()
    for slug in REPORTS:
        page.goto(f"/reports/{slug}/")
        assert page.locator("[data-summary]").inner_text().strip()
        assert page.locator("[data-chart]").first.is_visible()
        assert page.locator("[data-report-table]").first.is_visible()
        assert_accessible(page)
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{SCREENSHOTS}/{slug}-{width}.png", full_page=True)
    assert console_errors == []


def test_the_csv_link_downloads_the_report(page, report_demo):
    sign_in(page, "analyst")
    page.goto("/reports/funnel/?drug_class=B")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download this report as CSV").click()
    text = Path(download.value.path()).read_text()
    assert text.startswith("Through the decision chain")
    assert "Drug class: Class B" in text


def test_a_bad_filter_is_said_at_the_top_and_links_to_the_filter(page, report_demo):
    sign_in(page, "analyst")
    page.goto("/reports/funnel/?start=2026-06&end=2025-01")
    summary = page.locator(".govuk-error-summary")
    assert "must be the same as or after" in summary.inner_text()
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "id_end"
