"""The start page: each role lands where their work is."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render


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
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", status=404)
