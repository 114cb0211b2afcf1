"""Celery tasks: thin wrappers that each call one service. The outbox is sent every 5 minutes
by beat (schedule in django-celery-beat's tables, see programmes/migrations/0003_beat_schedule.py)
and right after work that queued a message; GOV.UK Notify's delivery receipts are fetched every
10 minutes (programmes/migrations/0008_delivery_check_schedule.py). Results carry counts, never
a person's name."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task
from django.db import OperationalError

from programmes.notifications import notifications_send_pending
from programmes.notify import notifications_check_delivery


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


@shared_task(name="programmes.check_notification_delivery")
def check_notification_delivery_task() -> dict[str, int]:
    """Fetch GOV.UK Notify's delivery status of sent messages; record failures on them."""
    return asdict(notifications_check_delivery())
