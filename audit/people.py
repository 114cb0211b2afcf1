"""Who the audit trail is about. Audit rows keep a person's id only: the app that holds people
(cases) tells audit, when Django starts, how to find people by name and fetch them by id, so
audit never imports it. A person object needs `pk`, `full_name` and `anonymised_at`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PeopleDirectory:
    ids_named: Callable[[str], Any]  # a name -> the matching person ids (a sliceable query)
    by_ids: Callable[[Iterable[int]], dict[int, Any]]  # ids -> {id: person}, in one query


_directory: PeopleDirectory | None = None


def set_people_directory(directory: PeopleDirectory) -> None:
    """Tell audit where people are (called once by the app that holds them)."""
    global _directory
    _directory = directory


def people() -> PeopleDirectory:
    """The directory of people; an error if no app declared one."""
    if _directory is None:
        raise RuntimeError("No app declared where people are (audit.people.set_people_directory)")
    return _directory
