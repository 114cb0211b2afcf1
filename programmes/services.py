"""Writes for referrals: each one transaction, with history and audit rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_many, audit_record
from base.clock import LONDON, london_date
from base.errors import DomainError, IllegalTransition
from base.sql import Statement
from cases import rules as case_rules
from cases.models import Case, CaseOutcome, CaseStatus
from cases.services import (
    assignment_record,
    case_lock,
    case_transition,
    next_reference,
    transition_record,
    transition_rows,
)
from programmes import rules
from programmes.models import (
    NOTE_MAX_LENGTH,
    Appointment,
    AppointmentChange,
    Attendance,
    GroupSession,
    Programme,
    ProgrammeReport,
    Referral,
    ReferralAssignment,
    ReferralNote,
    ReferralStatus,
    ReferralStatusChange,
)
from programmes.notifications import (
    OutboxMessage,
    officer_told_referral_declined,
    outbox_queue,
    provider_told_referral_ended,
)
from programmes.rules import (
    HOME_OFFICE_OUTCOME_BY_DISPOSAL,
    compute_deadlines,
    counts_as_attended,
    referral_can_transition,
)
from programmes.selectors import concern_recipients


def referral_create(*, case: Case, programme: Programme, by: User) -> Referral:
    """Refer a case whose offer was accepted to a programme serving its force.

    The deadlines come from the policy version that decided eligibility, counted from the
    offence or the referral as that policy says, in Europe/London working days.
    """
    if not case_rules.works_on(case, by):
        raise DomainError("Only the case's force can refer it to a programme.", code="forbidden")
    with transaction.atomic():
        case = case_lock(case)
        if case_rules.REFER not in case_rules.case_actions_for(case, by):
            raise IllegalTransition(
                f"Case {case.reference} is {case.get_status_display().lower()}: only a case "
                "whose offer was accepted can be referred."
            )
        policy = case.eligibility_decisions.select_related("policy").latest().policy
        referral = referral_open(case=case, programme=programme, policy=policy, by=by)
        case_transition(
            case=case, to=CaseStatus.REFERRED, by=by, reason=f"Referred to {programme.name}"
        )
    return referral


def referral_open(*, case: Case, programme: Programme, policy, by: User) -> Referral:
    """Create a referral with its deadlines, its first history row and its audit row."""
    if not programme.is_active or not programme.forces_served.filter(pk=case.force_id).exists():
        raise DomainError(
            f"{programme.name} does not take referrals from {case.force.name}: choose one "
            "of the programmes listed.",
            field="programme",
        )
    deadlines = compute_deadlines(
        referred_on=london_date(timezone.now()),
        offence_date=case.offence_date,
        counted_from=policy.deadlines_from,
        first_appointment_working_days=policy.first_appointment_working_days,
        completion_days=policy.completion_days,
    )
    referral = Referral.objects.create(
        reference=next_reference("R", "referral_reference_seq"),
        case=case,
        programme=programme,
        policy=policy,
        first_appointment_due=deadlines.first_appointment_due,
        completion_due=deadlines.completion_due,
        referred_by=by,
    )
    ReferralStatusChange.objects.create(
        referral=referral, from_status="", to_status=ReferralStatus.NEW, changed_by=by
    )
    audit_record(
        user=by,
        action="create",
        obj=referral,
        object_id=referral.reference,
        person_id=case.person_id,
        changes={
            "after": {
                "case": case.reference,
                "programme": programme.name,
                "first_appointment_due": deadlines.first_appointment_due.isoformat(),
                "completion_due": deadlines.completion_due.isoformat(),
            }
        },
    )
    return referral


def _require_provider(user: User, referral: Referral) -> None:
    """Only staff of the provider that runs the referral's programme may act on it."""
    if not rules.provides(referral, user):
        raise DomainError("Only the programme's provider can do this.", code="forbidden")


def referral_lock(referral: Referral) -> Referral:
    """Re-read a referral under a row lock, with what its checks need."""
    return (
        Referral.objects.select_for_update(of=("self",))
        .select_related("programme", "policy", "case")
        .get(pk=referral.pk)
    )


