"""Provider services: referral transitions, appointments, attendance, group sessions, completion.

No HTTP here: each service is called directly, and every refusal is checked to save nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import pytest
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent
from base.clock import london_date
from base.errors import DomainError, IllegalTransition
from cases.models import Case, CaseStatus, CaseStatusChange, SchemePolicy
from cases.services import DrugQuantity, case_create, eligibility_check, offer_record, person_create
from programmes.models import (
    Appointment,
    Attendance,
    GroupSession,
    Programme,
    Referral,
    ReferralStatus,
    ReferralStatusChange,
)
from programmes.services import (
    GroupOutcome,
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
    attendance_record,
    attended_sessions,
    group_attendance_record,
    group_session_create,
    referral_accept,
    referral_complete,
    referral_create,
    referral_decline,
)
from tests import factories

COUNTED = (
    Case,
    CaseStatusChange,
    Referral,
    ReferralStatusChange,
    Appointment,
    Attendance,
    GroupSession,
    AuditEvent,
)


def counts() -> dict[str, int]:
    """How many rows each table a provider service writes holds."""
    return {model.__name__: model.objects.count() for model in COUNTED}


def today() -> date:
    """Today in Europe/London, as the services see it."""
    return london_date(timezone.now())


def soon(hours: int = 24) -> datetime:
    """A moment `hours` from now."""
    return timezone.now() + timedelta(hours=hours)


def start(appointment: Appointment) -> Appointment:
    """Move an appointment's start an hour into the past (moving the clock), and re-read it."""
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=timezone.now() - timedelta(hours=1)
    )
    appointment.refresh_from_db()
    return appointment


Row = TypeVar("Row", Referral, Case, Appointment)


def reload(obj: Row) -> Row:
    """The row as the database now holds it."""
    obj.refresh_from_db()
    return obj


@pytest.fixture
def referral(db: None) -> Referral:
    """A new referral of a Thames Valley case to a programme needing one session."""
    return factories.ReferralFactory()


@pytest.fixture
def staff(referral: Referral) -> User:
    """A member of staff of the provider the referral was made to."""
    return factories.provider_staff(referral.programme.provider)


@pytest.fixture
def accepted(referral: Referral, staff: User) -> Referral:
    """The referral, accepted by its provider."""
    return referral_accept(referral=referral, by=staff)


def booked(referral: Referral, staff: User, **fields: object) -> Appointment:
    """A session booked through the service for tomorrow, then started (the clock moved on)."""
    return start(appointment_book(referral=referral, by=staff, starts_at=soon(), **fields))


# Accepting and declining


def test_accept_moves_referral_to_accepted_and_case_into_programme_with_history(
    referral: Referral, staff: User
) -> None:
    referral_accept(referral=referral, by=staff)

    assert reload(referral).status == ReferralStatus.ACCEPTED
    assert reload(referral.case).status == CaseStatus.IN_PROGRAMME
    change = ReferralStatusChange.objects.filter(referral=referral).latest("id")
    assert (change.from_status, change.to_status, change.changed_by) == ("new", "accepted", staff)
    assert AuditEvent.objects.filter(
        action="change", object_type="programmes.referral", object_id=referral.reference
    ).exists()


def test_accepting_twice_is_an_illegal_transition_that_changes_nothing(
    accepted: Referral, staff: User
) -> None:
    before = counts()

    with pytest.raises(IllegalTransition, match="is accepted"):
        referral_accept(referral=accepted, by=staff)

    assert counts() == before


def test_staff_of_another_provider_cannot_accept(referral: Referral) -> None:
    stranger = factories.provider_staff(factories.ProviderFactory())
    before = counts()

    with pytest.raises(DomainError) as refused:
        referral_accept(referral=referral, by=stranger)

    assert refused.value.code == "forbidden"
    assert counts() == before
    assert reload(referral).status == ReferralStatus.NEW


@pytest.mark.parametrize("reason", ["", "   "])
def test_decline_without_a_reason_is_refused_and_changes_nothing(
    referral: Referral, staff: User, reason: str
) -> None:
    before = counts()

    with pytest.raises(DomainError) as refused:
        referral_decline(referral=referral, by=staff, reason=reason)

    assert refused.value.field == "reason"
    assert counts() == before
    assert reload(referral).status == ReferralStatus.NEW


