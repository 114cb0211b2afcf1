"""The clock of England and Wales: dates in Europe/London and working days.

A deadline is the last moment of its day in London (23:59:59), stored as an aware datetime,
so "before the deadline" means the same thing in summer and winter time.
"""

from __future__ import annotations

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


def working_days_before(day: date, days: int) -> date:
    """The date `days` working days before `day` (`day` itself is not counted): the start
    that add_working_days would take to `day`, for a working day."""
    counted = 0
    while counted < days:
        day -= timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def end_of_day(day: date) -> datetime:
    """The last second of `day` in Europe/London, as an aware datetime."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=LONDON)


def london_date(moment: datetime) -> date:
    """The calendar date in Europe/London of an aware datetime."""
    return moment.astimezone(LONDON).date()


def london_day_in_words(moment: datetime | None) -> str:
    """ "Friday 13 November 2026": the day of `moment` in Europe/London, for a sentence."""
    if moment is None:
        return "an unrecorded date"
    day = london_date(moment)
    return f"{day:%A} {day.day} {day:%B %Y}"
