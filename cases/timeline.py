"""The case timeline: every status change of the case, and what the apps above it add (its
referrals' changes, see cases/extensions.py), newest first."""

from __future__ import annotations

from django.db.models import Q

from cases.extensions import TimelineEvent, timelines
from cases.models import Case, CaseOutcome, CaseStatus, Correction
from cases.person_details import display_phone


def user_name(user) -> str:
    """Who made a change, for the timeline: the user's name, or "System" for the sweep."""
    return str(user) if user else "System"


def change_title(from_status: str, to_status: str, outcome: str = "") -> str:
    """What a status change of a case means, as a police officer would put it.

    `outcome`: the case's outcome, for a change to closed. Who recorded the change is the
    event's byline, so the title names who acted when it was not them (the person, the
    provider, the sweep)."""
    S = CaseStatus  # noqa: N806 (the statuses, as in cases/rules.py)
    if not from_status:
        return "Case logged"
    if to_status in (S.ELIGIBLE, S.INELIGIBLE):
        return "Found eligible" if to_status == S.ELIGIBLE else "Found not eligible"
    if to_status == S.OFFERED:
        return "Diversion offered"
    if to_status == S.ACCEPTED:
        if from_status == S.OFFERED:
            return "Offer accepted by the person"
        return "Back with the force to refer again"
    if to_status == S.REFERRED:
        if from_status == S.ACCEPTED:
            return "Referred to a programme"
        return "Referred again after a supervisor's decision"
    if to_status == S.IN_PROGRAMME:
        if from_status == S.REFERRED:
            return "In the programme"
        return "Back in the programme after a supervisor's decision"
    if to_status == S.AWAITING_SUPERVISOR:
        return "Waiting for a supervisor to decide"
    if to_status == S.CLOSED:
        if from_status == S.OFFERED:
            return "Offer declined by the person: closed for the standard process"
        label = CaseOutcome(outcome).label.lower() if outcome in CaseOutcome.values else ""
        return f"Closed: {label}" if label else "Closed"
    return f"Case {CaseStatus(to_status).label.lower()}"


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
            title=change_title(change.from_status, change.to_status, case.outcome),
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
