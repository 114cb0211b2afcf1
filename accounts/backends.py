"""Sign-in with a username and password, loading the user with their organisation."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from accounts.models import User


class UserWithOrganisationBackend(ModelBackend):
    """Django's ModelBackend, except that the user of every request comes with their force or
    provider (every page's header names it), in the same query."""

    def get_user(self, user_id: int) -> User | None:
        user = User._default_manager.select_related("force", "provider").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
