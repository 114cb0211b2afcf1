"""The one table the benchmark prints: measurement | 1k | N | ratio | queries | target | met?"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

# The targets of issue 11, on this machine, at N = 1,000,000.
PAGE_RATIO = 1.5  # every list and search page within 1.5x of itself at 1k cases...
PAGE_QUERIES = 10  # ...with at most 10 queries
ELIGIBILITY_RATIO = 1.5
SWEEP_RATIO = 1.5  # the sweep within 1.5x of the honest statement
SWEEP_MEMORY_MB = 200
RETENTION_RATIO = 1.5  # per-person time at 100k due within 1.5x of 10k
API_RATIO = 0.5  # the attendance API at least half the trivial endpoint's throughput


@dataclass
class Row:
    measurement: str
    small: str = ""
    big: str = ""
    ratio: str = ""
    queries: str = ""
    target: str = ""
    met: bool | None = None  # None: a reference line, no target

    @property
    def verdict(self) -> str:
        return "" if self.met is None else ("yes" if self.met else "NO")


def median(values: Iterable[float]) -> float:
    values = [v for v in values if not math.isnan(v)]
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    if seconds >= 10:
        return f"{seconds:,.1f} s"
    return f"{seconds * 1000:,.1f} ms"


def times(ratio: float) -> str:
    return "-" if math.isnan(ratio) or math.isinf(ratio) else f"{ratio:,.2f}x"


def queries(small: Iterable[int], big: Iterable[int]) -> str:
    """The query count, "small→big" when it differs, "a-b" when runs differ."""

    def one(counts: Iterable[int]) -> str:
        counts = sorted(set(counts))
        if not counts:
            return "-"
        return f"{counts[0]:,}" if len(counts) == 1 else f"{counts[0]:,}-{counts[-1]:,}"

    left, right = one(small), one(big)
    return left if left == right else f"{left}→{right}"


def table(rows: list[Row], small_n: int, big_n: int) -> list[str]:
    """The rows as aligned text lines, with a header naming the two sizes."""
    header = Row(
        "measurement", f"{small_n:,} cases", f"{big_n:,} cases", "ratio", "queries", "target",
    )  # fmt: skip
    cells = [
        [r.measurement, r.small, r.big, r.ratio, r.queries, r.target, r.verdict]
        for r in [header, *rows]
    ]
    cells[0][-1] = "met?"
    widths = [max(len(row[i]) for row in cells) for i in range(7)]
    lines = []
    for number, row in enumerate(cells):
        left = row[0].ljust(widths[0])
        rest = [row[i].rjust(widths[i]) if i < 5 else row[i].ljust(widths[i]) for i in range(1, 7)]
        lines.append(" | ".join([left, *rest]).rstrip())
        if number == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return lines
