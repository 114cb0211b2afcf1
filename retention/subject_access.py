"""Subject access: everything the service holds about one person, for their request under the
Data Protection Act 2018 (UK GDPR article 15).

One gathering, `subject_access_record`, feeds both the readable document and the
machine-readable file, so the two cannot disagree. Every record is shown field by field from
its model, so a field added to a model is disclosed without anyone remembering to add it here;
only fields that are internal machinery (keys, hashes) are left out, by name, below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Count, QuerySet
from django.http import Http404
from django.utils import timezone

from audit.models import AuditEvent
from audit.selectors import person_trail
from audit.services import audit_record
from base.clock import LONDON
from cases.models import (
    Case,
    CaseDrug,
    CaseStatusChange,
    Correction,
    EligibilityDecision,
    Offer,
    Person,
)
from cases.selectors import PersonMatches, audit_person_search, people_like
from escalations.models import Escalation
from programmes.models import (
    Appointment,
    AppointmentChange,
    Attendance,
    Notification,
    Referral,
    ReferralStatusChange,
)

# Machinery, not information about the person: search keys, de-duplication keys, hashes.
INTERNAL_FIELDS = frozenset({"name_key", "dedupe_key", "row_hash", "force_id_copy"})

# Each kind of record the service holds about a person: its heading and the path from it to
# the person. The order is the order of the person's journey.
SECTIONS: tuple[tuple[str, type[models.Model], str], ...] = (
    ("Cases", Case, "person"),
    ("Drugs recorded", CaseDrug, "case__person"),
    ("Eligibility decisions", EligibilityDecision, "case__person"),
    ("Offers of diversion", Offer, "case__person"),
    ("Case history", CaseStatusChange, "case__person"),
    ("Corrections to their details", Correction, "person"),
    ("Referrals to a programme", Referral, "case__person"),
    ("Referral history", ReferralStatusChange, "referral__case__person"),
    ("Appointments", Appointment, "referral__case__person"),
    ("Appointments moved or cancelled", AppointmentChange, "appointment__referral__case__person"),
    ("Attendance", Attendance, "appointment__referral__case__person"),
    ("Escalations to a supervisor", Escalation, "referral__case__person"),
    ("Messages sent", Notification, "referral__case__person"),
)


@dataclass(frozen=True)
class Item:
    """One field of one record: its name (for the file), its label and its value as text."""

    name: str
    label: str
    text: str


@dataclass(frozen=True)
class Record:
    title: str
    items: list[Item]


@dataclass(frozen=True)
class Section:
    title: str
    records: list[Record] = field(default_factory=list)


@dataclass(frozen=True)
class SubjectAccessRecord:
    person: Person
    reference: str
    produced_at: datetime
    sections: list[Section]

    @property
    def not_included(self) -> str:
        return NOT_INCLUDED

    def as_json(self) -> str:
        """The machine-readable file: the same records, keyed by field name."""
        return json.dumps(
            {
                "subject_access_request": self.reference,
                "produced_at": self.produced_at.isoformat(timespec="seconds"),
                "person_record": self.person.pk,
                "sections": [
                    {
                        "title": section.title,
                        "records": [
                            {item.name: item.text for item in record.items}
                            for record in section.records
                        ],
                    }
                    for section in self.sections
                ],
                "not_included": NOT_INCLUDED,
            },
            ensure_ascii=False,
            indent=2,
        )


NOT_INCLUDED = (
    "Records held by other systems (the Police National Computer, custody systems, the "
    "programme provider's own records) are not part of this service and are not included."
)


def _text(value: Any) -> str:
    """A stored value as a person reads it: London time, plain dates, Yes/No."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return timezone.localtime(value, LONDON).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dict):
        return "; ".join(
            f"{key.replace('_', ' ').capitalize()}: {_text(item) or 'none'}"
            for key, item in sorted(value.items())
        )
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value)
    return str(value)


def _who(user: Any) -> str:
    """Staff acting for an organisation are named with it, as the audit trail shows them."""
    name = user.get_full_name() or user.username
    return f"{name} ({user.get_role_display()}, {user.organisation_name})"


