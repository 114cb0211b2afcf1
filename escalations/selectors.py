"""Reads of escalations, scoped to the supervisor's force: another force's is never found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User
from audit.services import audit_record
from base.paging import LIST_CAP
from cases.extensions import TimelineEvent
from cases.models import Case
from escalations.breaches import Breach
from escalations.models import Escalation


def escalations_visible_to(user: User) -> QuerySet[Escalation]:
    """Escalations a supervisor may review: their own force's, and nobody else's."""
    if not user.is_authenticated or not user.is_force_supervisor:
        return Escalation.objects.none()
    return Escalation.objects.filter(force_id=user.force_id)


@dataclass(frozen=True)
class QueueTotals:
    """The queue's figures: open escalations (exact), decided ones (up to LIST_CAP + 1, so a
    count above LIST_CAP reads "more than"), and when the oldest open one was flagged."""

    open: int
    decided: int
    oldest: datetime | None


def queue_totals(user: User) -> QueueTotals:
    """The supervisor's force's queue figures in one query, each from its own index range
    (escalation_force_open, escalation_force_decided), never a pass over every escalation."""
    if not user.is_authenticated or not user.is_force_supervisor:
        return QueueTotals(open=0, decided=0, oldest=None)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT count(*) FROM programmes_escalation
                    WHERE force_id = %(force)s AND decided_at IS NULL),
                   (SELECT count(*) FROM (SELECT 1 FROM programmes_escalation
                                          WHERE force_id = %(force)s AND decided_at IS NOT NULL
                                          LIMIT %(cap)s) AS decided),
                   (SELECT min(flagged_at) FROM programmes_escalation
                    WHERE force_id = %(force)s AND decided_at IS NULL)
            """,
            {"force": user.force_id, "cap": LIST_CAP + 1},
        )
        open_count, decided, oldest = cursor.fetchone()
    return QueueTotals(open=open_count, decided=decided, oldest=oldest)


def open_escalation_count(user: User) -> int:
    """How many of the supervisor's force's escalations wait for a decision (one COUNT)."""
    return escalations_visible_to(user).filter(decided_at__isnull=True).count()


def escalation_queue(
    user: User, *, tab: str, rule: str, programme_id: int | None
) -> QuerySet[Escalation]:
    """One tab of the force's escalations: open ones oldest first, decided ones newest first."""
    escalations = escalations_visible_to(user).select_related(
        "referral__case__person", "referral__programme", "decided_by"
    )
    if rule:
        escalations = escalations.filter(rule=rule)
    if programme_id:
        escalations = escalations.filter(referral__programme_id=programme_id)
    if tab == "decided":
        return escalations.filter(decided_at__isnull=False).order_by("-decided_at", "-id")
    return escalations.filter(decided_at__isnull=True).order_by("flagged_at", "id")


def escalation_get(*, user: User, pk: int) -> Escalation:
    """One escalation of the supervisor's force, or 404 without saying whether it exists."""
    escalation = (
        escalations_visible_to(user)
        .select_related(
            "referral__case__person",
            "referral__programme__provider",
            "referral__policy",
            "decided_by",
            "new_programme",
        )
        .filter(pk=pk)
        .first()
    )
    if escalation is None:
        raise Http404("No escalation found")
    return escalation


def escalation_shown(*, user: User, pk: int, action: str = "view", reason: str = "") -> Escalation:
    """One escalation, as `escalation_get`, for a page that shows it and its person: the read
    is audited here (`action` "view", or "export" for the printable summary), naming the
    person."""
    escalation = escalation_get(user=user, pk=pk)
    audit_record(
        user=user,
        action=action,
        obj=escalation,
        person_id=escalation.referral.case.person_id,
        reason=reason,
    )
    return escalation


def escalation_timeline(case: Case) -> list[TimelineEvent]:
    """Each time the sweep flagged one of the case's referrals, for the case's timeline: what
    was missed and by when ("Flagged: no first appointment attended by 15 December 2026")."""
    escalations = Escalation.objects.filter(referral__case=case).select_related(
        "referral__programme"
    )
    return [
        TimelineEvent(
            title=Breach.from_facts(escalation.facts, rule=escalation.rule).headline(
                named=escalation.rule
            ),
            at=escalation.flagged_at,
            by="the deadline sweep",
            description=f"Referral {escalation.referral.reference} to "
            f"{escalation.referral.programme.name}. "
            + (
                "Decided by a supervisor."
                if escalation.decided_at
                else "Waiting for a supervisor's decision."
            ),
        )
        for escalation in escalations
    ]