def _when(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local.day} {local:%B %Y} at {local:%H:%M}"


def _cannot_become(referral: Referral, to: str) -> IllegalTransition:
    return IllegalTransition(
        f"Referral {referral.reference} is {referral.get_status_display().lower()}; it "
        f"cannot become “{ReferralStatus(to).label.lower()}”."
    )


def referral_transition(
    *, referral: Referral, to: str, by: User | None, reason: str = "", end_reason: str = ""
) -> Referral:
    """Move a locked referral to `to`, writing history and audit rows. Call inside atomic.

    Reaching an ended status (rules.ENDED: declined, completed, withdrawn) records when, with
    `end_reason` (what the provider is told), and cancels the referral's future appointments
    with that reason, which takes the person off every group session's list. When the force
    ended it (rules.ENDINGS_TOLD_TO_PROVIDER), the provider is told through the outbox.
    """
    if not referral_can_transition(referral.status, to):
        raise _cannot_become(referral, to)
    previous = referral.status
    referral.status = to
    now = timezone.now()
    if to in rules.ENDED:
        referral.ended_at = now
        referral.end_reason = end_reason
    referral.save(
        update_fields=[
            "status",
            "updated_at",
            "decline_reason",
            "completed_on",
            "ended_at",
            "end_reason",
        ]
    )
    transition_record(
        history=ReferralStatusChange,
        obj=referral,
        person_id=referral.case.person_id,
        from_status=previous,
        to=to,
        by=by,
        reason=reason,
    )
    if to in rules.ENDED:
        label = ReferralStatus(to).label
        cancelled = _cancel_future_appointments(
            referral,
            by=by,
            reason=f"Referral {label[0].lower()}{label[1:]}"
            + (f": {end_reason}" if end_reason else ""),
            now=now,
        )
        if to in rules.ENDINGS_TOLD_TO_PROVIDER:
            provider_told_referral_ended(referral, cancelled=cancelled, now=now)
    return referral


def _cancel_future_appointments(
    referral: Referral, *, by: User | None, reason: str, now: datetime
) -> list[Appointment]:
    """Cancel a referral's booked appointments that have not started, with `reason`: one
    UPDATE, their history rows and their audit rows. Returns them, in time order."""
    cancelled = list(
        Appointment.objects.select_for_update(of=("self",))
        .filter(referral=referral, status=Appointment.Status.BOOKED, starts_at__gt=now)
        .order_by("starts_at", "id")
    )
    if not cancelled:
        return []
    Appointment.objects.filter(pk__in=[a.pk for a in cancelled]).update(
        status=Appointment.Status.CANCELLED, updated_at=now
    )
    AppointmentChange.objects.bulk_create(
        AppointmentChange(
            appointment=appointment,
            kind=AppointmentChange.Kind.CANCELLED,
            starts_at_before=appointment.starts_at,
            reason=reason,
            changed_by=by,
            changed_at=now,
        )
        for appointment in cancelled
    )
    audit_many(
        user=by,
        action="change",
        object_type="programmes.appointment",
        rows=[(str(a.pk), referral.case.person_id) for a in cancelled],
        changes={"before": {"status": "booked"}, "after": {"status": "cancelled"}},
        reason=reason,
    )
    for appointment in cancelled:
        appointment.status = Appointment.Status.CANCELLED
    return cancelled


