"""The audit trail: who read or changed what, when, from where and why. Append-only."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One access to personal data. The database refuses UPDATE and DELETE on this table, the
    application's role may only SELECT and INSERT, and each row's hash chains it to the one
    before, so a change made behind the database's back is found (audit/chain.py)."""

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        SEARCH = "search", "Searched"
        CREATE = "create", "Created"
        CHANGE = "change", "Changed"
        DELETE = "delete", "Deleted"
        EXPORT = "export", "Exported"
        DISCLOSE = "disclose", "Disclosed"
        ERASE = "erase", "Erased"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    ip_address = models.GenericIPAddressField(null=True)
    path = models.CharField(max_length=300, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=50, blank=True)
    person_id = models.BigIntegerField(null=True, db_index=True, help_text="The person it concerns")
    changes = models.JSONField(default=dict, blank=True, help_text="Before and after, for changes")
    reason = models.TextField(blank=True)
    # Set by the database on INSERT (the trigger audit_event_chain, audit/chain.py): a SHA-256
    # of this row chained to the previous row's hash. The default is never stored.
    row_hash = models.BinaryField(db_default=b"", editable=False)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "at"], name="audit_user_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type} {self.object_id}"
