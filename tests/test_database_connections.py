"""Persistent database connections survive PostgreSQL dropping them (a restart, a failover):
each request checks the connection it inherits before using it, and while there is nothing to
reconnect to, requests are answered 503, not 500."""

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


def _call(handler: WSGIHandler, path: str, **headers: str) -> tuple[int, dict, bytes]:
    """Call the application as gunicorn does; the status, headers and body."""
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
        **headers,
    }
    started: list = []
    response = handler(
        environ, lambda status, headers, exc_info=None: started.append((status, headers))
    )
    body = b"".join(response)
    response.close()
    status, header_list = started[0]
    return int(status.split()[0]), dict(header_list), body


@pytest.mark.parametrize("who", ["token", "session"])
def test_while_the_database_is_unreachable_requests_get_503_not_500(client, who):
    """With the connection gone and nothing to reconnect to yet (health checks off stand in for
    a server still restarting), the API and pages answer 503 with Retry-After."""
    from accounts.models import ApiToken
    from tests import factories

    officer = factories.UserFactory()
    if who == "token":
        _token, key = ApiToken.issue(user=officer, name="load")
        headers = {"HTTP_AUTHORIZATION": f"Token {key}"}
        path = "/api/v1/cases/"
    else:
        client.force_login(officer)
        headers = {"HTTP_COOKIE": f"sessionid={client.cookies['sessionid'].value}"}
        path = "/cases/"
    connection.settings_dict["CONN_HEALTH_CHECKS"] = False
    connection.settings_dict["CONN_MAX_AGE"] = 60
    connection.close()
    handler = WSGIHandler()
    try:
        assert _call(handler, "/readyz")[0] == 200
        _terminate(connection.connection.info.backend_pid)

        status, response_headers, body = _call(handler, path, **headers)

        assert status == 503
        assert response_headers["Retry-After"] == "5"
        assert b"try again in a few seconds" in body
        assert _call(handler, path, **headers)[0] == 200  # the next request reconnects
    finally:
        connection.settings_dict["CONN_HEALTH_CHECKS"] = True
        connection.close()