def referral_transition_many(
    statement: Statement, *, moves: str, to: str, by: User | None, at: datetime
) -> str:
    """The set-based form of referral_transition, as steps of `statement`.

    Every referral in `moves` (a step with id, from_status, person_id (of its case), reason,
    and audit_after: a JSON object added to the audit row's "after") that is still in
    from_status, and may move to `to`, moves there: one UPDATE, one INSERT of history rows and
    one of audit rows, the same rows referral_transition writes for one. Returns the step
    listing the referrals moved (id, reference, case_id, person_id, from_status, reason,
    audit_after). Ending referrals (rules.ENDED) is done one at a time, with referral_transition:
    each cancels its appointments and may tell its provider.
    """
    if to in rules.ENDED:
        raise ValueError("End referrals one at a time with referral_transition.")
    moved = statement.add(
        "referral_moved",
        f"""
        UPDATE programmes_referral r SET status = %(referral_to)s, updated_at = %(referral_at)s
        FROM {moves} m
        WHERE r.id = m.id AND r.status = m.from_status AND m.from_status IN %(referral_may_move)s
        RETURNING r.id, r.reference, r.case_id, m.person_id, m.from_status, m.reason,
                  m.audit_after
        """,  # noqa: S608 (step names and constants, no input)
        referral_to=to,
        referral_at=at,
        referral_may_move=tuple(s for s in ReferralStatus.values if referral_can_transition(s, to)),
    )
    transition_rows(statement, history=ReferralStatusChange, moved=moved, to=to, by=by, at=at)
    return moved


def _touch(referral: Referral) -> None:
    """Mark the referral changed, for provider systems that ask what changed since a time."""
    Referral.objects.filter(pk=referral.pk).update(updated_at=timezone.now())


def referral_accept(*, referral: Referral, by: User) -> Referral:
    """The provider takes the referral on; the case is now in the programme."""
    _require_provider(by, referral)
    with transaction.atomic():
        referral = referral_lock(referral)
        if rules.ACCEPT not in rules.referral_actions_for(referral, by):
            raise _cannot_become(referral, ReferralStatus.ACCEPTED)
        referral_transition(referral=referral, to=ReferralStatus.ACCEPTED, by=by)
        case = case_lock(referral.case)
        case_transition(
            case=case,
            to=CaseStatus.IN_PROGRAMME,
            by=by,
            reason=f"Accepted by {referral.programme.provider.name}",
        )
    return referral


def referral_decline(*, referral: Referral, by: User, reason: str) -> Referral:
    """The provider cannot take the referral; the force sees why and can refer again."""
    _require_provider(by, referral)
    reason = reason.strip()
    if not reason:
        raise DomainError(
            "Give the reason for declining, so the force can act on it.", field="reason"
        )
    with transaction.atomic():
        referral = referral_lock(referral)
        if rules.DECLINE not in rules.referral_actions_for(referral, by):
            raise _cannot_become(referral, ReferralStatus.DECLINED)
        referral.decline_reason = reason
        referral_transition(referral=referral, to=ReferralStatus.DECLINED, by=by, reason=reason)
        case = case_lock(referral.case)
        case_transition(
            case=case,
            to=CaseStatus.ACCEPTED,
            by=by,
            reason=f"Referral {referral.reference} declined by "
            f"{referral.programme.provider.name}: {reason}. Refer to another programme.",
        )
        officer_told_referral_declined(referral, now=timezone.now())
    return referral


def _check_future(starts_at: datetime, what: str = "appointment") -> None:
    if starts_at <= timezone.now():
        raise DomainError(f"The {what} must start in the future.", field="starts_at")


def appointment_book(
    *,
    referral: Referral,
    by: User,
    starts_at: datetime | None = None,
    kind: str = Appointment.Kind.SESSION,
    mode: str = Appointment.Mode.IN_PERSON,
    location: str = "",
    group_session: GroupSession | None = None,
) -> Appointment:
    """Book an appointment for an accepted referral, alone or on a group session."""
    _require_provider(by, referral)
    if group_session is not None:
        if group_session.programme_id != referral.programme_id:
            raise DomainError("That group session is for another programme.", field="group_session")
        starts_at = group_session.starts_at
        mode = Appointment.Mode.ONLINE if group_session.online else Appointment.Mode.IN_PERSON
        location = location or group_session.location
    if starts_at is None:
        raise DomainError("Enter the date and time of the appointment.", field="starts_at")
    if kind not in Appointment.Kind.values:
        raise DomainError("Choose assessment or session.", field="kind")
    if mode not in Appointment.Mode.values:
        raise DomainError("Choose in person or online.", field="mode")
    _check_future(starts_at)
    with transaction.atomic():
        referral = referral_lock(referral)
        if rules.BOOK not in rules.referral_actions_for(referral, by):
            raise IllegalTransition(
                f"Referral {referral.reference} is {referral.get_status_display().lower()}: "
                "accept it before booking appointments."
            )
        if (
            group_session
            and referral.appointments.filter(
                group_session=group_session, status=Appointment.Status.BOOKED
            ).exists()
        ):
            raise DomainError(
                "This person is already booked on that session.", field="group_session"
            )
        appointment = Appointment.objects.create(
            referral=referral,
            group_session=group_session,
            starts_at=starts_at,
            kind=kind,
            mode=mode,
            location=location,
            booked_by=by,
        )
        _touch(referral)
        audit_record(
            user=by,
            action="create",
            obj=appointment,
            person_id=referral.case.person_id,
            changes={
                "after": {
                    "referral": referral.reference,
                    "starts_at": _when(starts_at),
                    "kind": kind,
                    "mode": mode,
                }
            },
        )
    return appointment


