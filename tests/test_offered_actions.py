"""A page offers exactly what the service allows: for every status of a case, a referral, an
appointment and an escalation, and every role, the buttons and links on the page are the
actions the service carries out, and the service refuses every other one.

The expected actions are the tables of tests/test_action_rules.py. Each service is tried with
valid input inside a savepoint that is rolled back, so one record serves every action.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.models import Role, User
from base.clock import london_date
from base.errors import DomainError
from cases.models import Case, CaseStatus, EligibilityDecision, Offer, SchemePolicy
from cases.services import (
    case_close_ineligible,
    case_correct,
    eligibility_check,
    eligibility_override,
    offer_record,
)
from escalations.models import Escalation
from escalations.services import escalation_decide
from programmes import services as provider
from programmes.models import Appointment, Attendance, Programme, Referral, ReferralStatus
from programmes.rules import ENDED
from programmes.services import GroupOutcome, referral_create
from tests import factories
from tests.test_action_rules import CASE_ACTIONS, REFERRAL_ACTIONS

pytestmark = pytest.mark.django_db

NOW = timezone.now()
TODAY = london_date(NOW)


class _Undo(Exception):
    """Raised to roll back a service that succeeded."""


def allowed(call: Callable[[], object]) -> bool:
    """Whether the service carries the action out (then undone), rather than refusing it."""
    try:
        with transaction.atomic():
            call()
            raise _Undo
    except _Undo:
        return True
    except DomainError:
        return False


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


# Cases --------------------------------------------------------------------------------------

AFTER_THE_OFFER = ("accepted", "referred", "in_programme", "awaiting_supervisor", "closed")


def case_in(status: str, *, by: User, policy: SchemePolicy) -> Case:
    """A Thames Valley case in `status` with what it implies: from the check on, an open
    eligibility decision; from the offer on, the offer (still to be answered while offered)."""
    closed = {"outcome": "diverted", "closed_at": NOW} if status == CaseStatus.CLOSED else {}
    case = factories.CaseFactory(status=status, created_by=by, **closed)
    if status != CaseStatus.LOGGED:
        EligibilityDecision.objects.create(
            case=case,
            policy=policy,
            eligible=status != CaseStatus.INELIGIBLE,
            inputs={},
            reasons=[],
            history=[],
            decided_by=by,
        )
    if status == CaseStatus.OFFERED or status in AFTER_THE_OFFER:
        accepted = status in AFTER_THE_OFFER
        Offer.objects.create(
            case=case,
            offered_at=NOW,
            offered_by=by,
            response="accepted" if accepted else "pending",
            consent_given=accepted,
        )
    return Case.objects.get(pk=case.pk)


def case_page_offers(client: Client, case: Case) -> set[str]:
    """The actions the case page offers, by the address each button or link goes to."""
    base = f"/cases/{case.reference}/"
    if case.status == CaseStatus.CLOSED:
        client.post(base, {"reason": "Checking what the page offers"})
    html = page(client, base)
    controls = {
        "check": f'action="{base}eligibility/"',
        "override": f'action="{base}override/"',
        "close": f'action="{base}close/"',
        "offer": f'href="{base}offer/"',
        "refer": f'href="{base}refer/"',
        "correct": f'href="{base}correct/"',
    }
    return {action for action, control in controls.items() if control in html}


def case_services_allow(case: Case, user: User, programme: Programme) -> set[str]:
    tries = {
        "check": lambda: eligibility_check(case=case, by=user),
        "override": lambda: eligibility_override(case=case, by=user, reason="Checked by hand"),
        "close": lambda: case_close_ineligible(case=case, by=user),
        "offer": lambda: offer_record(case=case, by=user, response="pending", consent_given=False),
        "refer": lambda: referral_create(case=case, programme=programme, by=user),
        "correct": lambda: case_correct(
            case=case, by=user, reason="Typed wrongly", crime_reference="CRIME/CHECK/1"
        ),
    }
    return {action for action, call in tries.items() if allowed(call)}


@pytest.fixture
def supervisor(db) -> User:
    return factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("TVP"))


@pytest.mark.parametrize("role", ["officer", "supervisor"])
@pytest.mark.parametrize("status", CASE_ACTIONS)
def test_the_case_page_offers_exactly_what_the_services_allow(
    status: str, role: str, officer: User, supervisor: User, policy, programme
) -> None:
    user = supervisor if role == "supervisor" else officer
    case = case_in(status, by=officer, policy=policy)
    expected = CASE_ACTIONS[status][role == "supervisor"]
    client = signed_in(user)

    assert case_page_offers(client, case) == expected
    assert case_services_allow(case, user, programme) == expected
    # The offer and referral forms open only when the action is allowed.
    for action, url in (("offer", "offer/"), ("refer", "refer/")):
        response = client.get(f"/cases/{case.reference}/{url}")
        assert response.status_code == (200 if action in expected else 302), action


@pytest.mark.parametrize(
    ("role", "force"), [(Role.SUPERVISOR, "DUR"), (Role.ANALYST, "TVP")], ids=["DUR", "analyst"]
)
@pytest.mark.parametrize("status", CASE_ACTIONS)
def test_nobody_but_the_forces_staff_can_see_or_act_on_a_case(
    status: str, role: str, force: str, officer: User, policy, programme
) -> None:
    outsider = factories.UserFactory(role=role, force=factories.force(force))
    case = case_in(status, by=officer, policy=policy)

    assert signed_in(outsider).get(f"/cases/{case.reference}/").status_code == 404
    assert case_services_allow(case, outsider, programme) == set()


# Referrals ----------------------------------------------------------------------------------

# The case's status while its referral is in each status.
CASE_STATUS_FOR = {
    "new": "referred",
    "accepted": "in_programme",
    "in_progress": "in_programme",
    "flagged": "awaiting_supervisor",
    "declined": "accepted",
    "completed": "closed",
    "withdrawn": "closed",
}
CLOSING = ("completed", "withdrawn")


def referral_in(status: str, *, policy: SchemePolicy) -> Referral:
    """A referral in `status` whose one required session was attended yesterday."""
    referral = factories.ReferralFactory(
        status=status,
        case__status=CASE_STATUS_FOR[status],
        **({"case__outcome": "diverted", "case__closed_at": NOW} if status in CLOSING else {}),
        policy=policy,
    )
    staff = factories.provider_staff(referral.programme.provider)
    attended = Appointment.objects.create(
        referral=referral, starts_at=NOW - timedelta(days=1), booked_by=staff
    )
    Attendance.objects.create(appointment=attended, outcome="attended", recorded_by=staff)
    return Referral.objects.get(pk=referral.pk)


def referral_page_offers(client: Client, referral: Referral) -> set[str]:
    base = f"/provider/referrals/{referral.reference}/"
    html = page(client, base)
    controls = {
        "accept": f'action="{base}accept/"',
        "decline": f'href="{base}decline/"',
        "book": f'href="{base}appointments/new/"',
        "complete": f'href="{base}complete/"',
    }
    return {action for action, control in controls.items() if control in html}


def referral_services_allow(referral: Referral, user: User) -> set[str]:
    tries = {
        "accept": lambda: provider.referral_accept(referral=referral, by=user),
        "decline": lambda: provider.referral_decline(
            referral=referral, by=user, reason="No places until May"
        ),
        "book": lambda: provider.appointment_book(
            referral=referral, by=user, starts_at=NOW + timedelta(days=1)
        ),
        "complete": lambda: provider.referral_complete(
            referral=referral, by=user, completed_on=TODAY
        ),
    }
    return {action for action, call in tries.items() if allowed(call)}


@pytest.mark.parametrize("status", REFERRAL_ACTIONS)
def test_the_referral_page_offers_exactly_what_the_services_allow(status: str, policy) -> None:
    referral = referral_in(status, policy=policy)
    staff = factories.provider_staff(referral.programme.provider)

    assert referral_page_offers(signed_in(staff), referral) == REFERRAL_ACTIONS[status]
    assert referral_services_allow(referral, staff) == REFERRAL_ACTIONS[status]


def test_a_flagged_referral_offers_book_an_appointment_as_the_service_allows(policy) -> None:
    referral = referral_in(ReferralStatus.FLAGGED, policy=policy)
    staff = factories.provider_staff(referral.programme.provider)

    html = page(signed_in(staff), f"/provider/referrals/{referral.reference}/")

    assert "Book an appointment" in html
    assert allowed(
        lambda: provider.appointment_book(
            referral=referral, by=staff, starts_at=NOW + timedelta(days=1)
        )
    )


@pytest.mark.parametrize("status", REFERRAL_ACTIONS)
def test_nobody_else_can_see_or_act_on_a_providers_referral(
    status: str, policy, officer: User
) -> None:
    referral = referral_in(status, policy=policy)
    other_provider = factories.provider_staff(factories.ProviderFactory())

    assert (
        signed_in(other_provider).get(f"/provider/referrals/{referral.reference}/").status_code
        == 404
    )
    assert referral_services_allow(referral, other_provider) == set()
    assert referral_services_allow(referral, officer) == set()


# Appointments -------------------------------------------------------------------------------

# Each kind of appointment on a referral whose status lets attendance be recorded, and what
# the provider may do with it; attendance drops out when the referral no longer takes it.
APPOINTMENT_KINDS = {
    "ahead": {"reschedule", "cancel"},
    "due": {"reschedule", "cancel", "record"},
    "attended": {"record"},
    "cancelled": set(),
    "group session": {"cancel", "record"},
}


def appointments_of(referral: Referral) -> dict[str, Appointment]:
    """One appointment of each kind in APPOINTMENT_KINDS on `referral`."""
    staff = factories.provider_staff(referral.programme.provider)
    started = NOW - timedelta(hours=1)
    session = factories.GroupSessionFactory(programme=referral.programme, starts_at=started)

    def book(starts_at, **fields) -> Appointment:
        return Appointment.objects.create(
            referral=referral, starts_at=starts_at, booked_by=staff, **fields
        )

    return {
        "attended": referral.appointments.get(),  # referral_in's attended session
        "ahead": book(NOW + timedelta(days=2)),
        "due": book(started),
        "cancelled": book(started, status=Appointment.Status.CANCELLED),
        "group session": book(started, group_session=session),
    }


def appointment_page_offers(html: str, referral: Referral, appointment: Appointment) -> set[str]:
    cards = html.split('data-appointment="')[1:]
    card = next(card for card in cards if card.startswith(f'{appointment.pk}"'))
    base = f"/provider/referrals/{referral.reference}/appointments/{appointment.pk}/"
    controls = {
        "reschedule": f'href="{base}reschedule/"',
        "cancel": f'href="{base}cancel/"',
        "record": f'href="{base}attendance/"',
    }
    return {action for action, control in controls.items() if control in card}


def appointment_services_allow(appointment: Appointment, user: User) -> set[str]:
    tries = {
        "reschedule": lambda: provider.appointment_reschedule(
            appointment=appointment, by=user, starts_at=NOW + timedelta(days=3)
        ),
        "cancel": lambda: provider.appointment_cancel(appointment=appointment, by=user),
        "record": lambda: provider.attendance_record(
            appointment=appointment, by=user, outcome="attended"
        ),
    }
    return {action for action, call in tries.items() if allowed(call)}


@pytest.mark.parametrize("status", REFERRAL_ACTIONS)
def test_each_appointment_offers_exactly_what_the_services_allow(status: str, policy) -> None:
    referral = referral_in(status, policy=policy)
    staff = factories.provider_staff(referral.programme.provider)
    appointments = appointments_of(referral)
    html = page(signed_in(staff), f"/provider/referrals/{referral.reference}/")
    takes_attendance = "book" in REFERRAL_ACTIONS[status]

    for kind, appointment in appointments.items():
        expected = APPOINTMENT_KINDS[kind] - (set() if takes_attendance else {"record"})
        if status in ENDED:  # an ended referral's appointments no longer change
            expected = set()
        assert appointment_page_offers(html, referral, appointment) == expected, kind
        assert appointment_services_allow(appointment, staff) == expected, kind


@pytest.mark.parametrize("status", REFERRAL_ACTIONS)
def test_the_group_session_page_offers_attendance_exactly_where_the_service_takes_it(
    status: str, policy
) -> None:
    referral = referral_in(status, policy=policy)
    staff = factories.provider_staff(referral.programme.provider)
    place = appointments_of(referral)["group session"]
    session = place.group_session
    takes_attendance = "book" in REFERRAL_ACTIONS[status]

    html = page(signed_in(staff), f"/provider/sessions/{session.pk}/")
    outcome = GroupOutcome(outcome="attended")

    assert (f'data-appointment="{place.pk}"' in html) is takes_attendance
    # An ended referral's person is off the list; one still open but not taking attendance
    # (new again after an extension) is listed as such.
    on_list = status not in ENDED
    assert (referral.case.person.full_name in html) is on_list
    assert ("Attendance cannot be recorded for:" in html) is (on_list and not takes_attendance)
    assert (
        allowed(
            lambda: provider.group_attendance_record(
                session=session, by=staff, outcomes={place.pk: outcome}
            )
        )
        is takes_attendance
    )


def test_another_provider_can_do_nothing_with_an_appointment(policy) -> None:
    referral = referral_in(ReferralStatus.IN_PROGRESS, policy=policy)
    other_provider = factories.provider_staff(factories.ProviderFactory())

    for kind, appointment in appointments_of(referral).items():
        assert appointment_services_allow(appointment, other_provider) == set(), kind


# Escalations --------------------------------------------------------------------------------

DECISIONS = ("prosecute", "extend", "re_refer", "no_further_action")

# The escalation's state, and what a supervisor of the case's force may do there.
ESCALATION_ACTIONS: dict[str, set[str]] = {
    "open": set(DECISIONS),
    "open, no extension left": {"prosecute", "re_refer", "no_further_action"},
    "prosecuted": {"summary"},
    "extended": set(),
    "re-referred": set(),
    "no further action": set(),
}
DECIDED = {
    "prosecuted": "prosecute",
    "extended": "extend",
    "re-referred": "re_refer",
    "no further action": "no_further_action",
}


def escalation_in(state: str, *, supervisor: User, other: Programme) -> Escalation:
    """An escalation of a flagged Thames Valley referral, decided as `state` says."""
    policy = factories.PolicyFactory(
        force=factories.force("TVP"), max_extensions=0 if "no extension" in state else 1
    )
    referral = factories.ReferralFactory(
        status=ReferralStatus.FLAGGED, case__status=CaseStatus.AWAITING_SUPERVISOR, policy=policy
    )
    other.forces_served.add(referral.case.force)
    escalation = Escalation.objects.create(
        referral=referral,
        rule=Escalation.Rule.FIRST_APPOINTMENT_MISSED,
        facts={"rules_fired": ["first_appointment_missed"], "referral_status": "accepted"},
    )
    if state in DECIDED:
        decide(escalation, supervisor, DECIDED[state], other)
    return Escalation.objects.get(pk=escalation.pk)


def decide(escalation: Escalation, by: User, decision: str, other: Programme) -> Escalation:
    return escalation_decide(
        escalation=escalation,
        by=by,
        decision=decision,
        rationale="Weighed with care",
        new_deadline=TODAY + timedelta(days=400),
        new_programme=other,
    )


def escalation_page_offers(client: Client, escalation: Escalation) -> set[str]:
    html = page(client, f"/escalations/{escalation.pk}/")
    offered = set(re.findall(r'name="decision" type="radio" value="(\w+)"', html))
    if f'href="/escalations/{escalation.pk}/summary/"' in html:
        offered.add("summary")
    return offered


def escalation_services_allow(
    client: Client, escalation: Escalation, user: User, other: Programme
) -> set[str]:
    allows = {
        decision
        for decision in DECISIONS
        if allowed(lambda d=decision: decide(escalation, user, d, other))
    }
    if client.get(f"/escalations/{escalation.pk}/summary/").status_code == 200:
        allows.add("summary")
    return allows


@pytest.fixture
def other_programme(db) -> Programme:
    return factories.ProgrammeFactory(forces_served=[factories.force("TVP")])


@pytest.mark.parametrize("state", ESCALATION_ACTIONS)
def test_the_escalation_page_offers_exactly_what_the_services_allow(
    state: str, supervisor: User, other_programme: Programme
) -> None:
    escalation = escalation_in(state, supervisor=supervisor, other=other_programme)
    client = signed_in(supervisor)

    assert escalation_page_offers(client, escalation) == ESCALATION_ACTIONS[state]
    assert (
        escalation_services_allow(client, escalation, supervisor, other_programme)
        == ESCALATION_ACTIONS[state]
    )


@pytest.mark.parametrize("state", ESCALATION_ACTIONS)
@pytest.mark.parametrize("who", ["officer", "another force's supervisor"])
def test_only_a_supervisor_of_the_force_can_see_or_decide_an_escalation(
    state: str, who: str, supervisor: User, officer: User, other_programme: Programme
) -> None:
    escalation = escalation_in(state, supervisor=supervisor, other=other_programme)
    user = (
        officer
        if who == "officer"
        else factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("DUR"))
    )
    client = signed_in(user)

    assert client.get(f"/escalations/{escalation.pk}/").status_code == 404
    assert escalation_services_allow(client, escalation, user, other_programme) == set()
