"""The provider's rules as plain functions: deadlines of a referral (working days in England
and Wales, counted in Europe/London by `base.clock`), which status a referral may move to,
what the provider may do next with a referral or an appointment, and what each attendance
outcome counts as (in Python, and as SQL for set-based counting)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from base.clock import add_working_days, end_of_day, working_days_before

if TYPE_CHECKING:
    from accounts.models import User
    from programmes.models import Appointment, Referral


@dataclass(frozen=True)
class Deadlines:
    first_appointment_due: datetime
    completion_due: datetime


def compute_deadlines(
    *,
    referred_on: date,
    offence_date: date,
    counted_from: str,
    first_appointment_working_days: int,
    completion_days: int,
) -> Deadlines:
    """Deadlines for a referral under a policy.

    Counted from the offence or from the referral (`counted_from`: "offence" or "referral").
    The first appointment is due within N working days; completion within M calendar days,
    and never before the first appointment is due.
    """
    start = offence_date if counted_from == "offence" else referred_on
    first = add_working_days(start, first_appointment_working_days)
    completion = max(start + timedelta(days=completion_days), first)
    return Deadlines(first_appointment_due=end_of_day(first), completion_due=end_of_day(completion))


# Which status a referral may move to from each status.
REFERRAL_TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"accepted", "declined", "flagged", "withdrawn"}),
    "accepted": frozenset({"in_progress", "completed", "flagged", "withdrawn"}),
    "in_progress": frozenset({"completed", "flagged", "withdrawn"}),
    "flagged": frozenset({"new", "accepted", "in_progress", "withdrawn"}),
    "declined": frozenset(),
    "completed": frozenset(),
    "withdrawn": frozenset(),
}


def referral_can_transition(from_status: str, to_status: str) -> bool:
    """Whether a referral in `from_status` may move to `to_status`."""
    return to_status in REFERRAL_TRANSITIONS.get(from_status, frozenset())


# Statuses a referral never leaves: it has ended (declined, completed or withdrawn). Reaching
# one cancels the referral's future appointments (services.referral_transition), which takes
# the person off every group session's list.
ENDED = frozenset(status for status, moves in REFERRAL_TRANSITIONS.items() if not moves)
# Endings the provider did not make itself, so is told of by the outbox: the force withdrew
# the referral (a supervisor's decision to prosecute, re-refer or take no further action).
ENDINGS_TOLD_TO_PROVIDER = frozenset({"withdrawn"})


# What the provider may do next with a referral, and with one of its appointments. The
# provider's pages offer exactly these, and each service refuses an action not among them.
# A provider is expected to take a new referral on (or decline it) within this many working
# days of the referral; after that the force's supervisors see it waiting (escalations queue).
ACCEPT_WITHIN_WORKING_DAYS = 3


def acceptance_overdue_before(today: date) -> date:
    """A referral still new that was made before this day is waiting too long today."""
    return working_days_before(today, ACCEPT_WITHIN_WORKING_DAYS)


def acceptance_overdue(referred_on: date, today: date) -> bool:
    """Whether a referral made on `referred_on` and still new is waiting too long today."""
    return referred_on < acceptance_overdue_before(today)


ACCEPT = "accept"  # take a new referral on (services.referral_accept)
DECLINE = "decline"  # refuse a new referral, with a reason (services.referral_decline)
BOOK = "book"  # book an appointment or a group-session place (services.appointment_book)
COMPLETE = "complete"  # record completion (services.referral_complete)
RESCHEDULE = "reschedule"  # move an appointment (services.appointment_reschedule)
CANCEL = "cancel"  # cancel an appointment (services.appointment_cancel)
RECORD = "record"  # record or correct attendance (services.attendance_record)

# Referrals taken on and not ended: the person may be booked and attend, flagged ones too
# (while a supervisor decides, the provider keeps working with the person).
OPEN_TO_BOOKINGS = frozenset({"accepted", "in_progress", "flagged"})


def referral_actions(status: str, *, provider: bool) -> frozenset[str]:
    """What a user may do next with a referral in `status`.

    `provider`: the user is staff of the provider that runs the referral's programme; nobody
    else may do anything with it (the force refers; its supervisors decide escalations).

    - accept, decline: a new referral;
    - book: accepted, in progress or flagged;
    - complete: accepted or in progress (a flagged one waits for the supervisor's decision).
    """
    if not provider:
        return frozenset()
    actions = set()
    if status == "new":
        actions |= {ACCEPT, DECLINE}
    if status in OPEN_TO_BOOKINGS:
        actions.add(BOOK)
    if status in ("accepted", "in_progress"):
        actions.add(COMPLETE)
    return frozenset(actions)


def appointment_actions(
    *,
    provider: bool,
    booked: bool,
    attendance_recorded: bool,
    on_group_session: bool,
    started: bool,
    referral_status: str,
) -> frozenset[str]:
    """What a user may do next with an appointment.

    `provider` as for `referral_actions`; `booked`: not cancelled; `attendance_recorded`: an
    outcome is on record; `on_group_session`: a place on a group session; `started`: its start
    time has passed; `referral_status`: the status of its referral.

    - cancel: booked, no attendance recorded (after that, correct the attendance instead), and
      the referral not ended (its future appointments were cancelled when it ended);
    - reschedule: as cancel, and not a group-session place (that moves with its session);
    - record: booked, started, and the referral still open to bookings.
    """
    if not provider or not booked or referral_status in ENDED:
        return frozenset()
    actions = set()
    if not attendance_recorded:
        actions.add(CANCEL)
        if not on_group_session:
            actions.add(RESCHEDULE)
    if started and referral_status in OPEN_TO_BOOKINGS:
        actions.add(RECORD)
    return frozenset(actions)


def provides(referral: Referral, user: User) -> bool:
    """Whether `user` is staff of the provider that runs the referral's programme."""
    return user.is_provider_staff and user.provider_id == referral.programme.provider_id


def referral_actions_for(referral: Referral, user: User) -> frozenset[str]:
    """`referral_actions` for `user` and a referral (with its programme loaded)."""
    return referral_actions(referral.status, provider=provides(referral, user))


def appointment_actions_for(
    appointment: Appointment, user: User, *, attendance_recorded: bool, now: datetime
) -> frozenset[str]:
    """`appointment_actions` for `user` and an appointment (with its referral and programme
    loaded) at `now`; the caller says whether attendance is recorded, from what it has read."""
    return appointment_actions(
        provider=provides(appointment.referral, user),
        booked=appointment.status == "booked",
        attendance_recorded=attendance_recorded,
        on_group_session=appointment.group_session_id is not None,
        started=appointment.starts_at <= now,
        referral_status=appointment.referral.status,
    )


# What each attendance outcome counts as: (where the policy counts arriving late as attending,
# where it does not). "attended" counts towards the programme and the first appointment;
# "absence" is an unexcused absence, which the deadline sweep counts against the policy's
# limit; "" is neither (an excused absence, a session the provider cancelled).
OUTCOME_COUNTS: dict[str, tuple[str, str]] = {
    "attended": ("attended", "attended"),
    "late": ("attended", "absence"),
    "did_not_attend": ("absence", "absence"),
    "excused": ("", ""),
    "cancelled_by_provider": ("", ""),
}


def counts_as(outcome: str, *, late_counts_as_attended: bool) -> str:
    """What an attendance outcome counts as under a policy: "attended", "absence" or ""."""
    if_late_counts, if_late_does_not = OUTCOME_COUNTS[outcome]
    return if_late_counts if late_counts_as_attended else if_late_does_not


def counts_as_attended(outcome: str, *, late_counts_as_attended: bool) -> bool:
    """Whether an attendance outcome counts towards the sessions a programme requires.

    Some schemes count arriving late as attending; others treat it as a failure to attend.
    """
    return counts_as(outcome, late_counts_as_attended=late_counts_as_attended) == "attended"


def counts_as_sql(what: str, *, outcome: str, late_counts_as_attended: str) -> str:
    """`counts_as(...) == what` as a SQL condition, on the columns (or expressions) named.

    Generated from OUTCOME_COUNTS, so the SQL that counts attendance in bulk (the deadline
    sweep) and the Python that counts one referral's cannot drift apart.
    """

    def quoted(outcomes: list[str]) -> str:
        return ", ".join(f"'{o}'" for o in outcomes) or "NULL"

    if_late_counts = [o for o, (counted, _) in OUTCOME_COUNTS.items() if counted == what]
    if_late_does_not = [o for o, (_, counted) in OUTCOME_COUNTS.items() if counted == what]
    return (
        f"(CASE WHEN {late_counts_as_attended} THEN {outcome} IN ({quoted(if_late_counts)}) "
        f"ELSE {outcome} IN ({quoted(if_late_does_not)}) END)"
    )


# Home Office crime outcome recorded when a diversion is completed, by the scheme's disposal.
# Outcome 22: diversionary, educational or intervention activity (deferred prosecution);
# outcome 8: community resolution; outcome 3: caution, adults (a conditional caution).
HOME_OFFICE_OUTCOME_BY_DISPOSAL = {
    "deferred_prosecution": 22,
    "community_resolution": 8,
    "conditional_caution": 3,
}
