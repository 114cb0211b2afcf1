"""What programmes adds to a case (see cases/extensions.py): the referral section of the case
page, the referrals' status changes in the timeline, and `referrals` in the case's API record."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.extensions import CaseSection, TimelineEvent
from cases.models import Case
from cases.timeline import user_name
from programmes.models import ReferralStatus, ReferralStatusChange
from programmes.selectors import referrals_for_case
from programmes.serializers import ReferralSerializer


def referral_section(case: Case) -> dict[str, Any]:
    """The case's referrals, newest first, with their appointments and attendance."""
    return {"referrals": list(referrals_for_case(case))}


REFERRAL_SECTION = CaseSection(
    template="programmes/includes/case_referrals.html", context=referral_section
)


def referral_timeline(case: Case) -> list[TimelineEvent]:
    """Every status change of the case's referrals."""
    changes = ReferralStatusChange.objects.filter(referral__case=case).select_related(
        "changed_by", "referral__programme"
    )
    return [
        TimelineEvent(
            title=f"Referral {change.referral.reference}: "
            f"{ReferralStatus(change.to_status).label.lower()}",
            at=change.changed_at,
            by=user_name(change.changed_by),
            description=change.reason or change.referral.programme.name,
        )
        for change in changes
    ]


@extend_schema_field(ReferralSerializer(many=True))
class CaseReferralsField(serializers.Field):
    """The case's referrals with their deadlines, newest first (read-only)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, case: Case) -> list[dict[str, Any]]:
        if case.pk is None:
            return []
        return ReferralSerializer(referrals_for_case(case), many=True).data