def test_declined_referral_sends_the_case_back_to_accepted_so_the_force_can_refer_again(
    officer: User, policy: SchemePolicy, programme: Programme
) -> None:
    person = person_create(
        by=officer, given_name="Siân", family_name="Llŷr", date_of_birth=date(1994, 3, 12)
    )
    case = case_create(
        by=officer,
        person=person,
        custody_record_number="CR-0001",
        offence_date=today() - timedelta(days=2),
        drugs=[DrugQuantity(drug=factories.drug("cannabis"), quantity=Decimal("5"))],
        admitted_offence=True,
        previous_drug_conviction_or_caution=False,
    )
    eligibility_check(case=case, by=officer)
    offer_record(case=case, by=officer, response="accepted", consent_given=True)
    first = referral_create(case=reload(case), programme=programme, by=officer)
    staff = factories.provider_staff(programme.provider)

    referral_decline(referral=first, by=staff, reason="No capacity until March.")

    first = reload(first)
    assert (first.status, first.decline_reason) == ("declined", "No capacity until March.")
    assert reload(case).status == CaseStatus.ACCEPTED
    elsewhere = factories.ProgrammeFactory()
    second = referral_create(case=reload(case), programme=elsewhere, by=officer)
    assert second.status == ReferralStatus.NEW
    assert reload(case).status == CaseStatus.REFERRED


# Booking, moving and cancelling appointments


def test_booking_creates_an_appointment_and_touches_the_referral(
    accepted: Referral, staff: User
) -> None:
    Referral.objects.filter(pk=accepted.pk).update(updated_at=timezone.now() - timedelta(days=3))
    when = soon(48)

    appointment = appointment_book(
        referral=accepted, by=staff, starts_at=when, kind="assessment", mode="online"
    )

    assert (appointment.starts_at, appointment.kind, appointment.mode) == (
        when,
        "assessment",
        "online",
    )
    assert appointment.status == Appointment.Status.BOOKED
    assert reload(accepted).updated_at > timezone.now() - timedelta(minutes=1)


def test_booking_in_the_past_is_refused_and_saves_nothing(accepted: Referral, staff: User) -> None:
    before = counts()

    with pytest.raises(DomainError) as refused:
        appointment_book(referral=accepted, by=staff, starts_at=timezone.now() - timedelta(hours=1))

    assert refused.value.field == "starts_at"
    assert "must start in the future" in refused.value.message
    assert counts() == before


def test_booking_before_accepting_is_an_illegal_transition(referral: Referral, staff: User) -> None:
    before = counts()

    with pytest.raises(IllegalTransition, match="accept it before booking"):
        appointment_book(referral=referral, by=staff, starts_at=soon())

    assert counts() == before


@pytest.mark.parametrize(("field", "value"), [("kind", "massage"), ("mode", "telepathy")])
def test_booking_with_an_unknown_kind_or_mode_is_refused(
    accepted: Referral, staff: User, field: str, value: str
) -> None:
    before = counts()

    with pytest.raises(DomainError) as refused:
        appointment_book(referral=accepted, by=staff, starts_at=soon(), **{field: value})

    assert refused.value.field == field
    assert counts() == before


def test_booking_on_a_group_session_takes_its_time_place_and_mode_once_only(
    accepted: Referral, staff: User
) -> None:
    session = group_session_create(
        programme=accepted.programme,
        by=staff,
        starts_at=soon(72),
        ends_at=soon(75),
        location="Online",
        online=True,
    )

    appointment = appointment_book(referral=accepted, by=staff, group_session=session)

    assert appointment.starts_at == session.starts_at
    assert (appointment.mode, appointment.location) == ("online", "Online")
    with pytest.raises(DomainError, match="already booked on that session"):
        appointment_book(referral=accepted, by=staff, group_session=session)
    assert Appointment.objects.count() == 1


def test_booking_on_another_programmes_session_is_refused(accepted: Referral, staff: User) -> None:
    other = factories.GroupSessionFactory()
    before = counts()

    with pytest.raises(DomainError) as refused:
        appointment_book(referral=accepted, by=staff, group_session=other)

    assert refused.value.field == "group_session"
    assert counts() == before


def test_group_session_must_end_after_it_starts(accepted: Referral, staff: User) -> None:
    with pytest.raises(DomainError) as refused:
        group_session_create(
            programme=accepted.programme, by=staff, starts_at=soon(5), ends_at=soon(4)
        )

    assert refused.value.field == "ends_at"
    assert not GroupSession.objects.exists()


