"""Users, their role and the organisation they belong to."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone

from base.errors import DomainError


class Role(models.TextChoices):
    CUSTODY_OFFICER = "custody_officer", "Custody officer"
    PROVIDER_STAFF = "provider_staff", "Programme provider staff"
    SUPERVISOR = "supervisor", "Supervisor"
    ANALYST = "analyst", "Analyst"
    ADMINISTRATOR = "administrator", "Administrator"


FORCE_ROLES = (Role.CUSTODY_OFFICER, Role.SUPERVISOR)


class User(AbstractUser):
    """A person who signs in. Their role and organisation decide everything they may see."""

    role = models.CharField(max_length=20, choices=Role.choices)
    force = models.ForeignKey(
        "cases.Force", on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    provider = models.ForeignKey(
        "programmes.Provider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )

    REQUIRED_FIELDS = ["email", "role"]

    class Meta:
        constraints = [
            # Officers and supervisors work for exactly one force; provider staff for exactly
            # one provider; an analyst may be national (no force); nobody belongs to both kinds.
            models.CheckConstraint(
                name="user_organisation_matches_role",
                condition=(
                    Q(role__in=FORCE_ROLES, force__isnull=False, provider__isnull=True)
                    | Q(role=Role.PROVIDER_STAFF, force__isnull=True, provider__isnull=False)
                    | Q(role=Role.ANALYST, provider__isnull=True)
                    | Q(role=Role.ADMINISTRATOR, force__isnull=True, provider__isnull=True)
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_force_staff(self) -> bool:
        """A custody officer or supervisor of a force: the people who work on its cases."""
        return self.role in FORCE_ROLES and self.force_id is not None

    @property
    def is_force_supervisor(self) -> bool:
        """A supervisor of a force: decides its escalations and may override eligibility."""
        return self.role == Role.SUPERVISOR and self.force_id is not None

    @property
    def is_provider_staff(self) -> bool:
        """Staff of a programme provider, who see only referrals made to it."""
        return self.role == Role.PROVIDER_STAFF and self.provider_id is not None

    @property
    def is_analyst(self) -> bool:
        """An analyst: sees aggregate reports only, never a person's record."""
        return self.role == Role.ANALYST

    @property
    def is_national_analyst(self) -> bool:
        """An analyst with no force: sees every force's figures and compares them."""
        return self.role == Role.ANALYST and self.force_id is None

    @property
    def is_administrator(self) -> bool:
        """An administrator of the service: manages organisations and users, reads the audit."""
        return self.role == Role.ADMINISTRATOR

    @property
    def needs_two_factor(self) -> bool:
        """Whether this user must prove a second factor (TOTP) after their password."""
        return self.role in settings.TWO_FACTOR_ROLES

    @property
    def may_hold_api_tokens(self) -> bool:
        """Whether a token may act as this user. A token proves no second factor, so the roles
        that must prove one (supervisors, administrators) hold none: a token never reaches
        more than its holder's pages do. Systems get their own account (see README, API)."""
        return self.is_active and not self.needs_two_factor

    @property
    def organisation_name(self) -> str:
        """The force or provider this user works for, for the header."""
        if self.force_id:
            return self.force.name
        if self.provider_id:
            return self.provider.name
        return "National" if self.role == Role.ANALYST else "Service administration"


def hash_token(key: str) -> str:
    """The SHA-256 of an API token: what is stored, so a stolen table holds no usable key."""
    return hashlib.sha256(key.encode()).hexdigest()


# The longest a token may live; each token's own lifetime is chosen when it is created, the
# default being settings.API_TOKEN_LIFETIME_DAYS.
API_TOKEN_MAX_LIFETIME = timedelta(days=365)


class ApiToken(models.Model):
    """A revocable, expiring API token belonging to a user. Only its hash is kept: it is shown
    once. A read-only token may only read (GET, HEAD, OPTIONS)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What it is for, e.g. the provider's system")
    prefix = models.CharField(max_length=8, help_text="The first characters, to tell tokens apart")
    key_hash = models.CharField(max_length=64, unique=True)
    read_only = models.BooleanField(default=False, help_text="May only read, never change")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(help_text="It stops working at this time")
    # Recorded at most once every few minutes (accounts.authentication), not on every request.
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(
        cls,
        *,
        user: User,
        name: str,
        lifetime: timedelta | None = None,
        read_only: bool = False,
    ) -> tuple[ApiToken, str]:
        """Create a token and return it with its key; the key is never retrievable again.

        Refused for a user who may not hold tokens (User.may_hold_api_tokens) and for a
        lifetime over API_TOKEN_MAX_LIFETIME.
        """
        if not user.may_hold_api_tokens:
            raise DomainError(
                "Supervisors and administrators sign in with a second factor, which a token "
                "cannot prove, so they cannot hold API tokens. A system that needs the API "
                "gets its own account: ask an administrator.",
                code="forbidden",
            )
        lifetime = lifetime or timedelta(days=settings.API_TOKEN_LIFETIME_DAYS)
        if not timedelta(0) < lifetime <= API_TOKEN_MAX_LIFETIME:
            raise DomainError(
                f"A token lives for 1 to {API_TOKEN_MAX_LIFETIME.days} days", field="lifetime"
            )
        key = secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            name=name,
            prefix=key[:8],
            key_hash=hash_token(key),
            read_only=read_only,
            expires_at=timezone.now() + lifetime,
        )
        return token, key

    @property
    def is_active(self) -> bool:
        """Not revoked: its holder may still revoke it (it may have expired)."""
        return self.revoked_at is None

    def refusal(self, now: datetime | None = None) -> str:
        """Why the API refuses this token now, or "" when it works."""
        now = now or timezone.now()
        if self.revoked_at is not None:
            return f"revoked on {_date(self.revoked_at)}"
        if self.expires_at <= now:
            return f"expired on {_date(self.expires_at)}"
        if not self.user.may_hold_api_tokens:
            return "its holder's role signs in with a second factor, which a token cannot prove"
        return ""

    def revoke(self) -> None:
        """Stop the token working from now on."""
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


def _date(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%-d %b %Y %H:%M")
