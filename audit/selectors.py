"""Reads of the audit trail for administrators: search by person, user, date and action.

Only administrators reach these (audit/views.py); the selectors themselves do no scoping
because the audit trail has no organisation: an administrator sees all of it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from audit.models import AuditEvent
from audit.people import people
from base.clock import LONDON


@dataclass(frozen=True)
class AuditFilter:
    """What an administrator searches the audit trail by; empty values do not filter."""

    person: str = ""  # a name (matched like the find-a-person search) or a person id
    username: str = ""
    date_from: date | None = None  # London dates, both inclusive
    date_to: date | None = None
    action: str = ""

    def as_json(self) -> dict[str, Any]:
        """The filter as the audit row of a search or an export records it."""
        return {
            key: value.isoformat() if isinstance(value, date) else value
            for key, value in asdict(self).items()
            if value
        }


# A name search of the trail looks at the events of at most this many people with that name.
PEOPLE_PER_NAME_SEARCH = 500


def _london_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LONDON)


def _about_person(person_id: int) -> Q:
    """Events about one person, and the find-a-person searches that showed them."""
    return Q(person_id=person_id) | Q(
        action=AuditEvent.Action.SEARCH,
        object_type="cases.person",
        changes__found__contains=[person_id],
    )


def audit_events(*, filters: AuditFilter) -> QuerySet[AuditEvent]:
    """The audit rows matching `filters`, newest first, with their users."""
    events = AuditEvent.objects.select_related("user")
    person = filters.person.strip()
    if person.isdigit():
        events = events.filter(_about_person(int(person)))
    elif person:
        # The ids first (a short list the person index then serves), not a subquery the
        # planner might answer by walking the whole trail newest first.
        ids = list(people().ids_named(person)[:PEOPLE_PER_NAME_SEARCH])
        events = events.filter(person_id__in=ids)
    if filters.username:
        events = events.filter(user__username__iexact=filters.username.strip())
    if filters.date_from:
        events = events.filter(at__gte=_london_midnight(filters.date_from))
    if filters.date_to:
        events = events.filter(at__lt=_london_midnight(filters.date_to + timedelta(days=1)))
    if filters.action:
        events = events.filter(action=filters.action)
    return events.order_by("-at", "-id")


def person_trail(*, person_id: int) -> QuerySet[AuditEvent]:
    """Every access to one person's data, oldest first, so it reads as what happened."""
    return (
        AuditEvent.objects.select_related("user")
        .filter(_about_person(person_id))
        .order_by("at", "id")
    )


def people_by_id(events: list[AuditEvent]) -> dict[int, Any]:
    """The people a page of events is about, in one query, to show their names."""
    ids = {event.person_id for event in events if event.person_id is not None}
    return people().by_ids(ids) if ids else {}


def person_get(person_id: int) -> Any | None:
    """One person by id, anonymised or not, or None."""
    return people().by_ids([person_id]).get(person_id)
