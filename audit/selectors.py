"""Reads of the audit trail for administrators: search by person, user, date and action.

Only administrators reach these (audit/views.py); the selectors themselves do no scoping
because the audit trail has no organisation: an administrator sees all of it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.postgres.search import TrigramSimilarity
from django.db.models import Q, QuerySet, Value

from audit.models import AuditEvent
from cases.models import NameKey, Person
from cases.selectors import NAME_MATCH_THRESHOLD
from programmes.rules import LONDON


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


def _london_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LONDON)


def people_named(name: str) -> QuerySet[Person]:
    """People whose folded name contains, or is close to, the folded `name` (pg_trgm)."""
    key = NameKey(Value(name))
    return Person.objects.annotate(similarity=TrigramSimilarity("name_key", key)).filter(
        Q(name_key__contains=key) | Q(similarity__gte=NAME_MATCH_THRESHOLD)
    )


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
        events = events.filter(person_id__in=people_named(person).values("pk"))
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


def people_by_id(events: list[AuditEvent]) -> dict[int, Person]:
    """The people a page of events is about, in one query, to show their names."""
    ids = {event.person_id for event in events if event.person_id is not None}
    return Person.objects.in_bulk(ids) if ids else {}
