"""Disclosure control: the one step every figure passes before it leaves the system.

Every number the reports publish (page, chart, CSV, API) is a `Figure` made here; the tables
in reports/tables.py refuse anything else. The rules (NHS Digital's automatable rule, with the
thresholds as settings):

- a count of 0 is shown as 0; a count from 1 to DISCLOSURE_SMALLEST_SHOWN - 1 (7) is shown as
  the marker "[c]", with no value in the CSV or API;
- every other count is rounded to the nearest DISCLOSURE_ROUND_TO (5), halves upwards;
- every count is rounded on its own, totals included: a total is never the sum of its
  rounded parts, so subtracting the visible cells from a total (or one filter's total from
  another's) leaves a range, never a suppressed cell's value (README, "Disclosure control");
- a rate, a ratio of rates or a median is shown only when the people it is taken over number
  at least DISCLOSURE_MIN_BASE (8); a rate is worked out from the published, rounded counts,
  so it says nothing the counts beside it do not.

A reader must not break these: never publish a raw count, never derive a figure from a raw
count that is not itself published, never add rounded figures to make a total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings

MARKER = "[c]"
NOT_SHOWN = "[x]"


@dataclass(frozen=True)
class Figure:
    """One published figure: its value (None when withheld) and how it reads."""

    value: int | float | None
    text: str
    # Why the value is withheld: "small" (a count from 1 to 7), "base" (a rate or median over
    # too few people) or "" (shown).
    withheld: str = ""

    @property
    def shown(self) -> bool:
        return self.value is not None

    def __str__(self) -> str:
        return self.text


def smallest_shown() -> int:
    return settings.DISCLOSURE_SMALLEST_SHOWN


def min_base() -> int:
    return settings.DISCLOSURE_MIN_BASE


def rounded(n: int) -> int:
    """`n` rounded to the nearest DISCLOSURE_ROUND_TO, halves upwards."""
    base = settings.DISCLOSURE_ROUND_TO
    return base * math.floor(n / base + 0.5)


def count(n: int) -> Figure:
    """A count as published: 0, the marker for a small count, or rounded."""
    n = int(n or 0)
    if n < 0:
        raise ValueError("A count cannot be negative")
    if n == 0:
        return Figure(0, "0")
    if n < smallest_shown():
        return Figure(None, MARKER, "small")
    value = rounded(n)
    return Figure(value, f"{value:,}")


def _withheld_for_base() -> Figure:
    return Figure(None, NOT_SHOWN, "base")


def rate(numerator: Figure, denominator: Figure) -> Figure:
    """numerator / denominator as a percentage, from the published counts, or withheld."""
    if not numerator.shown or not denominator.shown or not denominator.value:
        return _withheld_for_base()
    if denominator.value < min_base():
        return _withheld_for_base()
    value = round(100 * numerator.value / denominator.value, 1)
    return Figure(value, f"{value:.1f}%")


def ratio(numerator: Figure, denominator: Figure) -> Figure:
    """One published rate over another (a relative rate index), to two places, or withheld."""
    if not numerator.shown or not denominator.shown or not denominator.value:
        return _withheld_for_base()
    value = round(numerator.value / denominator.value, 2)
    return Figure(value, f"{value:.2f}")


def days(value: float | None, *, people: int) -> Figure:
    """A median or quartile in days over `people` people: whole days, or withheld."""
    if value is None or people < min_base():
        return _withheld_for_base()
    whole = round(value)
    return Figure(whole, f"{whole} day" if whole == 1 else f"{whole} days")


def key() -> str:
    """The note under every table that says what the markers mean."""
    return (
        f"{MARKER}: between 1 and {smallest_shown() - 1}, too few to show. "
        f"{NOT_SHOWN}: taken over fewer than {min_base()} people, not shown. Other counts are "
        f"rounded to the nearest {settings.DISCLOSURE_ROUND_TO}, each on its own, so they may "
        "not add up to the totals; rates are worked out from the rounded counts."
    )
