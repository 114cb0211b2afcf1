"""What a user may do next with a case, a referral, an appointment or an escalation: the rules
in cases/rules.py, programmes/rules.py and escalations/rules.py, as plain values.

Every status is listed with exactly what each role may do there, so changing any comparison
or branch of a rule fails a test here. tests/test_offered_actions.py checks that the pages
offer, and the services allow, exactly the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Role, User
from cases.models import Case, CaseStatus, EligibilityDecision, Offer, SchemePolicy
from cases.rules import (
    ELIGIBILITY_FACTS,
    case_actions,
    case_actions_for,
    correction_refusal,
    needs_new_check,
)
from escalations.models import Escalation
from escalations.rules import escalation_actions, escalation_actions_for
from programmes.models import Appointment, Programme, Referral, ReferralStatus
from programmes.rules import ENDED as ENDED_STATUSES
from programmes.rules import (
    appointment_actions,
    appointment_actions_for,
    referral_actions,
    referral_actions_for,
)

# The case's status: what an officer may do, and what a supervisor may do while the latest
# eligibility decision is open and an offer waits for its answer.
CASE_ACTIONS: dict[str, tuple[set[str], set[str]]] = {
    "logged": ({"check", "correct", "assign"}, {"check", "correct", "assign"}),
    "ineligible": (
        {"check", "close", "correct", "assign"},
        {"check", "close", "override", "correct", "assign"},
    ),
    "eligible": (
        {"check", "offer", "correct", "assign"},
        {"check", "offer", "override", "correct", "assign"},
    ),
    "offered": ({"offer", "correct", "assign"}, {"offer", "correct", "assign"}),
    "accepted": ({"refer", "correct", "assign"}, {"refer", "correct", "assign"}),
    "referred": ({"correct", "assign"}, {"correct", "assign"}),
    "in_programme": ({"correct", "assign"}, {"correct", "assign"}),
    "awaiting_supervisor": ({"correct", "assign"}, {"correct", "assign"}),
    "closed": (set(), set()),  # nothing more to do: not even a change of officer
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


# Referrals ----------------------------------------------------------------------------------

# The referral's status: what staff of the provider running its programme may do there.
REFERRAL_ACTIONS: dict[str, set[str]] = {
    "new": {"accept", "decline", "assign"},
    "accepted": {"book", "complete", "assign"},
    "in_progress": {"book", "complete", "assign"},
    "flagged": {"book", "assign"},  # the person may still attend while a supervisor decides
    "declined": set(),
    "completed": {"report"},  # the end-of-programme report, until it is filed
    "withdrawn": {"report"},  # ended early
}


def test_the_referral_table_lists_every_status() -> None:
    assert set(REFERRAL_ACTIONS) == set(ReferralStatus.values)


@pytest.mark.parametrize("status", REFERRAL_ACTIONS)
def test_the_provider_may_do_what_the_referral_status_allows(status: str) -> None:
    assert referral_actions(status, provider=True) == REFERRAL_ACTIONS[status]


@pytest.mark.parametrize("status", REFERRAL_ACTIONS)
def test_once_its_report_is_filed_a_referral_offers_no_second_one(status: str) -> None:
    assert referral_actions(status, provider=True, reported=True) == (
        REFERRAL_ACTIONS[status] - {"report"}
    )


@pytest.mark.parametrize("status", REFERRAL_ACTIONS)
def test_nobody_but_the_provider_may_act_on_a_referral(status: str) -> None:
    assert referral_actions(status, provider=False) == frozenset()


# Appointments -------------------------------------------------------------------------------

BOOKED_AHEAD = {
    "provider": True,
    "booked": True,
    "attendance_recorded": False,
    "on_group_session": False,
    "started": False,
}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param({}, {"reschedule", "cancel"}, id="booked, not started"),
        pytest.param({"started": True}, {"reschedule", "cancel", "record"}, id="started"),
        pytest.param(
            {"started": True, "attendance_recorded": True}, {"record"}, id="attendance recorded"
        ),
        pytest.param({"attendance_recorded": True}, set(), id="recorded, then moved ahead"),
        pytest.param({"on_group_session": True}, {"cancel"}, id="group-session place"),
        pytest.param(
            {"on_group_session": True, "started": True},
            {"cancel", "record"},
            id="group session started",
        ),
        pytest.param({"booked": False, "started": True}, set(), id="cancelled"),
        pytest.param({"provider": False, "started": True}, set(), id="not the provider"),
    ],
)
def test_what_the_provider_may_do_with_an_appointment(
    facts: dict[str, bool], expected: set[str]
) -> None:
    assert appointment_actions(**{**BOOKED_AHEAD, **facts}, referral_status="accepted") == expected


@pytest.mark.parametrize("status", REFERRAL_ACTIONS)
def test_attendance_is_recorded_only_while_the_referral_is_open_to_bookings(status: str) -> None:
    started = {**BOOKED_AHEAD, "started": True, "attendance_recorded": True}
    expected = {"record"} if "book" in REFERRAL_ACTIONS[status] else set()

    assert appointment_actions(**started, referral_status=status) == expected


ENDED = ("declined", "completed", "withdrawn")


def test_the_ended_statuses_are_those_a_referral_never_leaves() -> None:
    assert ENDED_STATUSES == set(ENDED)


@pytest.mark.parametrize("status", REFERRAL_ACTIONS)
def test_an_appointment_can_be_moved_or_cancelled_until_the_referral_ends(status: str) -> None:
    expected = set() if status in ENDED else {"reschedule", "cancel"}

    assert appointment_actions(**BOOKED_AHEAD, referral_status=status) == expected


# Escalations --------------------------------------------------------------------------------

DECISIONS = {"prosecute", "extend", "re_refer", "no_further_action"}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param({"extensions_left": 1}, DECISIONS, id="open"),
        pytest.param({"extensions_left": 0}, DECISIONS - {"extend"}, id="open, no extension left"),
        pytest.param(
            {"extensions_left": -1}, DECISIONS - {"extend"}, id="open, the policy lowered"
        ),
        pytest.param(
            {"decided": True, "decision": "prosecute"}, {"summary"}, id="decided: prosecute"
        ),
        pytest.param({"decided": True, "decision": "extend"}, set(), id="decided: extend"),
        pytest.param({"decided": True, "decision": "re_refer"}, set(), id="decided: re-refer"),
        pytest.param(
            {"decided": True, "decision": "no_further_action"}, set(), id="decided: no action"
        ),
    ],
)
def test_what_a_supervisor_may_do_with_an_escalation(
    facts: dict[str, object], expected: set[str]
) -> None:
    state = {"decided": False, "decision": "", "extensions_left": 1, **facts}

    assert escalation_actions(supervisor=True, **state) == expected


@pytest.mark.parametrize("decided", [False, True])
def test_nobody_but_a_supervisor_of_the_force_may_act_on_an_escalation(decided: bool) -> None:
    assert (
        escalation_actions(
            supervisor=False, decided=decided, decision="prosecute", extensions_left=1
        )
        == frozenset()
    )


# The adapters from records to facts, with unsaved records: no database --------------------

TVP, DUR = 1, 2


def user(role: str, *, force: int | None = None, provider: int | None = None) -> User:
    return User(role=role, force_id=force, provider_id=provider)


def test_case_actions_for_reads_the_role_and_the_force_of_the_case() -> None:
    case = Case(status="ineligible", force_id=TVP)
    decision = EligibilityDecision(overridden_at=None)

    def actions(someone: User) -> frozenset[str]:
        return case_actions_for(case, someone, decision=decision)

    assert actions(user(Role.CUSTODY_OFFICER, force=TVP)) == {
        "check",
        "close",
        "correct",
        "assign",
    }
    assert actions(user(Role.SUPERVISOR, force=TVP)) == {
        "check",
        "close",
        "override",
        "correct",
        "assign",
    }
    assert actions(user(Role.SUPERVISOR, force=DUR)) == frozenset()
    assert actions(user(Role.ANALYST, force=TVP)) == frozenset()
    assert actions(user(Role.PROVIDER_STAFF, provider=TVP)) == frozenset()


def test_case_actions_for_reads_whether_the_decision_is_open_and_the_offer_pending() -> None:
    supervisor = user(Role.SUPERVISOR, force=TVP)
    eligible = Case(status="eligible", force_id=TVP)
    offered = Case(status="offered", force_id=TVP)

    def override(decision: EligibilityDecision | None) -> bool:
        return "override" in case_actions_for(eligible, supervisor, decision=decision)

    def answer(offer: Offer | None) -> bool:
        return "offer" in case_actions_for(offered, supervisor, offer=offer)

    assert override(EligibilityDecision(overridden_at=None))
    assert not override(EligibilityDecision(overridden_at=datetime(2026, 11, 20, tzinfo=UTC)))
    assert not override(None)
    assert answer(Offer(response="pending"))
    assert not answer(Offer(response="declined"))
    assert not answer(None)


def test_referral_actions_for_reads_the_provider_of_the_programme() -> None:
    referral = Referral(status="accepted", programme=Programme(provider_id=TVP))

    assert referral_actions_for(referral, user(Role.PROVIDER_STAFF, provider=TVP)) == {
        "book",
        "complete",
        "assign",
    }
    assert referral_actions_for(referral, user(Role.PROVIDER_STAFF, provider=DUR)) == frozenset()
    assert referral_actions_for(referral, user(Role.SUPERVISOR, force=TVP)) == frozenset()
    # A provider without the role (a row the database refuses) is still not its staff.
    assert referral_actions_for(referral, user(Role.ADMINISTRATOR, provider=TVP)) == frozenset()


def test_appointment_actions_for_reads_the_appointment_and_its_referral() -> None:
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    staff = user(Role.PROVIDER_STAFF, provider=TVP)
    referral = Referral(status="in_progress", programme=Programme(provider_id=TVP))

    def actions(recorded: bool = False, **fields: object) -> frozenset[str]:
        appointment = Appointment(referral=referral, **{"starts_at": now, **fields})
        return appointment_actions_for(appointment, staff, attendance_recorded=recorded, now=now)

    assert actions() == {"reschedule", "cancel", "record"}
    assert actions(starts_at=now + timedelta(seconds=1)) == {"reschedule", "cancel"}
    assert actions(recorded=True) == {"record"}
    assert actions(status="cancelled") == frozenset()
    assert actions(group_session_id=7) == {"cancel", "record"}
    referral.status = "completed"
    assert actions() == frozenset()
    referral.status, referral.programme = "in_progress", Programme(provider_id=DUR)
    assert actions() == frozenset()


def test_escalation_actions_for_reads_the_decision_and_the_extensions_left() -> None:
    supervisor = user(Role.SUPERVISOR, force=TVP)
    policy = SchemePolicy(max_extensions=2)
    referral = Referral(case=Case(force_id=TVP), policy=policy, extensions=1)

    def actions(someone: User = supervisor, **fields: object) -> frozenset[str]:
        return escalation_actions_for(Escalation(referral=referral, **fields), someone)

    assert actions() == DECISIONS
    assert actions(user(Role.SUPERVISOR, force=DUR)) == frozenset()
    assert actions(user(Role.CUSTODY_OFFICER, force=TVP)) == frozenset()
    assert actions(decided_at=datetime(2026, 12, 1, tzinfo=UTC), decision="prosecute") == {
        "summary"
    }
    referral.extensions = 2
    assert actions() == DECISIONS - {"extend"}


# Corrections -------------------------------------------------------------------------------

FACTS = frozenset({"date_of_birth"})
REFERENCES = frozenset({"crime_reference", "phone"})
# The case's status: whether a correction of an eligibility fact may be made, and whether it
# sends the case back for a new check.
CORRECTIONS: dict[str, tuple[bool, bool]] = {
    "logged": (True, False),
    "ineligible": (True, True),
    "eligible": (True, True),
    "offered": (True, True),
    "accepted": (True, True),
    "referred": (False, False),
    "in_programme": (False, False),
    "awaiting_supervisor": (False, False),
    "closed": (False, False),
}


def test_the_corrections_table_lists_every_status() -> None:
    assert set(CORRECTIONS) == set(CaseStatus.values)


@pytest.mark.parametrize("status", CORRECTIONS)
def test_the_facts_of_a_decision_may_be_corrected_until_referral(status: str) -> None:
    may, recheck = CORRECTIONS[status]
    assert (correction_refusal(status, FACTS) == "") is may
    assert needs_new_check(status, FACTS) is recheck


@pytest.mark.parametrize("status", CORRECTIONS)
def test_references_and_contact_details_may_be_corrected_until_closed(status: str) -> None:
    assert (correction_refusal(status, REFERENCES) == "") is (status != "closed")
    assert needs_new_check(status, REFERENCES) is False


@pytest.mark.parametrize("fact", sorted(ELIGIBILITY_FACTS))
def test_each_fact_of_the_decision_sends_a_decided_case_back(fact: str) -> None:
    assert needs_new_check("eligible", frozenset({fact, "phone"}))
    assert "referred" in correction_refusal("referred", frozenset({fact}))


def test_the_facts_are_exactly_those_the_rules_read() -> None:
    assert ELIGIBILITY_FACTS == {
        "date_of_birth",
        "offence_date",
        "offence_type",
        "setting",
        "admitted_offence",
        "resides_in_force_area",
        "previous_drug_conviction_or_caution",
        "circumstances",
        "drugs",
    }


def test_a_closed_case_says_why_nothing_can_be_corrected() -> None:
    assert "closed" in correction_refusal("closed", REFERENCES)


# The case list's next step for each status, as officers read it.
NEXT_STEPS = {
    "logged": "Check eligibility",
    "ineligible": "Close for the standard process, or check again",
    "eligible": "Make the offer",
    "offered": "Record the person’s answer",
    "accepted": "Refer to a programme",
    "referred": "Provider to take the referral on",
    "in_programme": "Person to attend the programme",
    "awaiting_supervisor": "Supervisor to decide",
    "closed": "None: closed",
}


def test_each_status_says_its_next_step() -> None:
    from cases.rules import NEXT_STEP

    assert NEXT_STEP == NEXT_STEPS