def _lock_appointment(
    appointment: Appointment, by: User, *, with_referral: bool = False
) -> Appointment:
    """Re-read an appointment under a row lock (and its referral's row too, `with_referral`),
    with its referral, programme, policy and case, in one statement."""
    locked = (
        Appointment.objects.select_for_update(
            of=("self", "referral") if with_referral else ("self",)
        )
        .select_related("referral__programme", "referral__policy", "referral__case")
        .get(pk=appointment.pk)
    )
    _require_provider(by, locked.referral)
    return locked


def _appointment_actions(
    appointment: Appointment, by: User, *, attendance_recorded: bool | None = None
) -> frozenset[str]:
    """What `by` may do with a locked appointment now (programmes/rules.py)."""
    if attendance_recorded is None:
        attendance_recorded = appointment.attendance.exists()
    return rules.appointment_actions_for(
        appointment, by, attendance_recorded=attendance_recorded, now=timezone.now()
    )


def _refuse_if_ended(referral: Referral) -> None:
    if referral.status in rules.ENDED:
        raise IllegalTransition(
            f"Referral {referral.reference} is {referral.get_status_display().lower()}: its "
            "appointments can no longer change."
        )


def appointment_reschedule(
    *, appointment: Appointment, by: User, starts_at: datetime, reason: str = ""
) -> Appointment:
    """Move a booked appointment that has no attendance yet to a new, future time."""
    _check_future(starts_at)
    with transaction.atomic():
        appointment = _lock_appointment(appointment, by)
        if rules.RESCHEDULE not in _appointment_actions(appointment, by):
            # Why not, in the order the provider can act on it.
            if appointment.status != Appointment.Status.BOOKED:
                raise IllegalTransition("A cancelled appointment cannot be moved: book a new one.")
            _refuse_if_ended(appointment.referral)
            if appointment.group_session_id:
                raise DomainError(
                    "A group-session booking moves with its session: cancel it and "
                    "book another session instead.",
                    field="starts_at",
                )
            raise IllegalTransition("Attendance is already recorded for this appointment.")
        before = appointment.starts_at
        appointment.starts_at = starts_at
        appointment.save(update_fields=["starts_at", "updated_at"])
        AppointmentChange.objects.create(
            appointment=appointment,
            kind=AppointmentChange.Kind.MOVED,
            starts_at_before=before,
            starts_at_after=starts_at,
            reason=reason.strip(),
            changed_by=by,
        )
        _touch(appointment.referral)
        audit_record(
            user=by,
            action="change",
            obj=appointment,
            person_id=appointment.referral.case.person_id,
            changes={
                "before": {"starts_at": _when(before)},
                "after": {"starts_at": _when(starts_at)},
            },
            reason=reason,
        )
    return appointment


