"""The provider's rules as plain functions: deadlines of a referral (working days in England
and Wales, counted in Europe/London by `base.clock`), which status a referral may move to, and
what each attendance outcome counts as (in Python, and as SQL for set-based counting)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from base.clock import add_working_days, end_of_day


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
