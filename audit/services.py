"""Writing the audit trail. Every read and write of personal data goes through audit_record."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from audit.context import current_request
from audit.models import AuditEvent


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
    context = current_request.get()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditEvent.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        ip_address=context.ip_address if context else None,
        path=context.path if context else "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        person_id=person_id,
        changes=changes or {},
        reason=reason,
    )


def audit_many(
    *, user: Any, action: str, object_type: str, rows: Iterable[tuple[str, int | None]]
) -> None:
    """Append one audit row per (object id, person id) pair, in one INSERT (list pages)."""
    context = current_request.get()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            user=user if getattr(user, "is_authenticated", False) else None,
            ip_address=context.ip_address if context else None,
            path=context.path if context else "",
            action=action,
            object_type=object_type,
            object_id=object_id,
            person_id=person_id,
        )
        for object_id, person_id in rows
    )
