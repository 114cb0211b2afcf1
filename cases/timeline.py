"""The case timeline: every status change of the case, and what the apps above it add (its
referrals' changes, see cases/extensions.py), newest first."""

from __future__ import annotations

from cases.extensions import TimelineEvent, timelines
from cases.models import Case, CaseStatus


def user_name(user) -> str:
    """Who made a change, for the timeline: the user's name, or "System" for the sweep."""
    return str(user) if user else "System"


def case_timeline(case: Case) -> list[TimelineEvent]:
    """Status changes of the case and of what hangs off it, as timeline events, newest first."""
    events = [
        TimelineEvent(
            title=f"Case {CaseStatus(change.to_status).label.lower()}"
            if change.from_status
            else "Case logged",
            at=change.changed_at,
            by=user_name(change.changed_by),
            description=change.reason,
        )
        for change in case.status_changes.select_related("changed_by")
    ]
    for more in timelines():
        events += more(case)
    return sorted(events, key=lambda event: event.at, reverse=True)
