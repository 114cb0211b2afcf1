"""Make the request's address and path available to audit rows written by services."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit.context import RequestContext, current_request


class RequestContextMiddleware:
    """Sets the audit context for the duration of one request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
        token = current_request.set(
            RequestContext(ip_address=request.META.get("REMOTE_ADDR"), path=request.path[:300])
        )
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)
