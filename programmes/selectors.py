"""Reads for programmes and referrals, scoped to what the user's organisation may see."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Role, User
from cases.models import Case, Force
from cases.selectors import cases_visible_to
from programmes.models import Programme, Referral


def programmes_serving(force: Force | int) -> QuerySet[Programme]:
    """Active programmes that take referrals from a force."""
    return (
        Programme.objects.filter(is_active=True, forces_served=force)
        .select_related("provider")
        .order_by("name")
    )


def programmes_visible_to(user: User) -> QuerySet[Programme]:
    """Programmes a user may list: their force's, their provider's, or all for administrators."""
    if not user.is_authenticated:
        return Programme.objects.none()
    if user.force_id:
        return programmes_serving(user.force_id)
    if user.provider_id:
        return Programme.objects.filter(provider_id=user.provider_id).select_related("provider")
    if user.role in (Role.ADMINISTRATOR, Role.ANALYST):
        return Programme.objects.select_related("provider")
    return Programme.objects.none()


def referrals_visible_to(user: User) -> QuerySet[Referral]:
    """Referrals the user may see: their force's cases', or those made to their provider."""
    if not user.is_authenticated:
        return Referral.objects.none()
    if user.role == Role.PROVIDER_STAFF and user.provider_id:
        return Referral.objects.filter(programme__provider_id=user.provider_id)
    if user.role in (Role.CUSTODY_OFFICER, Role.SUPERVISOR):
        return Referral.objects.filter(case__in=cases_visible_to(user))
    return Referral.objects.none()


def referrals_for_case(case: Case) -> QuerySet[Referral]:
    """A case's referrals, newest first, with their programme and provider."""
    return case.referrals.select_related("programme__provider").order_by("-referred_at")