def _items(obj: models.Model) -> list[Item]:
    items = []
    for model_field in obj._meta.concrete_fields:
        if model_field.primary_key or model_field.name in INTERNAL_FIELDS:
            continue
        if model_field.is_relation:
            related = getattr(obj, model_field.name)
            if related is None:
                continue
            is_user = model_field.related_model._meta.label == "accounts.User"
            text = _who(related) if is_user else str(related)
        elif model_field.choices:
            text = _text(getattr(obj, f"get_{model_field.name}_display")())
        else:
            text = _text(getattr(obj, model_field.attname))
        if text:
            items.append(Item(model_field.name, str(model_field.verbose_name).capitalize(), text))
    return items


def _records(model: type[models.Model], path: str, person: Person) -> list[Record]:
    relations = [f.name for f in model._meta.concrete_fields if f.is_relation and f.many_to_one]
    rows: QuerySet[Any] = (
        model._default_manager.filter(**{path: person}).select_related(*relations).order_by("pk")
    )
    return [Record(_title(row, number), _items(row)) for number, row in enumerate(rows, 1)]


def _title(obj: models.Model, number: int) -> str:
    """ "Case TVP-000014" for a record with a reference, else "Appointment 2"."""
    kind = str(obj._meta.verbose_name).capitalize()
    return f"{kind} {getattr(obj, 'reference', '') or number}"


def _audit_records(person: Person) -> list[Record]:
    """Who saw or changed the record, and which searches showed it."""
    records = []
    for event in person_trail(person_id=person.pk):
        items = [
            Item("at", "When", _text(event.at)),
            Item("action", "What", event.get_action_display()),
            Item("by", "By", _who(event.user) if event.user else "The service itself"),
            Item("record", "Record", f"{event.object_type} {event.object_id}".strip()),
        ]
        if event.reason:
            items.append(Item("reason", "Reason given", event.reason))
        records.append(Record(f"{event.get_action_display()} {_text(event.at)}", items))
    return records


def subject_access_record(*, person: Person, reference: str) -> SubjectAccessRecord:
    """Everything held about `person`, section by section, then who saw it."""
    sections = [Section("Personal details", [Record(person.full_name, _items(person))])]
    for title, model, path in SECTIONS:
        sections.append(Section(title, _records(model, path, person)))
    sections.append(Section("Who has seen or changed this record", _audit_records(person)))
    return SubjectAccessRecord(
        person=person, reference=reference, produced_at=timezone.now(), sections=sections
    )


def subject_shown(*, user: Any, person_id: int) -> Person:
    """The person a request is about, read for the administrator and audited as such; 404 for
    nobody, or for a person anonymised after retention (nothing about them is left to give)."""
    person = Person.objects.filter(pk=person_id, anonymised_at__isnull=True).first()
    if person is None:
        raise Http404("No such person")
    audit_record(
        user=user,
        action=AuditEvent.Action.VIEW,
        obj=person,
        person_id=person.pk,
        reason="Subject access request",
    )
    return person


def subject_access_produce(
    *, user: Any, person: Person, reference: str, form_of_copy: str
) -> SubjectAccessRecord:
    """Produce the copy for a request and record, in the audit trail, that it was disclosed."""
    record = subject_access_record(person=person, reference=reference)
    audit_record(
        user=user,
        action=AuditEvent.Action.DISCLOSE,
        obj=person,
        person_id=person.pk,
        changes={"copy": form_of_copy},
        reason=f"Subject access request {reference}",
    )
    return record


def subject_candidates(
    *,
    user: Any,
    given_name: str,
    family_name: str,
    date_of_birth: date | None,
    pnc_id: str = "",
) -> PersonMatches:
    """The people a subject access request could be about, in every force, with how many cases
    each has; the search is audited like an officer's, naming who was shown."""
    people = Person.objects.filter(anonymised_at__isnull=True).annotate(case_count=Count("cases"))
    matches = people_like(
        people,
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        pnc_id=pnc_id,
    )
    audit_person_search(
        user=user,
        matches=matches,
        searched_by={
            "given_name": given_name,
            "family_name": family_name,
            "date_of_birth": date_of_birth,
            "pnc_id": pnc_id,
        },
        reason="Subject access request",
    )
    return matches
