"""The check step before a supervisor's decision (the GOV.UK check-answers pattern): the
answers and what recording them will do, nothing recorded until confirmed, and a confirmation
that is forged, for another escalation, or made before the case changed refused loudly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing

from audit.models import AuditEvent
from escalations.models import Escalation
from escalations.services import escalation_decide
from escalations.views import CHECK_SALT
from programmes.models import Referral
from tests import factories
from tests import test_escalation_pages as pages
from tests.test_escalation_pages import (
    TODAY,
    check,
    confirmation,
    date_fields,
    decide,
    detail_url,
    make_escalation,
    state,
)

pytestmark = pytest.mark.django_db

supervisor = pages.supervisor  # the fixtures of the escalation pages' tests
escalation = pages.escalation


def decided(flagged: Escalation) -> bool:
    return Escalation.objects.get(pk=flagged.pk).decided_at is not None


def test_check_page_spells_out_a_prosecution_and_records_nothing(client, supervisor, escalation):
    client.force_login(supervisor)
    before = state(escalation)
    referral = escalation.referral

    page = check(
        client, escalation, {"decision": "prosecute", "rationale": "No reply to 3 letters."}
    )

    html = page.text
    assert 'data-check="prosecute"' in html
    assert "Refer for prosecution" in html and "No reply to 3 letters." in html
    assert f"The referral {referral.reference} to {referral.programme.name}" in html
    assert f"Case {referral.case.reference} closes as referred for prosecution" in html
    assert "A decision cannot be changed once it is recorded." in html
    assert "govuk-button--warning" in html
    assert state(escalation) == before
    assert not AuditEvent.objects.filter(action="change", object_type="escalations.escalation")


def test_check_page_spells_out_an_extension(client, supervisor, escalation):
    client.force_login(supervisor)
    new_day = TODAY + timedelta(days=200)

    html = check(
        client,
        escalation,
        {"decision": "extend", "rationale": "In hospital.", **date_fields("new_deadline", new_day)},
    ).text

    assert (
        f"The missed deadline moves to the end of {new_day:%A} {new_day.day} {new_day:%B %Y}"
        in html
    )
    assert "This uses extension 1 of the 1 the scheme allows." in html
    assert "govuk-button--warning" not in html


def test_check_page_spells_out_a_re_referral(client, supervisor, escalation):
    online = factories.ProgrammeFactory(name="Online course", forces_served=[factories.force()])
    client.force_login(supervisor)

    html = check(
        client,
        escalation,
        {"decision": "re_refer", "rationale": "Works nights.", "new_programme": str(online.pk)},
    ).text

    assert f"A new referral is made to Online course ({online.provider.name})" in html
    assert f"Case {escalation.referral.case.reference} stays open." in html


def test_change_returns_to_the_form_with_every_answer_kept(client, supervisor, escalation):
    client.force_login(supervisor)
    new_day = TODAY + timedelta(days=200)
    check(
        client,
        escalation,
        {"decision": "extend", "rationale": "In hospital.", **date_fields("new_deadline", new_day)},
    )

    html = client.get(detail_url(escalation) + "?change").text

    assert 'value="extend" checked' in html
    assert "In hospital.</textarea>" in html
    assert f'value="{new_day.year}"' in html
    assert "There is a problem" not in html


def test_confirmation_after_another_supervisor_decided_is_refused(client, supervisor, escalation):
    client.force_login(supervisor)
    token = confirmation(check(client, escalation, {"decision": "prosecute", "rationale": "Gone."}))
    other = factories.UserFactory(role=supervisor.role, force=supervisor.force)
    escalation_decide(
        escalation=escalation, by=other, decision="no_further_action", rationale="Moved abroad."
    )
    before = state(escalation)

    response = client.post(detail_url(escalation), {"confirmation": token})

    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "This escalation was already decided (no further action)" in response.text
    assert state(escalation) == before


def test_confirmation_made_before_the_case_changed_is_refused(client, supervisor, escalation):
    client.force_login(supervisor)
    token = confirmation(check(client, escalation, {"decision": "prosecute", "rationale": "Gone."}))
    Referral.objects.filter(pk=escalation.referral_id).update(
        completion_due=escalation.referral.completion_due + timedelta(days=7)
    )
    before = state(escalation)

    response = client.post(detail_url(escalation), {"confirmation": token})

    assert "There is a problem" in response.text
    assert "The case changed since you checked this decision" in response.text
    assert state(escalation) == before
    assert 'value="prosecute" checked' in response.text  # the answers are kept to try again


def test_a_forged_confirmation_is_refused(client, supervisor, escalation):
    client.force_login(supervisor)
    before = state(escalation)
    token = signing.dumps({"escalation": escalation.pk, "answers": {}, "state": ""}, salt="other")

    response = client.post(detail_url(escalation), {"confirmation": token})

    assert "This confirmation is not valid or has expired" in response.text
    assert state(escalation) == before


def test_a_confirmation_for_another_escalation_is_refused(client, supervisor, escalation):
    other = make_escalation(days_ago=1)
    client.force_login(supervisor)
    token = confirmation(check(client, other, {"decision": "prosecute", "rationale": "Gone."}))

    response = client.post(detail_url(escalation), {"confirmation": token})

    assert "This confirmation is not valid or has expired" in response.text
    assert not decided(escalation) and not decided(other)


def test_confirmed_answers_are_the_ones_checked_not_retyped(client, supervisor, escalation):
    client.force_login(supervisor)
    token = confirmation(check(client, escalation, {"decision": "prosecute", "rationale": "Gone."}))

    client.post(
        detail_url(escalation),
        {"confirmation": token, "decision": "no_further_action", "rationale": "Swapped"},
    )

    escalation.refresh_from_db()
    assert escalation.decision == "prosecute" and escalation.rationale == "Gone."
    assert signing.loads(token, salt=CHECK_SALT)["answers"]["decision"] == "prosecute"


def test_a_decision_is_recorded_once_confirmed(client, supervisor, escalation):
    client.force_login(supervisor)

    response = decide(client, escalation, {"decision": "no_further_action", "rationale": "Moved."})

    assert "is closed with no further action" in response.text
    assert decided(escalation)
