"""Deadlines as plain values: working days in England and Wales, the last second in London."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from base.clock import LONDON, add_working_days, end_of_day, is_working_day, london_date
from programmes.rules import compute_deadlines


def test_ten_working_days_from_18_december_skip_christmas_boxing_day_and_new_year() -> None:
    # 25 Dec 2026 is a Friday, Boxing Day a Saturday (observed Monday 28th), 1 Jan 2027 a Friday.
    assert add_working_days(date(2026, 12, 18), 10) == date(2027, 1, 6)


@pytest.mark.parametrize(
    "holiday",
    [date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1), date(2027, 3, 29)],
)
def test_bank_holidays_are_not_working_days(holiday: date) -> None:
    assert not is_working_day(holiday)


def test_boxing_day_on_a_saturday_is_not_a_working_day_and_nor_is_its_substitute() -> None:
    assert not is_working_day(date(2026, 12, 26))
    assert not is_working_day(date(2026, 12, 28))
    assert is_working_day(date(2026, 12, 29))


def test_working_days_skip_a_bank_holiday_monday() -> None:
    # Spring bank holiday: Monday 25 May 2026.
    assert add_working_days(date(2026, 5, 22), 1) == date(2026, 5, 26)


def test_working_days_skip_good_friday_and_easter_monday() -> None:
    # Good Friday 26 March 2027, Easter Monday 29 March 2027.
    assert add_working_days(date(2027, 3, 25), 1) == date(2027, 3, 30)


@pytest.mark.parametrize(
    "start",
    [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)],
    ids=["friday", "saturday", "sunday"],
)
def test_one_working_day_from_friday_or_the_weekend_is_monday(start: date) -> None:
    assert add_working_days(start, 1) == date(2026, 11, 23)


def test_the_start_day_itself_is_not_counted() -> None:
    assert add_working_days(date(2026, 11, 23), 1) == date(2026, 11, 24)
    assert add_working_days(date(2026, 11, 23), 5) == date(2026, 11, 30)


def test_end_of_day_is_the_last_second_in_london() -> None:
    deadline = end_of_day(date(2026, 11, 30))

    assert deadline.tzinfo is LONDON
    assert deadline.astimezone(LONDON).time() == time(23, 59, 59)
    assert deadline.astimezone(UTC) == datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)


def test_end_of_day_offset_changes_when_the_clocks_go_back() -> None:
    # British Summer Time ends at 02:00 on Sunday 25 October 2026.
    summer = end_of_day(date(2026, 10, 23))
    winter = end_of_day(date(2026, 10, 26))

    assert summer.utcoffset() == timedelta(hours=1)
    assert winter.utcoffset() == timedelta(0)
    assert summer.astimezone(UTC) == datetime(2026, 10, 23, 22, 59, 59, tzinfo=UTC)
    assert winter.astimezone(UTC) == datetime(2026, 10, 26, 23, 59, 59, tzinfo=UTC)


def test_end_of_day_offset_changes_when_the_clocks_go_forward() -> None:
    # British Summer Time starts at 01:00 on Sunday 28 March 2027.
    assert end_of_day(date(2027, 3, 27)).utcoffset() == timedelta(0)
    assert end_of_day(date(2027, 3, 28)).utcoffset() == timedelta(hours=1)


def test_london_date_of_a_late_summer_evening_in_utc_is_the_next_day() -> None:
    assert london_date(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)) == date(2026, 7, 1)
    assert london_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == date(2026, 12, 31)


def test_deadlines_counted_from_the_offence() -> None:
    deadlines = compute_deadlines(
        referred_on=date(2026, 11, 9),
        offence_date=date(2026, 11, 2),
        counted_from="offence",
        first_appointment_working_days=10,
        completion_days=84,
    )

    assert deadlines.first_appointment_due == end_of_day(date(2026, 11, 16))
    assert deadlines.completion_due == end_of_day(date(2027, 1, 25))


def test_deadlines_counted_from_the_referral() -> None:
    deadlines = compute_deadlines(
        referred_on=date(2026, 11, 9),
        offence_date=date(2026, 11, 2),
        counted_from="referral",
        first_appointment_working_days=10,
        completion_days=84,
    )

    assert deadlines.first_appointment_due == end_of_day(date(2026, 11, 23))
    assert deadlines.completion_due == end_of_day(date(2027, 2, 1))


def test_first_appointment_deadline_over_christmas_is_in_the_new_year() -> None:
    deadlines = compute_deadlines(
        referred_on=date(2026, 12, 18),
        offence_date=date(2026, 12, 17),
        counted_from="referral",
        first_appointment_working_days=10,
        completion_days=120,
    )

    assert deadlines.first_appointment_due == end_of_day(date(2027, 1, 6))
    assert deadlines.completion_due == end_of_day(date(2027, 4, 17))


def test_completion_is_never_due_before_the_first_appointment() -> None:
    deadlines = compute_deadlines(
        referred_on=date(2026, 12, 18),
        offence_date=date(2026, 12, 18),
        counted_from="referral",
        first_appointment_working_days=10,
        completion_days=5,
    )

    assert deadlines.completion_due == deadlines.first_appointment_due
    assert deadlines.completion_due == end_of_day(date(2027, 1, 6))


def test_deadlines_are_aware_datetimes_at_the_end_of_the_london_day() -> None:
    deadlines = compute_deadlines(
        referred_on=date(2026, 10, 9),
        offence_date=date(2026, 10, 8),
        counted_from="referral",
        first_appointment_working_days=10,
        completion_days=84,
    )

    # First appointment due in summer time, completion after the clocks go back.
    assert deadlines.first_appointment_due.utcoffset() == timedelta(hours=1)
    assert deadlines.completion_due.utcoffset() == timedelta(0)
    for deadline in (deadlines.first_appointment_due, deadlines.completion_due):
        assert deadline.astimezone(LONDON).time() == time(23, 59, 59)