def appointment_cancel(*, appointment: Appointment, by: User, reason: str = "") -> Appointment:
    """Cancel a booked appointment before attendance is recorded."""
    with transaction.atomic():
        appointment = _lock_appointment(appointment, by)
        if rules.CANCEL not in _appointment_actions(appointment, by):
            if appointment.status != Appointment.Status.BOOKED:
                raise IllegalTransition("This appointment is already cancelled.")
            _refuse_if_ended(appointment.referral)
            raise IllegalTransition(
                "Attendance is already recorded for this appointment: correct the attendance "
                "instead (for example, cancelled by the provider)."
            )
        appointment.status = Appointment.Status.CANCELLED
        appointment.save(update_fields=["status", "updated_at"])
        AppointmentChange.objects.create(
            appointment=appointment,
            kind=AppointmentChange.Kind.CANCELLED,
            starts_at_before=appointment.starts_at,
            reason=reason.strip(),
            changed_by=by,
        )
        _touch(appointment.referral)
        audit_record(
            user=by,
            action="change",
            obj=appointment,
            person_id=appointment.referral.case.person_id,
            changes={"before": {"status": "booked"}, "after": {"status": "cancelled"}},
            reason=reason,
        )
    return appointment


@dataclass(frozen=True)
class AttendanceResult:
    attendance: Attendance
    created: bool
    history: list[Attendance]  # every row of the appointment's, oldest first, `attendance` too


def _check_attendance(
    appointment: Appointment, by: User, outcome: str, reason: str, *, recorded: bool
) -> None:
    if outcome not in Attendance.Outcome.values:
        choices = ", ".join(label.lower() for label in Attendance.Outcome.labels)
        raise DomainError(f"Choose one of: {choices}.", field="outcome")
    if outcome == Attendance.Outcome.EXCUSED and not reason:
        raise DomainError("Give the reason the absence is excused.", field="reason")
    if rules.RECORD in _appointment_actions(appointment, by, attendance_recorded=recorded):
        return
    if appointment.status != Appointment.Status.BOOKED:
        raise IllegalTransition("The appointment was cancelled: there is no attendance to record.")
    if appointment.referral.status not in rules.OPEN_TO_BOOKINGS:
        raise IllegalTransition(
            f"Referral {appointment.referral.reference} is "
            f"{appointment.referral.get_status_display().lower()}: its attendance can no "
            "longer change."
        )
    raise DomainError(
        f"The appointment has not started yet (it starts {_when(appointment.starts_at)}): "
        "attendance can be recorded once it has.",
        field="outcome",
    )


def _attendance_locked(
    appointment: Appointment, by: User, outcome: str, reason: str, correction_reason: str
) -> AttendanceResult:
    """Record one outcome on a locked appointment. Call inside transaction.atomic."""
    reason = reason.strip() if outcome == Attendance.Outcome.EXCUSED else ""
    history = list(
        appointment.attendance.select_related("recorded_by").order_by("recorded_at", "id")
    )
    current = next((row for row in history if row.is_current), None)
    _check_attendance(appointment, by, outcome, reason, recorded=current is not None)
    if current is not None and current.outcome == outcome and current.reason == reason:
        # A retry: the same result.
        return AttendanceResult(attendance=current, created=False, history=history)
    if current is not None:
        if not correction_reason.strip():
            raise DomainError(
                f"Attendance is already recorded as “{current.get_outcome_display().lower()}”: "
                "give a reason for the correction.",
                field="correction_reason",
            )
        Attendance.objects.filter(pk=current.pk).update(is_current=False)
        current.is_current = False
    attendance = Attendance.objects.create(
        appointment=appointment,
        outcome=outcome,
        reason=reason,
        correction_reason=correction_reason.strip() if current else "",
        recorded_by=by,
    )
    referral = appointment.referral
    late_ok = referral.policy.late_counts_as_attended
    if referral.status == ReferralStatus.ACCEPTED and counts_as_attended(
        outcome, late_counts_as_attended=late_ok
    ):
        referral_transition(
            referral=referral, to=ReferralStatus.IN_PROGRESS, by=by, reason="First attendance"
        )
    else:
        _touch(referral)
    audit_record(
        user=by,
        action="change" if current else "create",
        obj=attendance,
        person_id=referral.case.person_id,
        changes={
            "before": {"outcome": current.outcome} if current else {},
            "after": {"outcome": outcome, "reason": reason},
        },
        reason=correction_reason,
    )
    return AttendanceResult(attendance=attendance, created=True, history=[*history, attendance])