def test_reschedule_moves_a_booked_appointment_to_a_future_time(
    accepted: Referral, staff: User
) -> None:
    appointment = appointment_book(referral=accepted, by=staff, starts_at=soon())

    appointment_reschedule(appointment=appointment, by=staff, starts_at=soon(96), reason="Asked")

    assert reload(appointment).starts_at > soon(95)


def test_reschedule_into_the_past_is_refused_and_keeps_the_time(
    accepted: Referral, staff: User
) -> None:
    appointment = appointment_book(referral=accepted, by=staff, starts_at=soon())
    when = appointment.starts_at
    before = counts()

    with pytest.raises(DomainError) as refused:
        appointment_reschedule(
            appointment=appointment, by=staff, starts_at=timezone.now() - timedelta(days=1)
        )

    assert refused.value.field == "starts_at"
    assert reload(appointment).starts_at == when
    assert counts() == before


def test_an_appointment_with_attendance_cannot_be_moved_or_cancelled(
    accepted: Referral, staff: User
) -> None:
    appointment = booked(accepted, staff)
    attendance_record(appointment=appointment, by=staff, outcome="attended")
    before = counts()

    with pytest.raises(IllegalTransition, match="already recorded"):
        appointment_reschedule(appointment=appointment, by=staff, starts_at=soon())
    with pytest.raises(IllegalTransition, match="correct the attendance instead"):
        appointment_cancel(appointment=appointment, by=staff)

    assert counts() == before
    assert reload(appointment).status == Appointment.Status.BOOKED


def test_cancel_marks_the_appointment_cancelled_once(accepted: Referral, staff: User) -> None:
    appointment = appointment_book(referral=accepted, by=staff, starts_at=soon())

    appointment_cancel(appointment=appointment, by=staff, reason="Facilitator ill")

    assert reload(appointment).status == Appointment.Status.CANCELLED
    with pytest.raises(IllegalTransition, match="already cancelled"):
        appointment_cancel(appointment=appointment, by=staff)


def test_attendance_on_a_cancelled_appointment_is_refused(accepted: Referral, staff: User) -> None:
    appointment = appointment_book(referral=accepted, by=staff, starts_at=soon())
    appointment_cancel(appointment=appointment, by=staff)
    start(appointment)

    with pytest.raises(IllegalTransition, match="cancelled"):
        attendance_record(appointment=appointment, by=staff, outcome="attended")

    assert not Attendance.objects.exists()


# Attendance


def test_attendance_before_the_appointment_starts_is_refused(
    accepted: Referral, staff: User
) -> None:
    appointment = appointment_book(referral=accepted, by=staff, starts_at=soon())
    before = counts()

    with pytest.raises(DomainError, match="has not started yet"):
        attendance_record(appointment=appointment, by=staff, outcome="attended")

    assert counts() == before


def test_first_attendance_moves_the_referral_in_progress(accepted: Referral, staff: User) -> None:
    appointment = booked(accepted, staff)

    result = attendance_record(appointment=appointment, by=staff, outcome="attended")

    assert result.created is True
    assert (result.attendance.outcome, result.attendance.recorded_by) == ("attended", staff)
    assert reload(accepted).status == ReferralStatus.IN_PROGRESS


def test_recording_the_same_attendance_twice_returns_the_same_row_without_a_second(
    accepted: Referral, staff: User
) -> None:
    appointment = booked(accepted, staff)
    first = attendance_record(appointment=appointment, by=staff, outcome="excused", reason="Ill")
    before = counts()

    again = attendance_record(appointment=appointment, by=staff, outcome="excused", reason=" Ill ")

    assert again.created is False
    assert again.attendance.pk == first.attendance.pk
    assert counts() == before


def test_a_correction_without_a_reason_is_refused_and_keeps_the_current_outcome(
    accepted: Referral, staff: User
) -> None:
    appointment = booked(accepted, staff)
    first = attendance_record(appointment=appointment, by=staff, outcome="attended")
    before = counts()

    with pytest.raises(DomainError) as refused:
        attendance_record(appointment=appointment, by=staff, outcome="did_not_attend")

    assert refused.value.field == "correction_reason"
    assert "already recorded as “attended”" in refused.value.message
    assert counts() == before
    assert Attendance.objects.get(is_current=True).pk == first.attendance.pk


