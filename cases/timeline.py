"""The case timeline: every status change of the case, and what the apps above it add (its
referrals' changes, see cases/extensions.py), newest first."""

from __future__ import annotations

from django.db.models import Q

from cases.extensions import TimelineEvent, timelines
from cases.models import Case, CaseStatus, Correction
from cases.person_details import display_phone


def user_name(user) -> str:
    """Who made a change, for the timeline: the user's name, or "System" for the sweep."""
    return str(user) if user else "System"


def correction_text(correction: Correction) -> str:
    """Each field as it was and as it is now, then why."""
    changes = "; ".join(
        f"{change['label']}: {_shown(change, 'before')} → {_shown(change, 'after')}"
        if "before" in change
        else change["label"]  # erased by retention: only which fields remain
        for change in correction.changes
    )
    return f"{changes}. Why: {correction.reason}"


def _shown(change: dict, side: str) -> str:
    """A value as people write it: a phone number as 07700 900123, not as it is stored."""
    value = change[side]
    return display_phone(value) if change.get("field") == "phone" and value else value


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
    events += [
        TimelineEvent(
            title=f"Corrected: {', '.join(change['label'].lower() for change in k.changes)}",
            at=k.corrected_at,
            by=user_name(k.corrected_by),
            description=correction_text(k),
        )
        for k in Correction.objects.filter(
            Q(case=case) | Q(case__isnull=True, person_id=case.person_id)
        ).select_related("corrected_by")
    ]
    for more in timelines():
        events += more(case)
    return sorted(events, key=lambda event: event.at, reverse=True)