def attendance_record(
    *,
    appointment: Appointment,
    by: User,
    outcome: str,
    reason: str = "",
    correction_reason: str = "",
) -> AttendanceResult:
    """Record attendance at an appointment that has started.

    Recording the outcome that is already current changes nothing and returns it (a retry
    after a lost response); a different outcome is a correction, which needs a reason and
    keeps the earlier row in the history.
    """
    with transaction.atomic():
        appointment = _lock_appointment(appointment, by, with_referral=True)
        return _attendance_locked(appointment, by, outcome, reason, correction_reason)


@dataclass(frozen=True)
class GroupOutcome:
    outcome: str
    reason: str = ""
    correction_reason: str = ""


def group_session_create(
    *,
    programme: Programme,
    by: User,
    starts_at: datetime,
    ends_at: datetime,
    location: str = "",
    online: bool = False,
) -> GroupSession:
    """Schedule a sitting of a programme that several people can be booked on."""
    if not by.is_provider_staff or by.provider_id != programme.provider_id:
        raise DomainError("Only the programme's provider can do this.", code="forbidden")
    _check_future(starts_at, "session")
    if ends_at <= starts_at:
        raise DomainError("The session must end after it starts.", field="ends_at")
    session = GroupSession.objects.create(
        programme=programme,
        starts_at=starts_at,
        ends_at=ends_at,
        location=location,
        online=online,
    )
    audit_record(
        user=by,
        action="create",
        obj=session,
        changes={"after": {"programme": programme.name, "starts_at": _when(starts_at)}},
    )
    return session


def group_attendance_record(
    *, session: GroupSession, by: User, outcomes: Mapping[int, GroupOutcome]
) -> list[AttendanceResult]:
    """Record everyone booked on one group session in one go: all saved, or none.

    `outcomes` maps appointment ids on the session to their outcome; an id that is not booked
    on this session is refused. Errors name the person's booking so the form can show them.
    """
    with transaction.atomic():
        appointments = {
            a.pk: a
            for a in Appointment.objects.select_for_update(of=("self",))
            .filter(group_session=session, pk__in=list(outcomes))
            .select_related("referral__programme", "referral__policy", "referral__case")
            .order_by("pk")
        }
        unknown = set(outcomes) - set(appointments)
        if unknown:
            raise DomainError("Some bookings are not on this session.", field="outcomes")
        results = []
        for pk, given in outcomes.items():
            appointment = appointments[pk]
            _require_provider(by, appointment.referral)
            appointment.referral = referral_lock(appointment.referral)
            try:
                results.append(
                    _attendance_locked(
                        appointment, by, given.outcome, given.reason, given.correction_reason
                    )
                )
            except DomainError as error:
                error.row_field = error.field  # which input in the row, for the page
                error.field = f"appointment_{pk}"
                raise
    return results


def referral_complete(*, referral: Referral, by: User, completed_on: date) -> Referral:
    """Record that the person completed the programme; the case closes as diverted.

    Needs the programme's required sessions attended (late counts only where the policy says
    so). The Home Office outcome follows the scheme's disposal (22 for deferred prosecution).
    """
    _require_provider(by, referral)
    today = london_date(timezone.now())
    if completed_on > today:
        raise DomainError("The completion date cannot be in the future.", field="completed_on")
    with transaction.atomic():
        referral = referral_lock(referral)
        if completed_on < london_date(referral.referred_at):
            raise DomainError(
                "The completion date is before the referral was made.", field="completed_on"
            )
        if rules.COMPLETE not in rules.referral_actions_for(referral, by):
            raise IllegalTransition(
                f"Referral {referral.reference} is {referral.get_status_display().lower()}: "
                "only a referral in progress can be completed."
            )
        attended = attended_sessions(referral)
        required = referral.programme.sessions_required
        if attended < required:
            raise DomainError(
                f"{attended} of the {required} required session"
                f"{'s' if required != 1 else ''} attended: completion can be recorded once "
                "they all are.",
                field="completed_on",
            )
        referral.completed_on = completed_on
        referral_transition(
            referral=referral,
            to=ReferralStatus.COMPLETED,
            by=by,
            reason=f"Completed on {completed_on:%d %B %Y}",
        )
        case = case_lock(referral.case)
        case_transition(
            case=case,
            to=CaseStatus.CLOSED,
            by=by,
            reason=f"Completed {referral.programme.name}",
            outcome=CaseOutcome.DIVERTED,
            home_office_outcome=HOME_OFFICE_OUTCOME_BY_DISPOSAL[referral.policy.disposal],
        )
    return referral


