"""API authentication by the hashed, revocable, expiring tokens in accounts.models.ApiToken.

A token acts as its holder, but proves no second factor: a token held by a role that must
prove one (User.may_hold_api_tokens) is refused, so a token never reaches more than its
holder's pages do. A read-only token is refused on anything but GET, HEAD and OPTIONS.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from accounts.models import ApiToken, hash_token

# How stale a token's "last used" may be: recorded at most once in this time, not per request.
LAST_USED_PRECISION = timedelta(minutes=5)


class ApiTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`; an unknown, revoked or expired key, or one whose holder may
    not hold tokens, is refused with 401; a read-only token's write with 403."""

    def authenticate(self, request: Request):
        result = super().authenticate(request)
        if result is not None and result[1].read_only and request.method not in SAFE_METHODS:
            raise PermissionDenied(
                "This token is read-only: it cannot change anything. Create a token that is "
                "not read-only to do this."
            )
        return result

    def authenticate_credentials(self, key: str):
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(key)).first()
        # A revoked key is answered as an unknown one: nothing tells it once worked.
        if token is None or token.revoked_at is not None or not token.user.is_active:
            raise AuthenticationFailed("Invalid or revoked token.")
        now = timezone.now()
        refusal = token.refusal(now)
        if refusal:
            raise AuthenticationFailed(f"This token does not work: {refusal}.")
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
            # Conditional, so concurrent requests write it once; no write on most requests.
            ApiToken.objects.filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_PRECISION),
                pk=token.pk,
            ).update(last_used_at=now)
        return token.user, token
