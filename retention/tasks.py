"""The retention job as a Celery task: a thin wrapper, scheduled daily by beat.

The schedule is a row in django-celery-beat's tables (cases/migrations/0006_retention_schedule.py,
renamed by retention/migrations/0001_task_name.py). Results carry counts, never a name.
"""

from __future__ import annotations

from celery import shared_task

from retention.anonymise import anonymise_expired


@shared_task(name="retention.anonymise_expired")
def anonymise_expired_task() -> dict[str, int]:
    """Anonymise the people whose cases all closed longer ago than their force allows."""
    result = anonymise_expired()
    return {"people": result.people, "cases": result.cases}
