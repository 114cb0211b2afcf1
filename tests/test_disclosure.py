"""Disclosure control (reports/disclosure.py): small counts hidden, others rounded, rates only
over enough people, thresholds from settings, and no cell recovered by differencing."""

from __future__ import annotations

from itertools import product

import pytest

from reports import disclosure as dc
from reports.tables import Row, Table


@pytest.mark.parametrize(
    ("n", "text", "value"),
    [
        (0, "0", 0),
        (1, "[c]", None),
        (7, "[c]", None),
        (8, "10", 10),
        (12, "10", 10),
        (13, "15", 15),
        (1234, "1,235", 1235),
    ],
)
def test_a_count_is_shown_as_zero_a_marker_or_rounded_to_five(n: int, text: str, value) -> None:
    figure = dc.count(n)

    assert (figure.text, figure.value) == (text, value)


def test_the_thresholds_are_settings(settings) -> None:
    settings.DISCLOSURE_SMALLEST_SHOWN = 11
    settings.DISCLOSURE_ROUND_TO = 10
    settings.DISCLOSURE_MIN_BASE = 20

    assert dc.count(10).text == "[c]"
    assert dc.count(14).text == "10"
    assert dc.count(15).text == "20"
    assert not dc.rate(dc.count(12), dc.count(14)).shown
    assert dc.days(3.0, people=19).text == "[x]"
    assert "between 1 and 10" in dc.key()


def test_a_rate_is_worked_out_from_the_published_counts_and_needs_eight_people() -> None:
    assert dc.rate(dc.count(49), dc.count(101)).text == "50.0%"  # 50 of 100, as shown
    assert not dc.rate(dc.count(3), dc.count(100)).shown  # would give the hidden 3 away
    assert not dc.rate(dc.count(0), dc.count(5)).shown
    assert dc.rate(dc.count(0), dc.count(40)).text == "0.0%"


def test_a_median_from_fewer_than_eight_people_is_not_shown() -> None:
    assert dc.days(12.4, people=7).text == "[x]"
    assert dc.days(12.4, people=8).text == "12 days"
    assert dc.days(1.0, people=8).text == "1 day"


def test_a_table_refuses_a_figure_that_did_not_pass_disclosure_control() -> None:
    with pytest.raises(TypeError, match="disclosure control"):
        Row("Logged", (dc.count(10), 12))
    with pytest.raises(TypeError):
        Row(12, (dc.count(10),))  # type: ignore[arg-type]


def published(cells: list[int]) -> tuple[tuple, object]:
    """What a table of these cells and their total publishes."""
    return tuple(dc.count(c).text for c in cells), dc.count(sum(cells)).text


@pytest.mark.parametrize("others", [[0, 40], [12, 0], [95, 3], [20, 30, 50], [8, 0, 0], [0, 0, 97]])
def test_a_hidden_cell_cannot_be_recovered_from_the_total_and_the_other_cells(
    others: list[int],
) -> None:
    """For every hidden value 1 to 7 and every true value of the other cells consistent with
    what they show, the published table is the same for at least one other hidden value: an
    attacker who subtracts is left with a range, never the value."""
    for hidden in range(1, 8):
        shown = published([hidden, *others])
        candidates = set()
        # Every table the attacker cannot tell apart from the real one.
        ranges = [range(max(0, o - 7), o + 8) for o in others]
        for guess, *rest in product(range(1, 8), *ranges):
            if published([guess, *rest]) == shown:
                candidates.add(guess)
        assert hidden in candidates
        assert len(candidates) >= 2, (hidden, others, shown)


def test_two_filters_that_differ_by_a_hidden_cell_do_not_give_it_away() -> None:
    """Cases for all drug classes and for class B only differ by the class A and C cases; when
    those are few (hidden), the two published totals leave more than one value possible."""
    for b_cases, a_cases in product(range(8, 120), range(1, 8)):
        all_classes, class_b = dc.count(b_cases + a_cases), dc.count(b_cases)
        possible = {
            guess
            for guess in range(1, 8)
            for b in range(max(8, b_cases - 7), b_cases + 8)
            if dc.count(b + guess) == all_classes and dc.count(b) == class_b
        }
        assert a_cases in possible and len(possible) >= 2, (b_cases, a_cases)


def test_a_chart_draws_only_published_values() -> None:
    table = Table(
        caption="Test",
        row_heading="Step",
        columns=("Cases",),
        rows=[Row("A", (dc.count(100),)), Row("B", (dc.count(3),)), Row("C", (dc.count(52),))],
        chart="Cases",
    )

    bars = table.bars()

    assert [(bar["figure"].text, bar["width"]) for bar in bars] == [
        ("100", 100),
        ("[c]", 0),
        ("50", 50),
    ]
