"""Refuse requests no honest client sends, before they reach a view; answer 503, not 500,
while the database cannot be reached."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import unquote

from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

logger = logging.getLogger(__name__)


class RejectNulBytesMiddleware:
    """A NUL byte in the path is a 404 (no page has one) and in the query string a 400:
    PostgreSQL cannot store or compare it, and no reference, name or search term contains one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path:
            raise Http404("No such page")
        if "\x00" in unquote(request.META.get("QUERY_STRING", "")):
            return HttpResponseBadRequest("Bad request: the address contains a NUL character.")
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """While PostgreSQL cannot be reached (restarting, failing over), answer 503 with
    Retry-After, not a 500: nothing is wrong with the request, and it will work again soon.

    It sits after the session, user and second-factor middleware and loads the signed-in user
    itself, the first thing a request reads from the database, so a failure there is caught
    too; `process_exception` catches the same failure in a view. The connection that failed
    is dropped at the end of the request, and the next one reconnects (CONN_HEALTH_CHECKS).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            _ = request.user.is_authenticated  # the session and the user, loaded now
        except (OperationalError, InterfaceError):
            return database_unavailable(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, (OperationalError, InterfaceError)):
            return database_unavailable(request)
        return None


UNAVAILABLE = "The service is unavailable for a moment: try again in a few seconds."


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON in the API's error shape under /api/, else a plain page
    (no template: rendering one may itself need the database)."""
    logger.warning("database unavailable: 503 for %s %s", request.method, request.path)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"detail": UNAVAILABLE, "code": "unavailable", "field": None}, status=503
        )
    else:
        response = HttpResponse(
            f'<!DOCTYPE html><html lang="en"><title>Service unavailable</title>'
            f"<h1>Service unavailable</h1><p>{UNAVAILABLE}</p></html>",
            status=503,
        )
    response["Retry-After"] = "5"
    return response
