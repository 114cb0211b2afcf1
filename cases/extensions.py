"""What the apps above cases add to a case, so that cases never imports them.

The case page, its timeline and the case's API record belong to cases, but they also show
what happened next: the referrals (programmes) and the escalations (escalations). Those apps
declare here what they add, once, when Django starts (their AppConfig.ready); cases calls
what was declared, in the order the apps are installed. Flags (`add_case_flags`) are what
an officer must act on, shown at the top of the case page and beside the case in the list:
each provider of flags answers for a whole page of cases in a constant number of queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rest_framework.serializers import Field

    from cases.models import Case


@dataclass(frozen=True)
class TimelineEvent:
    """One entry of a case's history."""

    title: str
    at: datetime
    by: str
    description: str


@dataclass(frozen=True)
class CaseSection:
    """A section of the case page: the template to include and the context it reads."""

    template: str
    context: Callable[[Case], dict[str, Any]]


@dataclass(frozen=True)
class CaseFlag:
    """Something about a case its officer must act on: a short `label` for the case list, a
    sentence for the case page, and a link (its text and the id of the page's section) to
    what says more."""

    label: str
    detail: str
    anchor: str
    link: str


CaseFlags = Callable[[Sequence[int]], Mapping[int, Sequence[CaseFlag]]]

_sections: list[CaseSection] = []
_flags: list[CaseFlags] = []
_timelines: list[Callable[[Case], Iterable[TimelineEvent]]] = []
_api_fields: dict[str, Callable[[], Field]] = {}


def add_case_section(section: CaseSection) -> None:
    """Show `section` on every case page, below the offer."""
    if section not in _sections:
        _sections.append(section)


def add_timeline(events: Callable[[Case], Iterable[TimelineEvent]]) -> None:
    """Add the events `events(case)` returns to every case's timeline."""
    if events not in _timelines:
        _timelines.append(events)


def add_case_flags(flags: CaseFlags) -> None:
    """Flag cases: `flags(case_ids)` returns the flags of those of the cases that have any."""
    if flags not in _flags:
        _flags.append(flags)


def case_flags(case_ids: Sequence[int]) -> dict[int, list[CaseFlag]]:
    """The flags of each of the cases that has any, by case id."""
    found: dict[int, list[CaseFlag]] = {}
    if not case_ids:
        return found
    for flags in _flags:
        for case_id, flagged in flags(case_ids).items():
            found.setdefault(case_id, []).extend(flagged)
    return found


def add_api_field(name: str, field: Callable[[], Field]) -> None:
    """Add a read-only field made by `field()` to the case's API record, under `name`."""
    _api_fields[name] = field


def case_sections() -> tuple[CaseSection, ...]:
    return tuple(_sections)


def timelines() -> tuple[Callable[[Case], Iterable[TimelineEvent]], ...]:
    return tuple(_timelines)


def api_fields() -> dict[str, Callable[[], Field]]:
    return dict(_api_fields)
