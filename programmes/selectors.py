"""Reads for programmes and referrals, scoped to what the user's organisation may see."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import (
    Count,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from accounts.models import Role, User
from audit.services import audit_record
from base.paging import LIST_CAP
from cases.models import Case, Force
from cases.selectors import case_search, cases_visible_to, people_named
from programmes import rules
from programmes.models import (
    Appointment,
    AppointmentChange,
    Attendance,
    GroupSession,
    Notification,
    Programme,
    Referral,
    ReferralStatus,
)


def programmes_serving(force: Force | int) -> QuerySet[Programme]:
    """Active programmes that take referrals from a force."""
    return (
        Programme.objects.filter(is_active=True, forces_served=force)
        .select_related("provider")
        .order_by("name")
    )


def programme_list(user: User) -> QuerySet[Programme]:
    """Programmes the user may list, with the forces each serves."""
    return programmes_visible_to(user).prefetch_related("forces_served")


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
    if user.is_provider_staff:
        return Referral.objects.filter(programme__provider_id=user.provider_id)
    if user.is_force_staff:
        return Referral.objects.filter(case__in=cases_visible_to(user))
    return Referral.objects.none()


def notifications_for_case(case: Case, *, limit: int = 20) -> list[Notification]:
    """The latest messages about a case's referrals (reminders to the person), newest first."""
    return list(
        Notification.objects.filter(referral__case=case).order_by("-created_at", "-id")[:limit]
    )


def latest_notification_by_case(case_ids: Sequence[int]) -> dict[int, Notification]:
    """Each of the cases' most recent message about its referrals, by case id (one query)."""
    latest = (
        Notification.objects.filter(referral__case_id__in=case_ids)
        .annotate(for_case=F("referral__case_id"))
        .order_by("referral__case_id", "-created_at", "-id")
        .distinct("referral__case_id")
    )
    return {notification.for_case: notification for notification in latest}


def referrals_for_case(case: Case) -> QuerySet[Referral]:
    """A case's referrals, newest first, with their programme and provider."""
    return (
        case.referrals.select_related("programme__provider", "policy")
        .prefetch_related(
            Prefetch(
                "appointments",
                queryset=Appointment.objects.order_by("starts_at", "id").prefetch_related(
                    Prefetch("attendance", queryset=Attendance.objects.filter(is_current=True)),
                    appointment_changes(),
                ),
            )
        )
        .order_by("-referred_at")
    )


# The inbox's tabs, in order, with the referral statuses each shows.
INBOX_TABS: dict[str, tuple[str, ...]] = {
    "new": (ReferralStatus.NEW,),
    "accepted": (ReferralStatus.ACCEPTED,),
    "in_progress": (ReferralStatus.IN_PROGRESS,),
    "flagged": (ReferralStatus.FLAGGED,),
    "completed": (ReferralStatus.COMPLETED,),
    "ended": (ReferralStatus.WITHDRAWN,),
}


def provider_referrals(user: User) -> QuerySet[Referral]:
    """Referrals made to the user's provider organisation; nothing for anyone else."""
    if not user.is_authenticated or not user.is_provider_staff:
        return Referral.objects.none()
    return Referral.objects.filter(provider_id=user.provider_id)


def provider_inbox_counts(user: User) -> dict[str, int]:
    """How many of the provider's referrals are in each inbox tab, in one query. Each count
    stops past LIST_CAP (base.paging), so a tab of 300,000 completed referrals costs no more
    than one of a thousand; a count above LIST_CAP reads "more than LIST_CAP"."""
    if not user.is_authenticated or not user.is_provider_staff:
        return dict.fromkeys(INBOX_TABS, 0)
    one_tab = (
        "(SELECT count(*) FROM (SELECT 1 FROM programmes_referral WHERE provider_id = %s "
        "AND status = ANY(%s) LIMIT %s) AS tab)"
    )
    params: list = []
    for statuses in INBOX_TABS.values():
        params += [user.provider_id, list(statuses), LIST_CAP + 1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join([one_tab] * len(INBOX_TABS)), params)
        counts = cursor.fetchone()
    return dict(zip(INBOX_TABS, counts, strict=True))


# The deadline an inbox tab is ordered by: the first appointment's until the person has
# attended (new and accepted referrals), then completion's.
TAB_DEADLINE = {
    "new": "first_appointment_due",
    "accepted": "first_appointment_due",
    "in_progress": "completion_due",
    "flagged": "completion_due",
    "completed": "completion_due",
}
# Tabs of referrals that have ended, the latest ending first (index referral_inbox_ended).
TAB_ENDED = frozenset({"ended"})


def provider_inbox(*, user: User, tab: str, query: str = "") -> QuerySet[Referral]:
    """One tab of the provider's inbox, the nearest deadline first, searchable.

    The deadline that matters is the first appointment's until the person has attended,
    then completion's (TAB_DEADLINE); the "Ended" tab has the latest ending first. The search
    matches the referral reference exactly, or the person's name as the case list does
    (cases.selectors.case_search, people_named).
    """
    tab = tab if tab in INBOX_TABS else "new"
    referrals = (
        provider_referrals(user)
        .filter(status__in=INBOX_TABS[tab])
        .select_related("case__person", "programme")
    )
    search = case_search(query)
    if search.problem:
        return referrals.none()
    if search.text:
        found = Referral.objects.filter(reference=search.text.upper()).values("pk")
        if not search.looks_like_reference:
            named = people_named(search.text).values("pk")
            found = found.union(Referral.objects.filter(case__person__in=named).values("pk"))
        referrals = referrals.filter(pk__in=found)
    # One index range per tab (referral_inbox_first / _completion / _ended).
    if tab in TAB_ENDED:
        return referrals.order_by(F("ended_at").desc(nulls_last=True), "-reference")
    deadline = TAB_DEADLINE[tab]
    return referrals.annotate(next_due=F(deadline)).order_by(deadline, "reference")


