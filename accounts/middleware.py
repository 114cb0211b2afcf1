"""Supervisors and administrators prove a second factor before anything else; an active
user's session is kept alive without a write on every request."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

# Paths reachable between the password and the second factor.
OPEN_PREFIXES = (
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/two-factor/",
    "/static/",
    "/healthz",
    "/readyz",
)


class RequireTwoFactorMiddleware:
    """Send a signed-in user who needs two factors to set up or enter their code."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and user.needs_two_factor
            and not user.is_verified()
            and not request.path.startswith(OPEN_PREFIXES)
        ):
            return redirect(f"{reverse('accounts:two_factor')}?next={request.path}")
        return self.get_response(request)


# How often a signed-in user's session is saved again to keep it alive: the idle timeout
# (SESSION_COOKIE_AGE) counts from the last save, so it is exact to within this.
SESSION_REFRESH_SECONDS = 60


class RefreshSessionMiddleware:
    """Keep an active user's session alive without writing it on every request.

    The session's age is an idle timeout: it must be saved again while the user works. Saving
    it on every request (SESSION_SAVE_EVERY_REQUEST) costs three statements a page; this saves
    it at most once a minute.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and session.session_key and not session.modified:
            now = int(time.time())
            if now - session.get("_refreshed", 0) >= SESSION_REFRESH_SECONDS:
                session["_refreshed"] = now  # marks it modified: SessionMiddleware saves it
        return response


# The warning before the idle sign-out comes this long before it (static/js/timeout.js).
TIMEOUT_WARNING_SECONDS = 120


def session_seconds_left(request: HttpRequest) -> int | None:
    """How long, at the most, before the signed-in user's idle session ends, counted from its
    last save (the middleware above may save it again after this page, which only adds
    time: a warning from this figure is never late). None for a visitor not signed in."""
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    if session is None or user is None or not user.is_authenticated:
        return None
    now = int(time.time())
    saved = session.get("_refreshed", now)
    return max(0, settings.SESSION_COOKIE_AGE - (now - saved))


def keep_alive(request: HttpRequest) -> None:
    """Save the session now, so its idle time starts again (the "Stay signed in" button)."""
    request.session["_refreshed"] = int(time.time())