def attended_sessions(referral: Referral) -> int:
    """How many booked appointments count as attended under the referral's policy."""
    outcomes = Attendance.objects.filter(
        appointment__referral=referral,
        appointment__status=Appointment.Status.BOOKED,
        is_current=True,
    ).values_list("outcome", flat=True)
    late_ok = referral.policy.late_counts_as_attended
    return sum(counts_as_attended(o, late_counts_as_attended=late_ok) for o in outcomes)


# --- Between force and provider: notes and concerns, caseworkers, end-of-programme reports ---


def _text(text: str, *, what: str, field: str, limit: int = NOTE_MAX_LENGTH) -> str:
    """Free text, stripped; empty or over `limit` characters is refused, saying which."""
    text = (text or "").strip()
    if not text:
        raise DomainError(f"Enter the {what}.", field=field)
    if len(text) > limit:
        raise DomainError(
            f"The {what} must be {limit:,} characters or fewer (it has {len(text):,}): "
            "shorten it, or split it into two.",
            field=field,
        )
    return text


def note_add(
    *,
    referral: Referral,
    by: User,
    body: str,
    visibility: str | None = None,
    concern_category: str = "",
) -> ReferralNote:
    """Add a note to a referral, read by the force only or by both sides (rules.note_rights).

    A provider's note may be a concern with a category: the referring officer and the force's
    supervisors are sent a message through the outbox (after commit), the case list marks the
    case, and the concern sits beside the breach on an escalation. `visibility` None: the
    first the writer may choose (force only for the force's staff, shared for the provider's).
    """
    can = rules.note_rights_for(referral, by)
    if not can.may_write:
        raise DomainError(
            "Only the force or the programme's provider can do this.", code="forbidden"
        )
    body = _text(body, what="note", field="body")
    visibility = visibility or can.visibilities[0]
    if visibility not in can.visibilities:
        labels = " or ".join(ReferralNote.Visibility(v).label.lower() for v in can.visibilities)
        raise DomainError(f"Choose who may read the note: {labels}.", field="visibility")
    if concern_category:
        if not can.concern:
            raise DomainError(
                "Only the programme's provider raises concerns: add a note instead.",
                field="concern_category",
            )
        if concern_category not in ReferralNote.Category.values:
            choices = ", ".join(label.lower() for label in ReferralNote.Category.labels)
            raise DomainError(f"Choose the kind of concern: {choices}.", field="concern_category")
    with transaction.atomic():
        referral = referral_lock(referral)
        note = ReferralNote(
            referral=referral,
            body=body,
            visibility=visibility,
            concern_category=concern_category,
            written_by=by,
            written_for_provider_id=by.provider_id if by.is_provider_staff else None,
        )
        note.full_clean()
        note.save()
        if visibility == rules.SHARED:
            _touch(referral)  # provider systems following updated_since see it
        audit_record(
            user=by,
            action="create",
            obj=note,
            person_id=referral.case.person_id,
            # Not the text: the audit log outlives the personal data a note may hold.
            changes={
                "after": {
                    "referral": referral.reference,
                    "visibility": visibility,
                    "concern": concern_category,
                }
            },
        )
        if concern_category:
            _tell_force_of_concern(note, referral)
    return note