def test_a_correction_keeps_the_earlier_outcome_in_the_history_with_who_and_why(
    accepted: Referral, staff: User
) -> None:
    appointment = booked(accepted, staff)
    first = attendance_record(appointment=appointment, by=staff, outcome="attended")
    colleague = factories.provider_staff(accepted.programme.provider)

    corrected = attendance_record(
        appointment=appointment,
        by=colleague,
        outcome="late",
        correction_reason="Signed in at 10:25; the register was wrong.",
    )

    assert corrected.created is True
    history = list(Attendance.objects.filter(appointment=appointment).order_by("recorded_at", "id"))
    assert [(a.pk, a.outcome, a.is_current, a.recorded_by) for a in history] == [
        (first.attendance.pk, "attended", False, staff),
        (corrected.attendance.pk, "late", True, colleague),
    ]
    assert history[1].correction_reason == "Signed in at 10:25; the register was wrong."
    assert AuditEvent.objects.filter(
        action="change",
        object_type="programmes.attendance",
        object_id=str(corrected.attendance.pk),
        reason="Signed in at 10:25; the register was wrong.",
    ).exists()


def test_an_outcome_that_is_not_one_of_the_five_is_refused_listing_them(
    accepted: Referral, staff: User
) -> None:
    appointment = booked(accepted, staff)
    before = counts()

    with pytest.raises(DomainError) as refused:
        attendance_record(appointment=appointment, by=staff, outcome="asleep")

    assert refused.value.field == "outcome"
    for label in ("attended", "attended late", "did not attend", "cancelled by provider"):
        assert label in refused.value.message
    assert "excused absence" in refused.value.message
    assert counts() == before


def test_an_excused_absence_needs_a_reason(accepted: Referral, staff: User) -> None:
    appointment = booked(accepted, staff)
    before = counts()

    with pytest.raises(DomainError) as refused:
        attendance_record(appointment=appointment, by=staff, outcome="excused", reason="  ")

    assert refused.value.field == "reason"
    assert counts() == before


def test_attendance_on_another_providers_appointment_is_refused(db: None) -> None:
    appointment = factories.AppointmentFactory()
    stranger = factories.provider_staff(factories.ProviderFactory())
    before = counts()

    with pytest.raises(DomainError) as refused:
        attendance_record(appointment=appointment, by=stranger, outcome="attended")

    assert refused.value.code == "forbidden"
    assert counts() == before


@pytest.mark.parametrize(
    ("late_counts", "status", "attended"), [(True, "in_progress", 1), (False, "accepted", 0)]
)
def test_arriving_late_counts_as_attending_only_where_the_policy_says_so(
    db: None, late_counts: bool, status: str, attended: int
) -> None:
    policy = factories.PolicyFactory(late_counts_as_attended=late_counts)
    appointment = factories.AppointmentFactory(referral__policy=policy)
    staff = factories.provider_staff(appointment.referral.programme.provider)

    attendance_record(appointment=appointment, by=staff, outcome="late")

    referral = reload(appointment.referral)
    assert referral.status == status
    assert attended_sessions(referral) == attended


# Group sessions


def test_group_attendance_is_all_or_nothing(db: None, programme: Programme) -> None:
    session = factories.GroupSessionFactory(programme=programme)
    appointments = [
        factories.AppointmentFactory(
            referral__programme=programme, group_session=session, starts_at=session.starts_at
        )
        for _ in range(2)
    ]
    GroupSession.objects.filter(pk=session.pk).update(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(hours=1)
    )  # the session has happened (moving the clock)
    Appointment.objects.filter(group_session=session).update(
        starts_at=timezone.now() - timedelta(hours=2)
    )
    staff = factories.provider_staff(programme.provider)
    good, bad = appointments
    before = counts()

    with pytest.raises(DomainError) as refused:
        group_attendance_record(
            session=session,
            by=staff,
            outcomes={good.pk: GroupOutcome("attended"), bad.pk: GroupOutcome("excused")},
        )

    assert refused.value.field == f"appointment_{bad.pk}"
    assert counts() == before

    results = group_attendance_record(
        session=session,
        by=staff,
        outcomes={good.pk: GroupOutcome("attended"), bad.pk: GroupOutcome("excused", "Ill")},
    )

    assert [r.created for r in results] == [True, True]
    assert set(Attendance.objects.values_list("appointment_id", "outcome")) == {
        (good.pk, "attended"),
        (bad.pk, "excused"),
    }


