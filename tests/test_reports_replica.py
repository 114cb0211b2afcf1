"""With a read replica for the reports (REPORTS_DATABASE_URL), report queries and exports read
from it and everything else stays on the primary. Tested with a second database alias that
points at the test database over its own connection, as a replica would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from audit.models import AuditEvent
from reports.routers import REPORTS, reports_alias
from tests import factories


@pytest.fixture
def replica(transactional_db: Any) -> Iterator[str]:
    """A "reports" alias on its own connection to the test database (data must be committed
    for it to see, as with a real replica)."""
    connections.settings[REPORTS] = {**connections["default"].settings_dict}
    # Connected here: the test case allows only the aliases it was set up with to connect
    # lazily, and this one did not exist then.
    connections[REPORTS].connect()
    try:
        yield REPORTS
    finally:
        connections[REPORTS].close()
        del connections[REPORTS]
        del connections.settings[REPORTS]


def test_without_a_replica_reports_read_the_primary(db: Any) -> None:
    assert reports_alias() == "default"


def test_report_queries_go_to_the_replica_and_the_audit_row_to_the_primary(replica: str) -> None:
    force = factories.force("TVP")
    factories.PolicyFactory(force=force)
    for _ in range(9):
        factories.CaseFactory(force=force)
    analyst = factories.UserFactory(role=Role.ANALYST, force=force)
    client = Client()
    client.force_login(analyst)

    with (
        CaptureQueriesContext(connections[replica]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        page = client.get("/reports/funnel/")
        answer = client.get("/api/v1/reports/funnel/")
        csv = client.get("/reports/funnel/csv/")

    assert page.status_code == answer.status_code == csv.status_code == 200
    assert answer.json()["tables"][0]["rows"][0]["Cases"]["text"] == "10"
    assert sum("facts AS" in q["sql"] for q in on_replica.captured_queries) == 3
    assert not any("facts AS" in q["sql"] for q in on_primary.captured_queries)
    assert not any("INSERT" in q["sql"] for q in on_replica.captured_queries)
    assert AuditEvent.objects.filter(user=analyst, object_type="reports.funnel").count() == 3
