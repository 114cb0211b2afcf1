"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from accounts.middleware import TIMEOUT_WARNING_SECONDS, session_seconds_left
from accounts.models import Role
from escalations.selectors import open_escalation_count

# The roles whose work has an API (cases and referrals; analysts' reports): only their menus
# offer API tokens. An administrator works in the pages and the admin.
API_ROLES = frozenset({Role.CUSTODY_OFFICER, Role.SUPERVISOR, Role.PROVIDER_STAFF, Role.ANALYST})


def service(request: HttpRequest) -> dict[str, object]:
    """The service name for the header and page titles, and how long the signed-in user's
    idle session has left (the timeout warning, templates/includes/timeout_warning.html)."""
    return {
        "service_name": settings.SERVICE_NAME,
        "session_seconds_left": session_seconds_left(request),
        "timeout_warning_seconds": TIMEOUT_WARNING_SECONDS,
        "session_idle_seconds": settings.SESSION_COOKIE_AGE,
    }


def navigation(request: HttpRequest) -> dict[str, list[dict[str, str | bool]]]:
    """The header's navigation links for the signed-in user's role."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    if user.is_force_supervisor:
        # One COUNT on every page a supervisor sees: the queue they must keep empty.
        escalations = reverse("escalations:queue")
        items.append(
            {
                "text": f"Escalations ({open_escalation_count(user)})",
                "href": escalations,
                "current": request.path.startswith(escalations),
            }
        )
    if user.is_force_staff:
        items += [
            {"text": "Cases", "href": reverse("cases:list")},
            {"text": "Log a case", "href": reverse("cases:find_person")},
        ]
    if user.is_provider_staff:
        sessions = reverse("programmes:sessions")
        in_sessions = request.path.startswith(sessions)
        items += [
            {
                "text": "Referrals",
                "href": reverse("programmes:inbox"),
                "current": request.path.startswith(reverse("programmes:inbox")) and not in_sessions,
            },
            {"text": "Group sessions", "href": sessions, "current": in_sessions},
        ]
    if user.is_analyst:
        reports = reverse("reports:index")
        items.append(
            {"text": "Reports", "href": reports, "current": request.path.startswith(reports)}
        )
    if user.is_administrator:
        audit = reverse("audit:search")
        subject_access = reverse("data_protection:subject_access_find")
        items += [
            {"text": "Audit trail", "href": audit, "current": request.path.startswith(audit)},
            {
                "text": "Subject access",
                "href": subject_access,
                "current": request.path.startswith(subject_access),
            },
        ]
    if user.is_administrator and user.is_staff:
        items.append({"text": "Administration", "href": reverse("admin:index")})
    if user.role in API_ROLES:
        items.append({"text": "API tokens", "href": reverse("accounts:tokens")})
    return {"nav_items": items}
