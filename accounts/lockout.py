"""Sign-in lockout, by username and, separately and more loosely, by address (django-axes).

- A username is locked after AXES_FAILURE_LIMIT (5) failed sign-ins, from anywhere.
- An address is locked after AXES_ADDRESS_FAILURE_LIMIT (30) failed sign-ins from it, over any
  usernames: spraying one password over many usernames is slowed, while one person's typos
  (at most 5 per username before it locks) cannot lock out everyone behind a station's address.
- A lock lasts AXES_COOLOFF_TIME (30 minutes) from the last counted failure. Attempts while
  locked are refused and not counted, so they neither extend a lock nor add to the address's
  count.
- Signing in successfully clears that username's failures only: one valid account must not
  wipe the failures an address has run up against other usernames.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

USERNAME, ADDRESS = "username", "address"


class LockoutHandler(AxesDatabaseHandler):
    """axes' database handler with a limit of its own for each lockout parameter.

    AXES_LOCKOUT_PARAMETERS is ["username", "ip_address"]; axes counts each separately but
    compares them all with one limit, so the counting is done here.
    """

    def failures(self, request: HttpRequest, credentials: dict | None = None) -> dict[str, int]:
        """Recent failed sign-ins for the request's username and for its address."""
        by_username, by_address = self.get_user_attempts(request, credentials)
        return {
            USERNAME: by_username.aggregate(n=Sum("failures_since_start"))["n"] or 0,
            ADDRESS: by_address.aggregate(n=Sum("failures_since_start"))["n"] or 0,
        }

    def locked_by(self, request: HttpRequest, credentials: dict | None = None) -> str | None:
        """USERNAME or ADDRESS when that one has reached its limit, else None."""
        counts = self.failures(request, credentials)
        if counts[USERNAME] >= settings.AXES_FAILURE_LIMIT:
            return USERNAME
        if counts[ADDRESS] >= settings.AXES_ADDRESS_FAILURE_LIMIT:
            return ADDRESS
        return None

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """The count axes compares with AXES_FAILURE_LIMIT: at the limit when either the
        username or the address has reached its own, else the username's failures."""
        username_failures = self.failures(request, credentials)[USERNAME]
        if self.locked_by(request, credentials):
            return max(username_failures, settings.AXES_FAILURE_LIMIT)
        return username_failures

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """After a successful sign-in, forget that username's failures (not the address's)."""
        by_username, _ = self.filter_user_attempts(request, credentials)
        count, _ = by_username.delete()
        return count


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: dict | None = None
) -> HttpResponse:
    """The page shown to a locked-out sign-in, saying whether the username or the address is."""
    handler = AxesProxyHandler.get_implementation()
    locked_by = (
        handler.locked_by(request, credentials) if isinstance(handler, LockoutHandler) else None
    )
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {"by_address": locked_by == ADDRESS, "cooloff_minutes": minutes}
    return render(
        request, settings.AXES_LOCKOUT_TEMPLATE, context, status=settings.AXES_HTTP_RESPONSE_CODE
    )
