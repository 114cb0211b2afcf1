"""Celery tasks for cases: thin wrappers around one service each, scheduled by beat.

The daily schedule is a row in django-celery-beat's tables (cases/migrations/
0006_retention_schedule.py). Results carry counts, never a name.
"""

from __future__ import annotations

from celery import shared_task

from cases.retention import anonymise_expired


@shared_task(name="cases.anonymise_expired")
def anonymise_expired_task() -> dict[str, int]:
    """Anonymise the people whose cases all closed longer ago than their force allows."""
    result = anonymise_expired()
    return {"people": result.people, "cases": result.cases}
