"""Deadlines as plain functions: working days in England and Wales, in Europe/London.

A deadline is the last moment of its day in London (23:59:59), stored as an aware datetime,
so "before the deadline" means the same thing in summer and winter time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")


@cache
def _bank_holidays(year: int) -> frozenset[date]:
    # England and Wales share their bank holidays; "ENG" is the holidays package's name for it.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    """Monday to Friday, and not a bank holiday in England and Wales."""
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (`start` itself is not counted)."""
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def end_of_day(day: date) -> datetime:
    """The last second of `day` in Europe/London, as an aware datetime."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=LONDON)


def london_date(moment: datetime) -> date:
    """The calendar date in Europe/London of an aware datetime."""
    return moment.astimezone(LONDON).date()


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
    "new": frozenset({"accepted", "declined", "withdrawn"}),
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


def counts_as_attended(outcome: str, *, late_counts_as_attended: bool) -> bool:
    """Whether an attendance outcome counts towards the sessions a programme requires.

    Some schemes count arriving late as attending; others treat it as a failure to attend.
    """
    return outcome == "attended" or (outcome == "late" and late_counts_as_attended)


def counts_as_unexcused_absence(outcome: str, *, late_counts_as_attended: bool) -> bool:
    """Whether an outcome is an absence the person is answerable for."""
    return outcome == "did_not_attend" or (outcome == "late" and not late_counts_as_attended)


# Home Office crime outcome recorded when a diversion is completed, by the scheme's disposal.
# Outcome 22: diversionary, educational or intervention activity (deferred prosecution);
# outcome 8: community resolution; outcome 3: caution, adults (a conditional caution).
HOME_OFFICE_OUTCOME_BY_DISPOSAL = {
    "deferred_prosecution": 22,
    "community_resolution": 8,
    "conditional_caution": 3,
}


@dataclass(frozen=True)
class ReferralProgress:
    """What the deadline rules need to know about one open referral."""

    first_appointment_due: datetime
    completion_due: datetime
    attended_by_first_deadline: int
    unexcused_absences: int
    max_unexcused_absences: int


# When several rules fire at once, the escalation names the most serious; the facts keep all.
ESCALATION_RULES = ("too_many_absences", "completion_missed", "first_appointment_missed")


def breached_rules(progress: ReferralProgress, now: datetime) -> list[str]:
    """The deadline rules a referral breaks at `now`, most serious first.

    - first_appointment_missed: the first-appointment deadline has passed with no appointment
      attended (late counts where the policy says so) on or before it;
    - completion_missed: the completion deadline has passed (completed referrals are not
      checked at all);
    - too_many_absences: more unexcused absences than the policy allows.
    """
    fired = {
        "first_appointment_missed": now > progress.first_appointment_due
        and progress.attended_by_first_deadline == 0,
        "completion_missed": now > progress.completion_due,
        "too_many_absences": progress.unexcused_absences > progress.max_unexcused_absences,
    }
    return [rule for rule in ESCALATION_RULES if fired[rule]]