def _tell_force_of_concern(note: ReferralNote, referral: Referral) -> None:
    """Queue a message to the referring officer and the force's supervisors (once each)."""
    category = note.get_concern_category_display().lower()
    provider = referral.programme.provider.name
    messages = [
        OutboxMessage(
            kind="concern_raised",
            channel="email",
            recipient=recipient.email,
            subject=f"Concern raised on referral {referral.reference}",
            # No name or detail of the person: the message leaves the system by email.
            body=(
                f"{provider} raised a concern ({category}) on referral {referral.reference} "
                f"(case {referral.case.reference}). Sign in to read it on the case page."
            ),
            dedupe_key=f"concern:{note.pk}:{recipient.pk}",
            referral_id=referral.pk,
        )
        for recipient in concern_recipients(referral)
    ]
    outbox_queue(messages, now=timezone.now())


def caseworker_refused(referral: Referral) -> DomainError:
    """The refusal of a caseworker who is not active staff of the referral's provider."""
    return DomainError(
        f"Choose a caseworker of {referral.programme.provider.name}: only its programme staff "
        "can be given its referrals.",
        field="assigned_to",
    )


def referral_assign(*, referral: Referral, by: User, to: User | None) -> Referral:
    """Give an open referral to a caseworker of its provider, or to nobody (`to` None).

    The provider's staff assign and reassign; the caseworker must be active staff of the same
    provider. Each change adds a row to the assignment history; assigning the caseworker it
    already has changes nothing.
    """
    _require_provider(by, referral)
    if to is not None and not rules.may_be_caseworker(to, referral):
        raise caseworker_refused(referral)
    with transaction.atomic():
        referral = referral_lock(referral)
        if rules.ASSIGN not in rules.referral_actions_for(referral, by):
            raise IllegalTransition(
                f"Referral {referral.reference} is {referral.get_status_display().lower()}: "
                "only an open referral can be given to a caseworker."
            )
        assignment_record(
            history=ReferralAssignment,
            obj=referral,
            person_id=referral.case.person_id,
            to=to,
            by=by,
        )
    return referral


def programme_report_file(
    *,
    referral: Referral,
    by: User,
    outcome: str,
    summary: str,
    onward_referral: str = ProgrammeReport.Onward.NONE,
    onward_detail: str = "",
) -> ProgrammeReport:
    """File the end-of-programme report on a referral that completed or ended early.

    The sessions attended and required are counted here, from the attendance on record, so
    the report agrees with the referral. Filed once; the force sees it on the case page, in
    the case's timeline and in the supervisor's printable summary.
    """
    _require_provider(by, referral)
    summary = _text(summary, what="summary for the force", field="summary")
    onward_detail = (onward_detail or "").strip()
    if onward_referral not in ProgrammeReport.Onward.values:
        raise DomainError("Choose the onward referral, or none.", field="onward_referral")
    if len(onward_detail) > 200:
        raise DomainError(
            "The onward referral's details must be 200 characters or fewer.",
            field="onward_detail",
        )
    with transaction.atomic():
        referral = referral_lock(referral)
        reported = ProgrammeReport.objects.filter(referral=referral).exists()
        if rules.REPORT not in rules.referral_actions_for(referral, by, reported=reported):
            if reported:
                raise IllegalTransition(
                    f"The end-of-programme report on referral {referral.reference} is filed "
                    "already."
                )
            raise IllegalTransition(
                f"Referral {referral.reference} is {referral.get_status_display().lower()}: "
                "the end-of-programme report is filed once it completes or ends."
            )
        allowed = rules.report_outcomes(referral.status)
        if outcome not in allowed:
            labels = " or ".join(ProgrammeReport.Outcome(o).label.lower() for o in allowed)
            raise DomainError(f"Choose the outcome: {labels}.", field="outcome")
        report = ProgrammeReport(
            referral=referral,
            sessions_attended=attended_sessions(referral),
            sessions_required=referral.programme.sessions_required,
            outcome=outcome,
            summary=summary,
            onward_referral=onward_referral,
            onward_detail=onward_detail,
            filed_by=by,
        )
        report.full_clean()
        report.save()
        _touch(referral)
        audit_record(
            user=by,
            action="create",
            obj=report,
            person_id=referral.case.person_id,
            changes={
                "after": {
                    "referral": referral.reference,
                    "outcome": outcome,
                    "sessions_attended": report.sessions_attended,
                    "onward_referral": onward_referral,
                }
            },
        )
    return report
