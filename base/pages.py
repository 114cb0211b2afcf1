"""Page gates by role. Anyone else, signed in or not yet, gets the same 404 as a missing page.

Each gate asks one of the user's role predicates (accounts.models.User: is_force_staff,
is_force_supervisor, is_provider_staff, is_analyst, is_administrator), the same ones the
services and the API's permissions ask."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

View = Callable[..., HttpResponse]


def pages_for(allowed: Callable[[Any], bool]) -> Callable[[View], View]:
    """A decorator that lets signed-in users for whom `allowed(user)` holds reach a view."""

    def decorator(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not allowed(request.user):
                raise Http404("No such page")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


force_staff_required = pages_for(lambda user: user.is_force_staff)
provider_staff_required = pages_for(lambda user: user.is_provider_staff)
supervisor_required = pages_for(lambda user: user.is_force_supervisor)
analyst_required = pages_for(lambda user: user.is_analyst)
administrator_required = pages_for(lambda user: user.is_administrator)
