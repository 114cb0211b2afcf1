"""Refuse requests no honest client sends, before they reach a view; answer 503, not 500,
while the database cannot be reached; show the service's own error pages even with DEBUG on."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string

from base.api import json_error
from diversion.views import not_found

logger = logging.getLogger(__name__)


def is_api(request: HttpRequest) -> bool:
    """Whether the request is for the API, which answers errors as JSON."""
    return request.path.startswith("/api/")


class RejectNulBytesMiddleware:
    """A NUL byte in the path is a 404 (no page has one) and in the query string a 400:
    PostgreSQL cannot store or compare it, and no reference, name or search term contains one.
    The API's parsers refuse one in a body (base/parsers.py); forms refuse it on the field."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path:
            if is_api(request):
                return json_error(404, "Not found.", "not_found")
            return HttpResponse("Not found.", status=404, content_type="text/plain")
        if "\x00" in unquote(request.META.get("QUERY_STRING", "")):
            message = "Bad request: the address contains a NUL character (%00): remove it."
            if is_api(request):
                return json_error(400, message, "invalid")
            return HttpResponse(message, status=400, content_type="text/plain")
        return self.get_response(request)


class LimitBodySizeMiddleware:
    """Refuse a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE with 413, before reading it.

    Django checks the size of form data only when it parses it, and not at all for a body
    read as a stream, as the API's JSON is."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            message = f"The body is larger than the {limit // 1000} kB this service accepts."
            if is_api(request):
                return json_error(413, message, "too_large")
            return HttpResponse(message, status=413, content_type="text/plain")
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
    if is_api(request):
        response: HttpResponse = json_error(503, UNAVAILABLE, "unavailable")
    else:
        response = HttpResponse(
            f'<!DOCTYPE html><html lang="en"><title>Service unavailable</title>'
            f"<h1>Service unavailable</h1><p>{UNAVAILABLE}</p></html>",
            status=503,
        )
    response["Retry-After"] = "5"
    return response


class ServiceErrorPagesMiddleware:
    """With DEBUG on, the service's own 404 and 500 pages instead of Django's technical pages
    (which list every URL and show settings): the demo runs with DEBUG on and must look like
    the service. Without DEBUG, handler404 and Django's 500.html already do this.

    A view's Http404 and any other failure of a view are caught here (but a database that
    cannot be reached, which DatabaseUnavailableMiddleware answers with a 503); a 404 that
    never reached a view (an address no URL matches) comes back as Django's page and is
    replaced. The API keeps its JSON answers. TECHNICAL_ERROR_PAGES=1 turns this off.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @staticmethod
    def active(request: HttpRequest) -> bool:
        return (
            settings.DEBUG
            and not settings.TECHNICAL_ERROR_PAGES
            and not request.path.startswith("/api/")
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            self.active(request)
            and response.status_code == 404
            and response.get("Content-Type", "").startswith("text/html")
            and not getattr(response, "service_page", False)
        ):
            return self.not_found(request)
        return response

    def not_found(self, request: HttpRequest) -> HttpResponse:
        response = not_found(request, Http404())
        response.service_page = True
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not self.active(request):
            return None
        if isinstance(exception, Http404):
            return self.not_found(request)
        if isinstance(
            exception,
            BadRequest | PermissionDenied | SuspiciousOperation | OperationalError | InterfaceError,
        ):
            return None  # Django's 400 and 403 pages, as without DEBUG; the 503 above
        # Logged as Django would log it (the path, never the request's data), then the page.
        logger.error("Internal Server Error: %s", request.path, exc_info=exception)
        return HttpResponse(render_to_string("500.html"), status=500)
