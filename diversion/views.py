"""The start page, where each role lands, and the error pages (JSON under /api/)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import defaults

from base.api import json_error


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send supervisors to their escalations, officers to their case list, provider staff to
    their inbox, analysts to their reports; administrators see the service home, with
    everything they look after."""
    if request.user.is_force_supervisor:
        return redirect("escalations:queue")
    if request.user.is_force_staff:
        return redirect("cases:list")
    if request.user.is_provider_staff:
        return redirect("programmes:inbox")
    if request.user.is_analyst:
        return redirect("reports:index")
    if request.user.is_administrator:
        return render(request, "home_administrator.html")
    return render(request, "home.html")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404: JSON for the API (whatever the URL), the GOV.UK page for everything else."""
    if request.path.startswith("/api/"):
        return json_error(404, "Not found.", "not_found")
    return render(request, "404.html", status=404)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """400 for a request Django refuses before any view (a form over its field limit, a bad
    host): JSON for the API, the GOV.UK page for everything else."""
    if request.path.startswith("/api/"):
        return json_error(400, "Bad request: the request could not be read.", "invalid")
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500: JSON for the API, the GOV.UK page for everything else. Nothing was saved: every
    request's writes are one transaction."""
    if request.path.startswith("/api/"):
        return json_error(
            500,
            "Something went wrong on our side and nothing was saved: try again, and tell the "
            "service desk if it happens again.",
            "server_error",
        )
    return defaults.server_error(request)
