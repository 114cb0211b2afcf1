"""Replaying an eligibility decision from the inputs it stored and the policy version it used:
the same answer and reasons, or exactly what differs and why; on the case page, in the API and
in `manage.py replay_decisions`."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role, User
from audit.models import AuditEvent
from base.clock import LONDON, london_date
from cases import rules
from cases.models import Case, CaseDrug, CaseOutcome, CaseStatus, EligibilityDecision, SchemePolicy
from cases.replay import replay
from cases.services import case_close_ineligible, eligibility_check
from retention.anonymise import anonymise_expired
from tests import factories

pytestmark = pytest.mark.django_db


def checked(officer: User, **case_fields) -> EligibilityDecision:
    """A new case of `officer`'s force, checked through the service."""
    case = factories.CaseFactory(
        created_by=officer,
        force=officer.force,
        offence_date=london_date(timezone.now()) - timedelta(days=3),
        **case_fields,
    )
    return eligibility_check(case=case, by=officer)


def adults_are_twenty_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A change to a rule under the stored decisions: everyone is read as aged 17."""
    monkeypatch.setattr(rules, "age_on", lambda date_of_birth, day: 17)


@pytest.fixture
def supervisor(db) -> User:
    return factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("TVP"))


# --- The replay itself ---------------------------------------------------------------------


def test_a_decision_replays_with_the_same_answer_and_reasons(
    officer: User, policy: SchemePolicy
) -> None:
    decision = checked(officer)

    replayed = replay(decision)

    assert replayed.same
    assert replayed.replayed.eligible is True
    assert replayed.differences == ()
    assert replayed.summary == (
        "Replayed today, the decision gives the same answer and the same reasons."
    )


def test_replay_uses_the_stored_inputs_not_the_case_as_it_is_now(
    officer: User, policy: SchemePolicy
) -> None:
    decision = checked(officer)
    CaseDrug.objects.filter(case=decision.case).update(quantity=500)
    Case.objects.filter(pk=decision.case_id).update(offence_type="supply")

    assert replay(EligibilityDecision.objects.get(pk=decision.pk)).same


def test_replay_uses_the_policy_version_the_decision_used(
    officer: User, policy: SchemePolicy
) -> None:
    decision = checked(officer)
    factories.PolicyFactory(
        force=policy.force, version=policy.version + 1, personal_use_thresholds={"cannabis": "1"}
    )

    assert replay(EligibilityDecision.objects.get(pk=decision.pk)).same


def test_a_rule_changed_under_a_decision_is_a_difference_nothing_explains(
    officer: User, policy: SchemePolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    decision = checked(officer)
    adults_are_twenty_one(monkeypatch)

    replayed = replay(decision)

    assert not replayed.same
    assert replayed.answer_changed
    assert not replayed.explained
    (difference,) = replayed.differences
    assert difference.rule == "age"
    assert difference.label == "Age"
    assert difference.recorded.passed and not difference.replayed.passed
    assert "Aged 17 on the date of the offence" in difference.replayed.message
    assert replayed.summary.startswith(
        "The answer differs: eligible when decided, not eligible when replayed, and no "
        "recorded change to the rules explains it"
    )


def test_a_recorded_rule_change_explains_a_difference_for_older_decisions(
    officer: User, policy: SchemePolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    decision = checked(officer)
    adults_are_twenty_one(monkeypatch)
    monkeypatch.setattr(rules, "RULES_VERSION", rules.RULES_VERSION + 1)
    monkeypatch.setitem(rules.RULES_CHANGES, rules.RULES_VERSION, "Adults are 21 or over.")

    replayed = replay(decision)

    assert replayed.explained
    assert replayed.changes == (f"Rules version {rules.RULES_VERSION}: Adults are 21 or over.",)
    assert replayed.summary.endswith("because the rules changed since (see why below).")


def test_a_decision_from_before_diversions_counted_by_their_end_is_explained(
    officer: User, policy: SchemePolicy
) -> None:
    person = factories.PersonFactory()
    factories.CaseFactory(
        person=person,
        offence_date=date(2019, 1, 1),
        status=CaseStatus.CLOSED,
        outcome=CaseOutcome.DIVERTED,
        closed_at=datetime(2019, 6, 1, 12, tzinfo=LONDON),
    )
    decision = checked(officer, person=person)
    assert decision.eligible
    # As rules version 1 stored it: no end date for the earlier case.
    old_history = [{k: v for k, v in item.items() if k != "ended_on"} for item in decision.history]
    EligibilityDecision.objects.filter(pk=decision.pk).update(rules_version=1, history=old_history)

    replayed = replay(EligibilityDecision.objects.get(pk=decision.pk))

    assert replayed.answer_changed and replayed.explained
    (difference,) = replayed.differences
    assert difference.rule == "earlier_diversion"
    assert "still in progress" in difference.replayed.message
    (why,) = replayed.changes
    assert why.startswith("Rules version 2: Earlier diversions count by when they ended")


def test_a_decision_whose_date_of_birth_was_erased_cannot_be_replayed(
    officer: User, policy: SchemePolicy
) -> None:
    decision = checked(officer)
    Case.objects.filter(pk=decision.case_id).update(
        status=CaseStatus.CLOSED,
        outcome=CaseOutcome.STANDARD_PROCESS,
        closed_at=timezone.now() - timedelta(days=10 * 365),
    )
    anonymise_expired(now=timezone.now())

    replayed = replay(EligibilityDecision.objects.get(pk=decision.pk))

    assert not replayed.replayable
    assert not replayed.same
    assert "date of birth was erased" in replayed.summary


def test_a_decision_with_incomplete_inputs_says_so_instead_of_failing(
    officer: User, policy: SchemePolicy
) -> None:
    decision = checked(officer)
    inputs = {k: v for k, v in decision.inputs.items() if k != "drugs"}
    EligibilityDecision.objects.filter(pk=decision.pk).update(inputs=inputs)

    replayed = replay(EligibilityDecision.objects.get(pk=decision.pk))

    assert not replayed.replayable
    assert replayed.summary == (
        "The inputs this decision stored are incomplete (no drugs), so it cannot be replayed."
    )


# --- The case page -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["officer", "supervisor"])
def test_officer_and_supervisor_replay_a_decision_from_the_case_page(
    client, officer: User, supervisor: User, policy: SchemePolicy, role: str
) -> None:
    decision = checked(officer)
    client.force_login(officer if role == "officer" else supervisor)
    case_page = client.get(reverse("cases:detail", args=[decision.case.reference]))
    replay_url = reverse("cases:replay", args=[decision.case.reference, decision.pk])
    assert replay_url in case_page.content.decode()

    page = client.get(replay_url).content.decode()

    assert 'data-replay="same"' in page
    assert "gives the same answer and the same reasons" in page
    assert "Test diversion scheme, version" in page
    assert "5 g of Cannabis (herbal) (class B)" in page
    assert AuditEvent.objects.filter(
        action="view",
        object_type="cases.eligibilitydecision",
        object_id=str(decision.pk),
        person_id=decision.case.person_id,
    ).exists()


def test_page_shows_what_differs_and_why(
    client, officer: User, policy: SchemePolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    decision = checked(officer)
    adults_are_twenty_one(monkeypatch)
    client.force_login(officer)

    page = client.get(
        reverse("cases:replay", args=[decision.case.reference, decision.pk])
    ).content.decode()

    assert 'data-replay="unexplained"' in page
    assert "What differs" in page
    assert "Met: Aged" in page and "Not met: Aged 17" in page
    assert "the rules were changed without raising their version" in page


def test_every_check_of_a_case_can_be_replayed_from_the_replay_page(
    client, officer: User, policy: SchemePolicy
) -> None:
    first = checked(officer)
    second = eligibility_check(case=first.case, by=officer)
    client.force_login(officer)

    page = client.get(
        reverse("cases:replay", args=[first.case.reference, second.pk])
    ).content.decode()

    assert reverse("cases:replay", args=[first.case.reference, first.pk]) in page
    assert "(this one)" in page


def test_a_decision_of_another_case_is_not_found(
    client, officer: User, policy: SchemePolicy
) -> None:
    decision = checked(officer)
    other = checked(officer)
    client.force_login(officer)

    response = client.get(reverse("cases:replay", args=[other.case.reference, decision.pk]))

    assert response.status_code == 404


def test_a_closed_case_asks_for_the_reason_before_its_replay(
    client, officer: User, policy: SchemePolicy
) -> None:
    decision = checked(officer, previous_drug_conviction_or_caution=True)
    case_close_ineligible(case=decision.case, by=officer)
    client.force_login(officer)
    url = reverse("cases:replay", args=[decision.case.reference, decision.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == reverse("cases:detail", args=[decision.case.reference])
    assert not AuditEvent.objects.filter(object_type="cases.eligibilitydecision", action="view")


# --- The API -------------------------------------------------------------------------------


def api_url(decision: EligibilityDecision) -> str:
    return f"/api/v1/cases/{decision.case.reference}/eligibility/{decision.pk}/replay/"


def test_api_replays_a_decision(officer: User, policy: SchemePolicy) -> None:
    decision = checked(officer)
    api = APIClient()
    api.force_authenticate(officer)

    body = api.get(api_url(decision)).json()

    assert body["same"] is True
    assert body["replayable"] is True
    assert body["decision"] == decision.pk
    assert body["rules_version"] == body["current_rules_version"] == rules.RULES_VERSION
    assert body["recorded"] == body["replayed"]
    assert body["differences"] == [] and body["why"] == []


def test_api_says_what_differs(
    officer: User, policy: SchemePolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    decision = checked(officer)
    adults_are_twenty_one(monkeypatch)
    api = APIClient()
    api.force_authenticate(officer)

    body = api.get(api_url(decision)).json()

    assert body["same"] is False and body["answer_changed"] is True
    assert body["recorded"]["eligible"] is True and body["replayed"]["eligible"] is False
    (difference,) = body["differences"]
    assert difference["rule"] == "age"
    assert difference["recorded"]["passed"] is True
    assert difference["replayed"]["passed"] is False


def test_api_replay_of_a_closed_case_needs_a_reason(officer: User, policy: SchemePolicy) -> None:
    decision = checked(officer, previous_drug_conviction_or_caution=True)
    case_close_ineligible(case=decision.case, by=officer)
    api = APIClient()
    api.force_authenticate(officer)

    assert api.get(api_url(decision)).status_code == 400
    response = api.get(api_url(decision) + "?reason=Court+file")
    assert response.status_code == 200
    assert response.json()["same"] is True


# --- The command ---------------------------------------------------------------------------


def replay_decisions(*args: str) -> str:
    out = StringIO()
    call_command("replay_decisions", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def demo(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", force=True, report_cases=120, stdout=StringIO())


def test_every_demo_decision_replays_the_same(demo) -> None:
    total = EligibilityDecision.objects.count()
    assert total > 10

    output = replay_decisions()

    assert f"Replayed {total} eligibility decisions: {total} the same, 0 different" in output


def test_a_rule_changed_under_the_demo_decisions_fails_the_command(
    demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    adults_are_twenty_one(monkeypatch)
    out = StringIO()

    with pytest.raises(CommandError, match="no longer give the same answer"):
        call_command("replay_decisions", stdout=out)

    output = out.getvalue()
    assert "no recorded change to the rules explains it" in output
    assert "  age:\n    then: met: Aged" in output
    assert "    now: not met: Aged 17" in output
    for person in EligibilityDecision.objects.values_list("case__person__family_name", flat=True):
        assert person not in output


def test_recorded_changes_fail_unless_allowed(
    officer: User, policy: SchemePolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked(officer)
    adults_are_twenty_one(monkeypatch)
    monkeypatch.setattr(rules, "RULES_VERSION", rules.RULES_VERSION + 1)
    monkeypatch.setitem(rules.RULES_CHANGES, rules.RULES_VERSION, "Adults are 21 or over.")

    with pytest.raises(CommandError):
        replay_decisions()
    output = replay_decisions("--allow-recorded-changes")

    assert "1 different (1 explained by a recorded change to the rules)" in output
    assert "why: Rules version" in output


def test_command_replays_one_forces_decisions_or_a_date_range(
    officer: User, other_force_officer: User, policy: SchemePolicy
) -> None:
    factories.PolicyFactory(force=factories.force("DUR"))
    checked(officer)
    old = checked(other_force_officer)
    EligibilityDecision.objects.filter(pk=old.pk).update(
        decided_at=datetime.combine(date(2026, 3, 1), time(0, 30), tzinfo=LONDON)
    )

    assert "Replayed 1 eligibility decisions" in replay_decisions("--force", "tvp")
    assert "Replayed 2 eligibility decisions" in replay_decisions()
    assert "Replayed 1 eligibility decisions" in replay_decisions(
        "--from", "2026-03-01", "--to", "2026-03-01"
    )
    assert "Replayed 0 eligibility decisions" in replay_decisions("--to", "2026-02-28")
    assert AuditEvent.objects.filter(
        object_type="cases.eligibilitydecision", reason="manage.py replay_decisions"
    ).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--force", "NOPE"), "No force has the code “NOPE”"),
        (("--from", "2026-03-02", "--to", "2026-03-01"), "--from must be on or before --to"),
        (("--from", "yesterday"), "is not a date"),
    ],
)
def test_command_refuses_bad_filters_clearly(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        replay_decisions(*args)
