"""Reads of escalations, scoped to the supervisor's force: another force's is never found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db import connection
from django.db.models import Max, QuerySet
from django.http import Http404

from accounts.models import User
from audit.services import audit_record
from base.clock import LONDON
from base.paging import LIST_CAP
from cases.extensions import TimelineEvent
from cases.models import Case, CaseStatus
from escalations.breaches import Breach
from escalations.models import Escalation
from programmes.models import Referral, ReferralStatus
from programmes.rules import acceptance_overdue_before


def escalations_visible_to(user: User) -> QuerySet[Escalation]:
    """Escalations a supervisor may review: their own force's, and nobody else's."""
    if not user.is_authenticated or not user.is_force_supervisor:
        return Escalation.objects.none()
    return Escalation.objects.filter(force_id=user.force_id)


@dataclass(frozen=True)
class QueueTotals:
    """The queue's figures: open escalations (exact), decided ones (up to LIST_CAP + 1, so a
    count above LIST_CAP reads "more than"), when the oldest open one was flagged, and the
    work waiting on others (waiting_on_others), each up to LIST_CAP + 1."""

    open: int
    decided: int
    oldest: datetime | None
    offers_waiting: int = 0
    referrals_waiting: int = 0


def queue_totals(user: User, *, today: date) -> QueueTotals:
    """The supervisor's force's queue figures in one query, each from its own index range
    (escalation_force_open, escalation_force_decided, ...), never a pass over every row."""
    if not user.is_authenticated or not user.is_force_supervisor:
        return QueueTotals(open=0, decided=0, oldest=None)
    waiting, params = [], [user.force_id, user.force_id, LIST_CAP + 1, user.force_id]
    for number, rows in enumerate(_waiting_on_others(user, today=today)):
        sql, more = rows.order_by().values("pk")[: LIST_CAP + 1].query.sql_with_params()
        waiting.append(f"(SELECT count(*) FROM ({sql}) AS waiting{number})")  # noqa: S608
        params += more
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT (SELECT count(*) FROM programmes_escalation
                    WHERE force_id = %s AND decided_at IS NULL),
                   (SELECT count(*) FROM (SELECT 1 FROM programmes_escalation
                                          WHERE force_id = %s AND decided_at IS NOT NULL
                                          LIMIT %s) AS decided),
                   (SELECT min(flagged_at) FROM programmes_escalation
                    WHERE force_id = %s AND decided_at IS NULL),
                   {", ".join(waiting)}
            """,  # noqa: S608 (compiled querysets, no input)
            params,
        )
        open_count, decided, oldest, offers, referrals = cursor.fetchone()
    return QueueTotals(
        open=open_count,
        decided=decided,
        oldest=oldest,
        offers_waiting=offers,
        referrals_waiting=referrals,
    )


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


# How many of each kind of waiting work the waiting page lists, oldest first.
WAITING_SHOWN = 50


@dataclass(frozen=True)
class WaitingOnOthers:
    """Work of the supervisor's force waiting on someone else, oldest first: offers the
    person has not answered yet, and new referrals a provider has not taken on within
    ACCEPT_WITHIN_WORKING_DAYS (the counts are in queue_totals)."""

    offers: list[Case]
    referrals: list[Referral]


def _waiting_on_others(user: User, *, today: date) -> tuple[QuerySet[Case], QuerySet[Referral]]:
    """The force's offers waiting for an answer, and its referrals not taken on in time."""
    offers = Case.objects.filter(force_id=user.force_id, status=CaseStatus.OFFERED)
    cutoff = datetime.combine(acceptance_overdue_before(today), time.min, tzinfo=LONDON)
    referrals = Referral.objects.filter(
        status=ReferralStatus.NEW, case__force_id=user.force_id, referred_at__lt=cutoff
    )
    return offers, referrals


def waiting_on_others(user: User, *, today: date) -> WaitingOnOthers:
    """The oldest of them, with what the page shows of each (two queries)."""
    if not user.is_authenticated or not user.is_force_supervisor:
        return WaitingOnOthers(offers=[], referrals=[])
    offers, referrals = _waiting_on_others(user, today=today)
    return WaitingOnOthers(
        offers=list(
            offers.select_related("person")
            .annotate(offered_at=Max("offers__offered_at"))
            .order_by("created_at", "id")[:WAITING_SHOWN]
        ),
        referrals=list(
            referrals.select_related("case__person", "programme__provider").order_by(
                "referred_at", "id"
            )[:WAITING_SHOWN]
        ),
    )


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
