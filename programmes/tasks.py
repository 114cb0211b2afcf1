"""Celery tasks: thin wrappers that each call one service, scheduled by beat from the database.

The schedule (programmes/migrations/0003_beat_schedule.py) lives in django-celery-beat's tables,
so an administrator can see and change it in the admin. Results carry references and counts,
never a person's name.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from celery import shared_task
from django.db import OperationalError

from programmes.notifications import (
    notifications_queue_digest,
    notifications_queue_reminders,
    notifications_send_pending,
)
from programmes.sweep import sweep_deadlines


@shared_task(name="programmes.sweep_deadlines")
def sweep_deadlines_task() -> dict[str, Any]:
    """Flag every referral past a deadline or its absence limit; return how many and which."""
    flagged = sweep_deadlines()
    return {"count": len(flagged), "referrals": [f.referral_reference for f in flagged]}


@shared_task(name="programmes.queue_reminders")
def queue_reminders_task() -> int:
    """Queue the reminders due before each deadline; return how many were queued."""
    return notifications_queue_reminders()


@shared_task(name="programmes.queue_digest")
def queue_digest_task() -> int:
    """Queue each force's digest of new escalations to its supervisors; return how many."""
    return notifications_queue_digest()


@shared_task(
    name="programmes.send_pending_notifications",
    autoretry_for=(OperationalError, ConnectionError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def send_pending_notifications_task() -> dict[str, int]:
    """Send what waits in the outbox; a message that fails is retried by a later run."""
    return asdict(notifications_send_pending())