def test_group_attendance_refuses_a_booking_not_on_the_session(
    db: None, programme: Programme
) -> None:
    session = factories.GroupSessionFactory(programme=programme)
    elsewhere = factories.AppointmentFactory(referral__programme=programme)
    staff = factories.provider_staff(programme.provider)

    with pytest.raises(DomainError, match="not on this session"):
        group_attendance_record(
            session=session, by=staff, outcomes={elsewhere.pk: GroupOutcome("attended")}
        )

    assert not Attendance.objects.exists()


# Completion


def two_session_referral(policy: SchemePolicy | None = None) -> tuple[Referral, User]:
    """An accepted referral to a programme needing two sessions, and its provider's staff."""
    programme = factories.ProgrammeFactory(sessions_required=2)
    fields = {"policy": policy} if policy else {}
    referral = factories.ReferralFactory(
        programme=programme, status="accepted", case__status="in_programme", **fields
    )
    return referral, factories.provider_staff(programme.provider)


def test_completion_before_the_required_sessions_is_refused_with_the_count(db: None) -> None:
    referral, staff = two_session_referral()
    attendance_record(
        appointment=factories.AppointmentFactory(referral=referral), by=staff, outcome="attended"
    )
    before = counts()

    with pytest.raises(DomainError) as refused:
        referral_complete(referral=referral, by=staff, completed_on=today())

    assert refused.value.field == "completed_on"
    assert refused.value.message.startswith("1 of the 2 required sessions attended")
    assert counts() == before
    assert reload(referral).status == ReferralStatus.IN_PROGRESS
    assert reload(referral.case).status == CaseStatus.IN_PROGRAMME


def test_late_does_not_count_towards_completion_where_the_policy_says_so(db: None) -> None:
    referral, staff = two_session_referral(factories.PolicyFactory(late_counts_as_attended=False))
    for outcome in ("attended", "late"):
        appointment = factories.AppointmentFactory(referral=referral)
        attendance_record(appointment=appointment, by=staff, outcome=outcome)

    with pytest.raises(DomainError, match="1 of the 2 required sessions"):
        referral_complete(referral=referral, by=staff, completed_on=today())

    assert reload(referral.case).status == CaseStatus.IN_PROGRAMME


def test_completion_in_the_future_is_refused(db: None) -> None:
    appointment = factories.AppointmentFactory()
    staff = factories.provider_staff(appointment.referral.programme.provider)
    attendance_record(appointment=appointment, by=staff, outcome="attended")
    before = counts()

    with pytest.raises(DomainError) as refused:
        referral_complete(
            referral=appointment.referral, by=staff, completed_on=today() + timedelta(days=1)
        )

    assert refused.value.field == "completed_on"
    assert counts() == before


@pytest.mark.parametrize(
    ("disposal", "home_office_outcome"),
    [("deferred_prosecution", 22), ("community_resolution", 8)],
)
def test_completion_closes_the_case_as_diverted_with_the_outcome_of_the_policy_disposal(
    db: None, disposal: str, home_office_outcome: int
) -> None:
    referral, staff = two_session_referral(factories.PolicyFactory(disposal=disposal))
    for outcome in ("attended", "late"):
        appointment = factories.AppointmentFactory(referral=referral)
        attendance_record(appointment=appointment, by=staff, outcome=outcome)

    referral_complete(referral=referral, by=staff, completed_on=today())

    referral = reload(referral)
    assert (referral.status, referral.completed_on) == ("completed", today())
    case = reload(referral.case)
    assert (case.status, case.outcome, case.home_office_outcome) == (
        "closed",
        "diverted",
        home_office_outcome,
    )
    assert case.closed_at is not None
    assert case.status_changes.latest("id").changed_by == staff


def test_a_completed_referral_cannot_be_completed_again(db: None) -> None:
    appointment = factories.AppointmentFactory()
    referral = appointment.referral
    staff = factories.provider_staff(referral.programme.provider)
    attendance_record(appointment=appointment, by=staff, outcome="attended")
    referral_complete(referral=referral, by=staff, completed_on=today())
    before = counts()

    with pytest.raises(IllegalTransition, match="only a referral in progress"):
        referral_complete(referral=referral, by=staff, completed_on=today())

    assert counts() == before
