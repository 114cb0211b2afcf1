"""Words a police officer uses, and the service's own pages: PNC throughout, timeline entries
that say what happened and who acted, API tokens only in the menus of roles with an API, and
the service's 404 and 500 pages even with DEBUG on (the demo)."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from base.clock import LONDON, london_date
from escalations.breaches import Breach
from escalations.models import Escalation
from escalations.sweep import sweep_deadlines
from programmes.services import referral_accept
from tests import factories
from tests.test_case_pages import _referred_case

pytestmark = pytest.mark.django_db


def test_forms_and_pages_say_pnc_id(client, officer, policy):
    client.force_login(officer)

    page = client.get(reverse("cases:find_person")).text

    assert "PNC ID" in page
    assert "police national identifier" not in page.lower()


def test_timeline_says_what_happened_and_who_acted(client, officer, policy, programme):
    referral = _referred_case(officer, programme)
    staff = factories.provider_staff(programme.provider)
    referral_accept(referral=referral, by=staff)
    client.force_login(officer)

    page = client.get(reverse("cases:detail", args=[referral.case.reference])).text

    for title in (
        "Case logged",
        "Found eligible",
        "Diversion offered",
        "Offer accepted by the person",
        "Referred to a programme",
        f"Referral {referral.reference} made to {programme.name} ({programme.provider.name})",
        f"Referral accepted by {programme.provider.name}",
        "In the programme",
    ):
        assert f">{title}</h" in page, title
    assert f"recorded by {staff}" in page
    assert "Case accepted" not in page and "Case in programme" not in page


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        (Role.CUSTODY_OFFICER, True),
        (Role.SUPERVISOR, True),
        (Role.PROVIDER_STAFF, True),
        (Role.ANALYST, True),
        (Role.ADMINISTRATOR, False),
    ],
)
def test_api_tokens_are_in_the_menu_only_for_roles_with_an_api(client, role, shown):
    organisation = {
        Role.CUSTODY_OFFICER: {"force": factories.force()},
        Role.SUPERVISOR: {"force": factories.force()},
        Role.PROVIDER_STAFF: {"force": None, "provider": factories.ProviderFactory()},
    }.get(role, {"force": None})
    user = factories.UserFactory(role=role, **organisation)
    client.force_login(user)

    page = client.get("/", follow=True).text  # where their work is

    assert ('href="/accounts/tokens/">API tokens</a>' in page) is shown


@pytest.fixture
def debug(settings):
    """The demo's settings: DEBUG on."""
    settings.DEBUG = True
    settings.TECHNICAL_ERROR_PAGES = False
    return settings


def test_an_unknown_address_shows_the_services_404_with_debug_on(client, officer, debug):
    client.force_login(officer)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Using the URLconf" not in response.text
    assert "Sign out" in response.text  # the service's own layout, with its header


def test_another_forces_case_shows_the_services_404_with_debug_on(
    client, other_force_officer, officer, policy, programme, debug
):
    referral = _referred_case(officer, programme)
    client.force_login(other_force_officer)

    response = client.get(reverse("cases:detail", args=[referral.case.reference]))

    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Traceback" not in response.text and "No case found" not in response.text


def test_the_api_keeps_its_json_404_with_debug_on(client, officer, debug):
    client.force_login(officer)

    response = client.get("/api/v1/cases/NOPE-1/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_technical_pages_can_be_asked_for(client, officer, debug):
    debug.TECHNICAL_ERROR_PAGES = True
    client.force_login(officer)

    assert "Using the URLconf" in client.get("/no-such-page/").text


@pytest.mark.urls("tests.urls_failing")
def test_a_failure_shows_the_services_500_with_debug_on_and_is_logged(
    client, officer, debug, caplog
):
    client.force_login(officer)

    with caplog.at_level(logging.ERROR, logger="diversion.errors"):
        response = client.get("/failing-page/")

    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.text
    assert "RuntimeError" not in response.text
    assert "Internal Server Error: /failing-page/" in caplog.text


def test_timeline_says_what_the_sweep_found_and_by_when(client, officer, policy, programme):
    referral = _referred_case(officer, programme)
    sweep_deadlines(now=timezone.now() + timedelta(days=400))
    # Both deadlines were missed; the escalation is named after the most serious.
    assert Escalation.objects.get(referral=referral).rule == "completion_missed"
    due = london_date(referral.completion_due)
    client.force_login(officer)

    page = client.get(reverse("cases:detail", args=[referral.case.reference])).text

    assert f">Flagged: not completed by {due.day} {due:%B %Y}</h" in page
    assert "Waiting for a supervisor&#x27;s decision." in page
    assert "recorded by the deadline sweep" in page
    titles = re.findall(r'class="moj-timeline__title">([^<]*)<', page)
    # What was missed, once (not again for the referral), beside the case's own status.
    assert [t for t in titles if t.startswith("Flagged")] == [
        f"Flagged: not completed by {due.day} {due:%B %Y}"
    ]
    assert "Waiting for a supervisor to decide" in titles


def test_flag_headlines_name_the_missed_deadline_or_the_absences() -> None:
    first = datetime(2026, 12, 15, 23, 59, 59, tzinfo=LONDON)
    breach = Breach(
        rules_fired=("first_appointment_missed", "too_many_absences"),
        first_appointment_due=first,
        completion_due=first + timedelta(days=70),
        attended_by_first_deadline=0,
        unexcused_absences=2,
        max_unexcused_absences=1,
    )

    assert breach.headline(named="first_appointment_missed") == (
        "Flagged: no first appointment attended by 15 December 2026"
    )
    assert breach.headline(named="completion_missed") == (
        "Flagged: not completed by 23 February 2027"
    )
    assert breach.headline(named="too_many_absences") == (
        "Flagged: 2 unexcused absences, more than the 1 allowed"
    )
