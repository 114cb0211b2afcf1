"""Celery tasks: thin wrappers that each call one service, scheduled by beat from the database.

The schedule lives in django-celery-beat's tables (programmes/migrations/0003_beat_schedule.py,
renamed by escalations/migrations/0002_task_names.py), so an administrator can see and change
it in the admin. Results carry references and counts, never a person's name.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from escalations.notifications import notifications_queue_digest, notifications_queue_reminders
from escalations.sweep import sweep_deadlines


@shared_task(name="escalations.sweep_deadlines")
def sweep_deadlines_task() -> dict[str, Any]:
    """Flag every referral past a deadline or its absence limit; return how many and which."""
    flagged = sweep_deadlines()
    return {"count": len(flagged), "referrals": [f.referral_reference for f in flagged]}


@shared_task(name="escalations.queue_reminders")
def queue_reminders_task() -> int:
    """Queue the reminders due before each deadline; return how many were queued."""
    return notifications_queue_reminders()


@shared_task(name="escalations.queue_digest")
def queue_digest_task() -> int:
    """Queue each force's digest of new escalations to its supervisors; return how many."""
    return notifications_queue_digest()
