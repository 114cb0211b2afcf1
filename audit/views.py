"""The administrator's pages for the audit trail: search, one person's trail, CSV export.

Only administrators reach them; everyone else gets 404. Reading or exporting the audit trail
is itself audited (object type "audit.auditevent", the filter in `changes`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from audit.forms import AuditSearchForm
from audit.models import AuditEvent
from audit.selectors import audit_events, people_by_id, person_get, person_trail
from audit.services import audit_record
from audit.wording import summarise_changes, what_happened
from base.clock import LONDON
from base.pages import administrator_required
from base.paging import list_page

AUDIT_OBJECT_TYPE = "audit.auditevent"
PAGE_SIZE = 50
TRAIL_PAGE_SIZE = 100

CSV_HEADER = [
    "When (Europe/London)",
    "User",
    "Action",
    "Object type",
    "Object ID",
    "Person ID",
    "IP address",
    "Path",
    "Reason",
    "Changes",
]


def _annotate(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Give each event of a page its person (one query) and its changes in one line."""
    events = list(events)
    people = people_by_id(events)
    for event in events:
        event.person = people.get(event.person_id)
        event.summary = summarise_changes(event.changes or {})
        event.what = what_happened(event)
    return events


@administrator_required
def search(request: HttpRequest) -> HttpResponse:
    """Search the audit trail by person, user, dates and action, newest first."""
    form = AuditSearchForm(request.GET)
    context: dict[str, Any] = {"form": form, "page_obj": None, "events": []}
    if form.is_valid():
        filters = form.to_filter()
        page = list_page(
            audit_events(filters=filters),
            request.GET.get("page"),
            per_page=PAGE_SIZE,
            noun="events",
        )
        events = _annotate(page)
        context.update(
            searched=True, page_obj=page, events=events, filtered=bool(filters.as_json())
        )
        # The page names the people its rows are about: record whom it showed.
        shown = sorted({event.person_id for event in events if event.person is not None})
        audit_record(
            user=request.user,
            action=AuditEvent.Action.VIEW,
            object_type=AUDIT_OBJECT_TYPE,
            changes={"filter": filters.as_json(), "page": page.number, "found": shown},
        )
    return render(request, "audit/search.html", context)


@administrator_required
def person(request: HttpRequest, person_id: int) -> HttpResponse:
    """Every view and change of one person's data, oldest first."""
    subject = person_get(person_id)
    if subject is None:
        raise Http404("No such person")
    page = list_page(
        person_trail(person_id=subject.pk),
        request.GET.get("page"),
        per_page=TRAIL_PAGE_SIZE,
        noun="events",
    )
    events = _annotate(page)
    audit_record(
        user=request.user,
        action=AuditEvent.Action.VIEW,
        object_type=AUDIT_OBJECT_TYPE,
        person_id=subject.pk,
        changes={"filter": {"person": str(subject.pk)}, "page": page.number},
    )
    return render(
        request, "audit/person.html", {"subject": subject, "page_obj": page, "events": events}
    )


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a stream."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    """Text for a CSV cell; text a spreadsheet would run as a formula is quoted with '."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_rows(events: Iterable[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for event in events:
        yield writer.writerow(
            [
                _cell(value)
                for value in (
                    timezone.localtime(event.at, LONDON).isoformat(timespec="seconds"),
                    event.user.username if event.user else "",
                    event.action,
                    event.object_type,
                    event.object_id,
                    event.person_id,
                    event.ip_address,
                    event.path,
                    event.reason,
                    json.dumps(event.changes, ensure_ascii=False, sort_keys=True)
                    if event.changes
                    else "",
                )
            ]
        )


@administrator_required
def export(request: HttpRequest) -> HttpResponse:
    """The rows the search would show, every page of them, as CSV, newest first."""
    form = AuditSearchForm(request.GET)
    if not form.is_valid():
        # The search page shows what is wrong with the filter.
        return redirect(f"{reverse('audit:search')}?{request.GET.urlencode()}")
    filters = form.to_filter()
    audit_record(
        user=request.user,
        action=AuditEvent.Action.EXPORT,
        object_type=AUDIT_OBJECT_TYPE,
        changes={"filter": filters.as_json()},
    )
    events = audit_events(filters=filters).iterator(chunk_size=2000)
    response = StreamingHttpResponse(_csv_rows(events), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime(timezone.now(), LONDON).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
