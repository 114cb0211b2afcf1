"""Earlier diversions counted by when they ended, through the history search and the check:
the end is the day (in London) the earlier case was completed or closed, back from the new
offence over the policy's look-back."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.urls import reverse

from accounts.models import User
from base.clock import LONDON
from cases.models import Case, CaseOutcome, CaseStatus, SchemePolicy
from cases.selectors import earlier_cases_for
from cases.services import eligibility_check
from tests import factories

NEW_OFFENCE = date(2026, 7, 1)
LOOKBACK_START = NEW_OFFENCE - timedelta(days=730)  # the first day of the look-back


def london(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def earlier_case(person, *, status: str, outcome: str = "", closed_at=None, force="TVP") -> Case:
    """An earlier case of `person`, for an offence three years before the new one."""
    return factories.CaseFactory(
        person=person,
        force=factories.force(force),
        offence_date=NEW_OFFENCE - timedelta(days=3 * 365),
        status=status,
        outcome=outcome,
        closed_at=closed_at,
    )


def completed(person, ended: datetime, **fields) -> Case:
    return earlier_case(
        person, status=CaseStatus.CLOSED, outcome=CaseOutcome.DIVERTED, closed_at=ended, **fields
    )


def new_case(officer: User, person) -> Case:
    return factories.CaseFactory(
        person=person, offence_date=NEW_OFFENCE, created_by=officer, force=officer.force
    )


def earlier_reason(decision) -> dict:
    (reason,) = [r for r in decision.reasons if r["rule"] == "earlier_diversion"]
    return reason


@pytest.mark.parametrize(
    ("ended", "counts"),
    [
        pytest.param(london(NEW_OFFENCE), True, id="same day as the new offence"),
        pytest.param(london(NEW_OFFENCE + timedelta(days=5)), True, id="after the new offence"),
        pytest.param(london(LOOKBACK_START), True, id="first day of the look-back"),
        pytest.param(london(LOOKBACK_START + timedelta(days=1)), True, id="one day inside"),
        pytest.param(london(LOOKBACK_START - timedelta(days=1)), False, id="one day outside"),
        # Midnight in London, the evening before in UTC (summer time): London's day counts.
        pytest.param(london(LOOKBACK_START, 0, 30), True, id="just after midnight in London"),
        pytest.param(
            london(LOOKBACK_START - timedelta(days=1), 23, 30), False, id="just before midnight"
        ),
    ],
)
def test_earlier_diversion_counts_by_the_day_it_ended(
    officer: User, policy: SchemePolicy, ended: datetime, counts: bool
) -> None:
    person = factories.PersonFactory()
    earlier = completed(person, ended)
    case = new_case(officer, person)

    decision = eligibility_check(case=case, by=officer)

    assert decision.eligible is not counts
    reason = earlier_reason(decision)
    assert reason["passed"] is not counts
    said = f"{earlier.reference} (Thames Valley Police) for an offence on"
    assert said in reason["message"]
    assert f"ended on {ended.day} {ended:%B %Y}" in reason["message"]
    assert decision.history[0]["ended_on"] == ended.date().isoformat()


def test_earlier_diversion_still_in_progress_counts(officer: User, policy: SchemePolicy) -> None:
    person = factories.PersonFactory()
    earlier_case(person, status=CaseStatus.IN_PROGRAMME)
    case = new_case(officer, person)

    decision = eligibility_check(case=case, by=officer)

    assert decision.eligible is False
    assert earlier_reason(decision)["message"].endswith("still in progress.")
    assert decision.history[0]["ended_on"] is None


def test_earlier_case_closed_without_a_diversion_does_not_count(
    officer: User, policy: SchemePolicy
) -> None:
    person = factories.PersonFactory()
    earlier_case(
        person,
        status=CaseStatus.CLOSED,
        outcome=CaseOutcome.PROSECUTION,
        closed_at=london(NEW_OFFENCE - timedelta(days=10)),
    )
    case = new_case(officer, person)

    decision = eligibility_check(case=case, by=officer)

    assert decision.eligible is True
    assert decision.history[0]["diverted"] is False
    assert decision.history[0]["ended_on"] == (NEW_OFFENCE - timedelta(days=10)).isoformat()


def test_another_forces_diversion_says_when_it_ended_without_its_reference(
    officer: User, policy: SchemePolicy
) -> None:
    person = factories.PersonFactory(pnc_id="2019/0123456A")
    completed(person, london(NEW_OFFENCE - timedelta(days=40)), force="DUR")

    (found,) = earlier_cases_for(case=new_case(officer, person))

    assert found.reference == ""
    assert found.ended_on == NEW_OFFENCE - timedelta(days=40)


def test_case_page_shows_when_each_earlier_case_ended(
    client, officer: User, policy: SchemePolicy
) -> None:
    person = factories.PersonFactory()
    completed(person, london(date(2025, 3, 4)))
    earlier_case(person, status=CaseStatus.REFERRED)
    case = new_case(officer, person)
    eligibility_check(case=case, by=officer)
    client.force_login(officer)

    page = client.get(reverse("cases:detail", args=[case.reference])).content.decode()

    assert "a diversion, ended on 4 March 2025" in page
    assert "a diversion, still in progress" in page


def test_rechecking_a_case_that_stays_ineligible_records_a_new_decision(
    client, officer: User, policy: SchemePolicy
) -> None:
    person = factories.PersonFactory()
    completed(person, london(NEW_OFFENCE - timedelta(days=100)))
    case = new_case(officer, person)
    first = eligibility_check(case=case, by=officer)
    client.force_login(officer)

    response = client.post(reverse("cases:eligibility", args=[case.reference]), follow=True)

    case.refresh_from_db()
    assert case.status == CaseStatus.INELIGIBLE
    assert case.eligibility_decisions.count() == 2
    assert case.eligibility_decisions.first().pk != first.pk
    assert "Not eligible for diversion: see the reasons below" in response.content.decode()
    assert list(case.status_changes.values_list("to_status", flat=True)) == [
        CaseStatus.INELIGIBLE,
        CaseStatus.INELIGIBLE,
    ]
