"""Page gates by role. Anyone else, signed in or not yet, gets the same 404 as a missing page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from accounts.models import Role, User

View = Callable[..., HttpResponse]


def pages_for(allowed: Callable[[User], bool]) -> Callable[[View], View]:
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
supervisor_required = pages_for(
    lambda user: user.role == Role.SUPERVISOR and user.force_id is not None
)
administrator_required = pages_for(lambda user: user.role == Role.ADMINISTRATOR)
