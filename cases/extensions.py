"""What the apps above cases add to a case, so that cases never imports them.

The case page, its timeline, the case list's markers and the case's API record belong to
cases, but they also show what happened next: the referrals (programmes) and the escalations
(escalations). Those apps declare here what they add, once, when Django starts (their
AppConfig.ready); cases calls what was declared, in the order the apps are installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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


_sections: list[CaseSection] = []
_timelines: list[Callable[[Case], Iterable[TimelineEvent]]] = []
_api_fields: dict[str, Callable[[], Field]] = {}
_list_markers: list[Callable[[list[Case]], dict[int, list[str]]]] = []


def add_case_section(section: CaseSection) -> None:
    """Show `section` on every case page, below the offer."""
    if section not in _sections:
        _sections.append(section)


def add_timeline(events: Callable[[Case], Iterable[TimelineEvent]]) -> None:
    """Add the events `events(case)` returns to every case's timeline."""
    if events not in _timelines:
        _timelines.append(events)


def add_api_field(name: str, field: Callable[[], Field]) -> None:
    """Add a read-only field made by `field()` to the case's API record, under `name`."""
    _api_fields[name] = field


def add_case_list_markers(markers: Callable[[list[Case]], dict[int, list[str]]]) -> None:
    """Show beside each case on the case list the labels `markers(cases)` returns for it (by
    case id), asked once per page of cases."""
    if markers not in _list_markers:
        _list_markers.append(markers)


def case_list_markers(cases: list[Case]) -> dict[int, list[str]]:
    """The labels every app adds to each of `cases`, by case id."""
    found: dict[int, list[str]] = {}
    for markers in _list_markers:
        for pk, labels in markers(cases).items():
            found.setdefault(pk, []).extend(labels)
    return found


def case_sections() -> tuple[CaseSection, ...]:
    return tuple(_sections)


def timelines() -> tuple[Callable[[Case], Iterable[TimelineEvent]], ...]:
    return tuple(_timelines)


def api_fields() -> dict[str, Callable[[], Field]]:
    return dict(_api_fields)
