"""Report queries go to the read replica when there is one (REPORTS_DATABASE_URL).

While a report is built (inside `reading_reports()`), ORM reads are routed to the "reports"
database alias and the reports' own SQL runs on its connection (`reports_connection()`);
writes, and everything outside a report, stay on the primary. Without the alias, all of it
uses the primary. The replica is never migrated: it copies the primary.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connections

REPORTS = "reports"
_building = ContextVar("building_a_report", default=False)


def reports_alias() -> str:
    """The database a report reads: the replica if one is configured, else the primary."""
    return REPORTS if REPORTS in connections.settings else "default"


def reports_connection() -> Any:
    return connections[reports_alias()]


@contextmanager
def reading_reports() -> Iterator[None]:
    """Route reads to the reports database while the block runs."""
    token = _building.set(True)
    try:
        yield
    finally:
        _building.reset(token)


class ReportsRouter:
    """Reads while a report is built go to the replica; nothing else is routed."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if _building.get() and REPORTS in connections.settings:
            return REPORTS
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPORTS else None
