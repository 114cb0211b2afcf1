"""Persistent database connections survive PostgreSQL dropping them (a restart, a failover):
each request checks the connection it inherits before using it."""

from __future__ import annotations

import io

import psycopg2
import pytest
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection

# The test client skips Django's per-request connection handling; a real WSGI call does not.
pytestmark = pytest.mark.django_db(transaction=True)


def _get(handler: WSGIHandler, path: str) -> int:
    """Call the application as gunicorn does and return the HTTP status code."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
    }
    statuses: list[str] = []
    response = handler(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(response)
    response.close()  # sends request_finished, as a WSGI server does
    return int(statuses[0].split()[0])


def _terminate(pid: int) -> None:
    """Kill one server process from another connection, as a PostgreSQL restart would."""
    params = connection.get_connection_params()
    with psycopg2.connect(**params) as other, other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone() == (True,)
    other.close()


def test_connections_are_kept_and_checked_before_reuse():
    database = django_settings.DATABASES["default"]
    assert database["CONN_MAX_AGE"] > 0
    assert database["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize("health_checks", [True, False])
def test_first_request_after_the_server_drops_the_connection(health_checks):
    """With health checks (the setting) the next request reconnects and answers 200; without
    them it would reuse the dead connection (the control case, proving the test can fail)."""
    connection.settings_dict["CONN_HEALTH_CHECKS"] = health_checks
    connection.settings_dict["CONN_MAX_AGE"] = 60
    connection.close()
    handler = WSGIHandler()
    try:
        assert _get(handler, "/readyz") == 200
        assert connection.connection is not None  # kept open for the next request
        _terminate(connection.connection.info.backend_pid)

        status = _get(handler, "/readyz")

        assert (status == 200) is health_checks
    finally:
        connection.settings_dict["CONN_HEALTH_CHECKS"] = True
        connection.close()
