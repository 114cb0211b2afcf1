"""What a user may do next with a case, a referral, an appointment or an escalation: the rules
in cases/rules.py, programmes/rules.py and escalations/rules.py, as plain values.

Every status is listed with exactly what each role may do there, so changing any comparison
or branch of a rule fails a test here. tests/test_offered_actions.py checks that the pages
offer, and the services allow, exactly the same.
"""

from __future__ import annotations

import pytest

from cases.models import CaseStatus
from cases.rules import case_actions

# The case's status: what an officer may do, and what a supervisor may do while the latest
# eligibility decision is open and an offer waits for its answer.
CASE_ACTIONS: dict[str, tuple[set[str], set[str]]] = {
    "logged": ({"check"}, {"check"}),
    "ineligible": ({"check", "close"}, {"check", "close", "override"}),
    "eligible": ({"check", "offer"}, {"check", "offer", "override"}),
    "offered": ({"offer"}, {"offer"}),
    "accepted": ({"refer"}, {"refer"}),
    "referred": (set(), set()),
    "in_programme": (set(), set()),
    "awaiting_supervisor": (set(), set()),
    "closed": (set(), set()),
}


def test_the_case_table_lists_every_status() -> None:
    assert set(CASE_ACTIONS) == set(CaseStatus.values)


@pytest.mark.parametrize("status", CASE_ACTIONS)
def test_an_officer_may_do_what_the_status_allows_but_never_override(status: str) -> None:
    officer, _ = CASE_ACTIONS[status]
    facts = {"decision_open": True, "offer_pending": True}

    assert case_actions(status, staff=True, supervisor=False, **facts) == officer


@pytest.mark.parametrize("status", CASE_ACTIONS)
def test_a_supervisor_may_also_override_an_open_decision_before_the_offer(status: str) -> None:
    _, supervisor = CASE_ACTIONS[status]

    assert (
        case_actions(status, staff=True, supervisor=True, decision_open=True, offer_pending=True)
        == supervisor
    )


@pytest.mark.parametrize("status", CASE_ACTIONS)
def test_an_overridden_or_missing_decision_cannot_be_overridden(status: str) -> None:
    _, supervisor = CASE_ACTIONS[status]

    assert case_actions(
        status, staff=True, supervisor=True, decision_open=False, offer_pending=True
    ) == supervisor - {"override"}


@pytest.mark.parametrize("status", CASE_ACTIONS)
def test_an_offered_case_takes_an_answer_only_while_the_offer_is_pending(status: str) -> None:
    officer, _ = CASE_ACTIONS[status]
    without_pending = officer - {"offer"} if status == "offered" else officer

    assert case_actions(status, staff=True, offer_pending=False) == without_pending


@pytest.mark.parametrize("status", CASE_ACTIONS)
def test_nobody_outside_the_case_force_may_do_anything_with_it(status: str) -> None:
    assert (
        case_actions(status, staff=False, supervisor=True, decision_open=True, offer_pending=True)
        == frozenset()
    )
