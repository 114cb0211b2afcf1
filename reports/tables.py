"""What a report is made of: tables of published figures, a summary, notes. The same objects
are rendered as the page (chart and table), the CSV and the API answer, so the three always
show the same figures.

A table cell must be a disclosure.Figure: a raw number is refused here, so nothing reaches a
page, a CSV or the API without passing disclosure control.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from reports.disclosure import Figure, key


@dataclass(frozen=True)
class Row:
    """One row: its label (a month, a step, a group; never a person) and its figures."""

    label: str
    cells: tuple[Figure, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.label, str):
            raise TypeError(f"A row label must be text, not {type(self.label).__name__}")
        for cell in self.cells:
            if not isinstance(cell, Figure):
                raise TypeError(
                    f"Every figure in a report must pass disclosure control; got {cell!r}"
                )


@dataclass
class Table:
    """A table of figures; `chart` names the column drawn as bars beside it (if any), and
    `percent` says whether that column is a percentage (bars out of 100) or a count."""

    caption: str
    row_heading: str
    columns: tuple[str, ...]
    rows: list[Row]
    chart: str = ""
    percent: bool = False
    statements: list[str] = field(default_factory=list)
    # Shown folded (a details element, the caption as its summary) when a report has many.
    folded: bool = False

    def bars(self) -> list[dict[str, Any]]:
        """The chart: each row's label, its figure in the charted column, and a bar width in
        whole percent of the largest (or of 100 for percentages)."""
        if not self.chart:
            return []
        index = self.columns.index(self.chart)
        figures = [(row.label, row.cells[index]) for row in self.rows]
        top = 100 if self.percent else max((f.value or 0 for _, f in figures), default=0)
        return [
            {
                "label": label,
                "figure": figure,
                "width": round(100 * figure.value / top) if figure.shown and top else 0,
            }
            for label, figure in figures
        ]

    def labelled_rows(self) -> list[tuple[str, list[tuple[str, Figure]]]]:
        """Each row's label and its (column, figure) pairs, for the page's table."""
        return [(row.label, list(zip(self.columns, row.cells, strict=True))) for row in self.rows]

    def as_json(self) -> dict[str, Any]:
        return {
            "caption": self.caption,
            "columns": [self.row_heading, *self.columns],
            "rows": [
                {
                    self.row_heading: row.label,
                    **{
                        column: {"value": cell.value, "text": cell.text, "withheld": cell.withheld}
                        for column, cell in zip(self.columns, row.cells, strict=True)
                    },
                }
                for row in self.rows
            ],
            "statements": self.statements,
        }


@dataclass
class Report:
    """One report for one scope: what the page, the CSV and the API all show."""

    slug: str
    title: str
    summary: str
    tables: list[Table]
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return key()

    def as_json(self) -> dict[str, Any]:
        return {
            "report": self.slug,
            "title": self.title,
            "summary": self.summary,
            "tables": [table.as_json() for table in self.tables],
            "notes": [*self.notes, self.key],
        }

    def as_csv(self, scope_lines: list[str]) -> str:
        """The CSV: the title, the scope, then each table as on the page (the figures' text,
        markers included), then the notes."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([self.title])
        writer.writerow([self.summary])
        for line in scope_lines:
            writer.writerow([line])
        for table in self.tables:
            writer.writerow([])
            writer.writerow([table.caption])
            writer.writerow([table.row_heading, *table.columns])
            for row in table.rows:
                writer.writerow([row.label, *(cell.text for cell in row.cells)])
            for statement in table.statements:
                writer.writerow([statement])
        writer.writerow([])
        for note in [*self.notes, self.key]:
            writer.writerow([note])
        return out.getvalue()
