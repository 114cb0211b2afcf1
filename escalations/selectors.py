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


# How many of each kind of waiting work the queue page lists (the counts say how many in all).
WAITING_SHOWN = 5


@dataclass(frozen=True)
class WaitingOnOthers:
    """Work of the supervisor's force waiting on someone else: offers the person has not
    answered yet, oldest first, and new referrals a provider has not taken on within
    ACCEPT_WITHIN_WORKING_DAYS, oldest first. Counts stop at LIST_CAP + 1."""

    offers: list[Case]
    offers_count: int
    referrals: list[Referral]
    referrals_count: int


def waiting_on_others(user: User, *, today: date) -> WaitingOnOthers:
    """What the supervisor's home shows besides escalations (four short queries, each one
    index range of the force)."""
    if not user.is_authenticated or not user.is_force_supervisor:
        return WaitingOnOthers(offers=[], offers_count=0, referrals=[], referrals_count=0)
    offers = Case.objects.filter(force_id=user.force_id, status=CaseStatus.OFFERED)
    cutoff = datetime.combine(acceptance_overdue_before(today), time.min, tzinfo=LONDON)
    referrals = Referral.objects.filter(
        status=ReferralStatus.NEW, case__force_id=user.force_id, referred_at__lt=cutoff
    )
    offers_count, referrals_count = _capped_counts(offers, referrals)
    return WaitingOnOthers(
        offers=list(
            offers.select_related("person")
            .annotate(offered_at=Max("offers__offered_at"))
            .order_by("created_at", "id")[:WAITING_SHOWN]
        )
        if offers_count
        else [],
        offers_count=offers_count,
        referrals=list(
            referrals.select_related("case__person", "programme__provider").order_by(
                "referred_at", "id"
            )[:WAITING_SHOWN]
        )
        if referrals_count
        else [],
        referrals_count=referrals_count,
    )


def _capped_counts(*querysets: QuerySet) -> tuple[int, ...]:
    """How many rows each query finds, up to LIST_CAP + 1, all in one round trip."""
    parts, params = [], []
    for number, queryset in enumerate(querysets):
        sql, more = queryset.order_by().values("pk")[: LIST_CAP + 1].query.sql_with_params()
        parts.append(f"(SELECT count(*) FROM ({sql}) AS q{number})")  # noqa: S608 (compiled)
        params += more
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)  # noqa: S608 (compiled queries)
        return tuple(cursor.fetchone())


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
