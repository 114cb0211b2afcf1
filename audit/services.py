"""Writing the audit trail. Every read and write of personal data goes through audit_record,
or, for set-based work, its set-based form audit_rows (one INSERT for many rows)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import models

from audit.context import current_request
from audit.models import AuditEvent
from base.sql import Statement


def _who_and_where(user: Any) -> dict[str, Any]:
    """The columns every audit row takes from its context: the user, and the request's address
    and path (none outside a request, as in a Celery task)."""
    context = current_request.get()
    return {
        "user_id": user.pk if getattr(user, "is_authenticated", False) else None,
        "ip_address": context.ip_address if context else None,
        "path": context.path if context else "",
    }


def audit_record(
    *,
    user: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    person_id: int | None = None,
    changes: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one audit row for an access by `user`, with the request's address and path."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditEvent.objects.create(
        **_who_and_where(user),
        action=action,
        object_type=object_type,
        object_id=object_id,
        person_id=person_id,
        changes=changes or {},
        reason=reason,
    )


def audit_rows(statement: Statement, *, name: str, rows: str, user: Any, at: datetime) -> str:
    """The set-based form of audit_record, as a step of `statement`: one audit row for each row
    of `rows` (a query of action, object_type, object_id, person_id, changes and reason), by
    `user`, from the current request, at `at`. Returns the step's name."""
    who = {f"{name}_{column}": value for column, value in _who_and_where(user).items()}
    return statement.add(
        name,
        f"""
        INSERT INTO audit_auditevent
            (at, user_id, ip_address, path, action, object_type, object_id, person_id, changes,
             reason)
        SELECT %({name}_at)s, %({name}_user_id)s, %({name}_ip_address)s::inet, %({name}_path)s,
               a.action, a.object_type, a.object_id, a.person_id, a.changes, a.reason
        FROM ({rows}) AS a
        """,  # noqa: S608 (step names and constants, no input)
        **who,
        **{f"{name}_at": at},
    )


def audit_many(
    *,
    user: Any,
    action: str,
    object_type: str,
    rows: Iterable[tuple[str, int | None]],
    changes: dict[str, Any] | None = None,
    reason: str = "",
) -> None:
    """Append one audit row per (object id, person id) pair, in one INSERT (list pages, or the
    same change made to several objects, with its `changes` and `reason`)."""
    who = _who_and_where(user)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            **who,
            action=action,
            object_type=object_type,
            object_id=object_id,
            person_id=person_id,
            changes=changes or {},
            reason=reason,
        )
        for object_id, person_id in rows
    )
