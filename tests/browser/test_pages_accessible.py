"""In Chromium: the officer's pages pass axe's accessibility rules and break no CSP rule."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from cases.models import Case
from tests.browser.conftest import sign_in

SERIOUS = {"serious", "critical"}


@pytest.fixture
def console_errors(page):
    """Errors the browser reports, including Content Security Policy violations."""
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda response: (
            response.status >= 400 and errors.append(f"{response.status} {response.url}")
        ),
    )
    return errors


# GOV.UK Frontend's conditional-reveal radios put aria-expanded on input[type=radio]; axe
# reports it, but it is the Design System's own, tested pattern (govuk-frontend issue 979).
GOVUK_CONDITIONAL_RADIOS = ".govuk-radios__input[aria-controls]"


def assert_accessible(page) -> None:
    results = Axe().run(page)
    serious = [
        f"{violation['id']}: {violation['help']}"
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
        and not (
            violation["id"] == "aria-allowed-attr"
            and all(
                node["target"]
                and page.locator(node["target"][0]).evaluate(
                    f"el => el.matches('{GOVUK_CONDITIONAL_RADIOS}')"
                )
                for node in violation["nodes"]
            )
        )
    ]
    assert serious == [], f"{page.url}: {serious}"


def test_officer_pages_are_accessible_and_keep_to_the_csp(page, demo, console_errors):
    page.goto("/accounts/login/")
    assert_accessible(page)
    sign_in(page, "officer")
    case = Case.objects.filter(force__code="TVP", status="referred").first()
    for path in ("/cases/", f"/cases/{case.reference}/", "/cases/new/"):
        page.goto(path)
        assert_accessible(page)
    page.get_by_role("button", name="Search").click()  # an empty search: the error summary
    assert_accessible(page)
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .info", timeout=15_000)
    assert console_errors == []


def test_error_summary_takes_keyboard_focus_and_links_to_the_field(page, demo):
    sign_in(page, "officer")
    page.goto("/cases/new/")
    page.get_by_role("button", name="Search").click()
    summary = page.locator(".govuk-error-summary")
    assert summary.evaluate("element => element.contains(document.activeElement)")
    page.get_by_role("link", name="Enter the person’s first name").click()
    assert page.evaluate("document.activeElement.id") == "id_given_name"


def test_provider_and_supervisor_pages_are_accessible(page, demo, console_errors):
    from escalations.models import Escalation
    from programmes.models import Referral

    sign_in(page, "provider")
    referral = Referral.objects.filter(programme__provider__users__username="provider").first()
    for path in ("/provider/", f"/provider/referrals/{referral.reference}/", "/provider/sessions/"):
        page.goto(path)
        assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "supervisor")
    escalation = Escalation.objects.filter(
        decided_at__isnull=True, referral__case__force__code="TVP"
    ).first()
    for path in ("/escalations/", f"/escalations/{escalation.pk}/"):
        page.goto(path)
        assert_accessible(page)
    assert console_errors == []
