"""Users, their role and the organisation they belong to."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


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
    def is_provider_staff(self) -> bool:
        """Staff of a programme provider, who see only referrals made to it."""
        return self.role == Role.PROVIDER_STAFF and self.provider_id is not None

    @property
    def organisation_name(self) -> str:
        """The force or provider this user works for, for the header."""
        if self.force_id:
            return self.force.name
        if self.provider_id:
            return self.provider.name
        return "National" if self.role == Role.ANALYST else "Service administration"