def referral_get(*, user: User, reference: str) -> Referral:
    """One referral the user may see (force or provider), or 404 without saying if it exists."""
    referral = (
        referrals_visible_to(user)
        .select_related("case__person", "programme__provider", "policy")
        .filter(reference=reference)
        .first()
    )
    if referral is None:
        raise Http404("No referral found")
    return referral


def referral_shown(*, user: User, reference: str) -> Referral:
    """One referral, as `referral_get`, for a page or endpoint that shows it and its person.

    The read is audited here, naming the person: a "disclose" when the reader is the
    provider's staff (personal data leaving the force), a "view" otherwise.
    """
    referral = referral_get(user=user, reference=reference)
    audit_record(
        user=user,
        action="disclose" if user.is_provider_staff else "view",
        obj=referral,
        object_id=referral.reference,
        person_id=referral.case.person_id,
    )
    return referral


def attendance_history() -> Prefetch:
    """Every attendance row of an appointment, oldest first, with who recorded it."""
    return Prefetch(
        "attendance",
        queryset=Attendance.objects.select_related("recorded_by").order_by("recorded_at", "id"),
    )


def appointment_changes() -> Prefetch:
    """Every move and cancellation of an appointment, oldest first, with who made it."""
    return Prefetch(
        "changes",
        queryset=AppointmentChange.objects.select_related("changed_by").order_by(
            "changed_at", "id"
        ),
    )


def appointments_with_attendance() -> Prefetch:
    """A referral's appointments in time order, each with its attendance history and its
    moves and cancellations."""
    return Prefetch(
        "appointments",
        queryset=Appointment.objects.prefetch_related(
            attendance_history(), appointment_changes()
        ).order_by("starts_at", "id"),
    )


def referral_list(user: User) -> QuerySet[Referral]:
    """Referrals the user may list, with the person and the programme; provider staff also get
    every appointment with its attendance history (the API shows them each)."""
    referrals = referrals_visible_to(user).select_related("case__person", "programme__provider")
    if user.is_authenticated and user.is_provider_staff:
        referrals = referrals.prefetch_related(appointments_with_attendance())
    return referrals


def referral_with_appointments(*, user: User, reference: str) -> Referral:
    """One referral the user may see, with every appointment and its attendance history."""
    referral = referral_get(user=user, reference=reference)
    prefetch_related_objects([referral], appointments_with_attendance())
    return referral


def appointments_for(referral: Referral) -> list[Appointment]:
    """A referral's appointments in time order, each with its attendance history."""
    return list(
        referral.appointments.select_related("group_session")
        .prefetch_related(attendance_history(), appointment_changes())
        .order_by("starts_at", "id")
    )


# Who is on a group session's list: booked, and their referral not ended (an ended referral's
# future places are cancelled; its past ones leave the list too).
ON_SESSION_LIST = Q(status=Appointment.Status.BOOKED) & ~Q(referral__status__in=rules.ENDED)


def group_sessions_for_provider(user: User) -> QuerySet[GroupSession]:
    """Group sessions of the provider's programmes, soonest first, with how many are on each
    list (ON_SESSION_LIST)."""
    if not user.is_authenticated or not user.is_provider_staff:
        return GroupSession.objects.none()
    on_list = Appointment.objects.filter(ON_SESSION_LIST, group_session=OuterRef("pk"))
    return (
        GroupSession.objects.filter(programme__provider_id=user.provider_id)
        .select_related("programme")
        .annotate(
            booked=Coalesce(
                Subquery(
                    on_list.order_by().values("group_session").annotate(n=Count("pk")).values("n")
                ),
                0,
            )
        )
        .order_by("starts_at")
    )


def group_session_get(*, user: User, pk: int) -> GroupSession:
    """One of the provider's group sessions, or 404."""
    session = group_sessions_for_provider(user).filter(pk=pk).first()
    if session is None:
        raise Http404("No session found")
    return session


def group_session_bookings(session: GroupSession) -> list[Appointment]:
    """Everyone on a session's list (ON_SESSION_LIST), by name, with their current attendance."""
    return list(
        session.appointments.filter(ON_SESSION_LIST)
        .select_related("referral__case__person", "referral__policy", "referral__programme")
        .prefetch_related(
            Prefetch("attendance", queryset=Attendance.objects.filter(is_current=True))
        )
        .order_by("referral__case__person__family_name", "referral__case__person__given_name")
    )


def appointments_visible_to(user: User) -> QuerySet[Appointment]:
    """Appointments of referrals made to the user's provider; nothing for anyone else."""
    return Appointment.objects.filter(referral__in=provider_referrals(user))


def appointment_found(*, user: User, pk: int | str) -> Appointment:
    """One of the provider's appointments, only its own row (for a service to lock), or 404."""
    appointment = appointments_visible_to(user).filter(pk=pk).first()
    if appointment is None:
        raise Http404("No appointment found")
    return appointment


def appointment_get(*, user: User, pk: int | str) -> Appointment:
    """One of the provider's appointments with its attendance history, or 404."""
    appointment = (
        appointments_visible_to(user)
        .select_related("referral__case")
        .prefetch_related(attendance_history(), appointment_changes())
        .filter(pk=pk)
        .first()
    )
    if appointment is None:
        raise Http404("No appointment found")
    return appointment
