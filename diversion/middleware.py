"""Refuse requests no honest client sends, before they reach a view; show the service's own
error pages even with DEBUG on."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.loader import render_to_string

from diversion.views import not_found

logger = logging.getLogger("diversion.errors")


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


class ServiceErrorPagesMiddleware:
    """With DEBUG on, the service's own 404 and 500 pages instead of Django's technical pages
    (which list every URL and show settings): the demo runs with DEBUG on and must look like
    the service. Without DEBUG, handler404 and Django's 500.html already do this.

    A view's Http404 and any other failure of a view are caught here; a 404 that never reached
    a view (an address no URL matches) comes back as Django's page and is replaced. The API
    keeps its JSON answers. TECHNICAL_ERROR_PAGES=1 turns this off for debugging.
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
        if isinstance(exception, BadRequest | PermissionDenied | SuspiciousOperation):
            return None  # Django answers these with its 400 and 403 pages, as without DEBUG
        # Logged as Django would log it (the path, never the request's data), then the page.
        logger.error("Internal Server Error: %s", request.path, exc_info=exception)
        return HttpResponse(render_to_string("500.html"), status=500)
