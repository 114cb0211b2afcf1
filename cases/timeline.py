"""The case timeline: every status change of the case and its referrals, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cases.models import Case, CaseStatus
from programmes.models import ReferralStatus, ReferralStatusChange


@dataclass(frozen=True)
class TimelineEvent:
    title: str
    at: datetime
    by: str
    description: str


def _name(user) -> str:
    return str(user) if user else "System"


def case_timeline(case: Case) -> list[TimelineEvent]:
    """Status changes of the case and of its referrals, as timeline events, newest first."""
    events = [
        TimelineEvent(
            title=f"Case {CaseStatus(change.to_status).label.lower()}"
            if change.from_status
            else "Case logged",
            at=change.changed_at,
            by=_name(change.changed_by),
            description=change.reason,
        )
        for change in case.status_changes.select_related("changed_by")
    ]
    referral_changes = ReferralStatusChange.objects.filter(referral__case=case).select_related(
        "changed_by", "referral__programme"
    )
    events += [
        TimelineEvent(
            title=f"Referral {change.referral.reference}: "
            f"{ReferralStatus(change.to_status).label.lower()}",
            at=change.changed_at,
            by=_name(change.changed_by),
            description=change.reason or change.referral.programme.name,
        )
        for change in referral_changes
    ]
    return sorted(events, key=lambda event: event.at, reverse=True)
