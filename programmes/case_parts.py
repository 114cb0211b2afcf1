"""What programmes adds to a case (see cases/extensions.py): the referral section of the case
page (with each referral's notes and end-of-programme report), the messages to the person
with their delivery (and a flag when the latest was not delivered), the referrals' status
changes, concerns and reports in the timeline, a flag on a case whose provider raised a concern,
and `referrals` in the case's API record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils import formats
from django.utils.timezone import localtime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.extensions import CaseFlag, CaseSection, TimelineEvent
from cases.models import Case, CaseStatus
from cases.timeline import user_name
from programmes.models import (
    Notification,
    ProgrammeReport,
    Referral,
    ReferralNote,
    ReferralStatus,
    ReferralStatusChange,
)
from programmes.notice import NOTICE_STATUSES
from programmes.selectors import (
    latest_notification_by_case,
    notifications_for_case,
    open_concerns_by_case,
    referrals_for_case,
    report_of,
)
from programmes.serializers import ReferralSerializer


def referral_section(case: Case) -> dict[str, Any]:
    """The case's referrals, newest first, with their appointments and attendance, each one's
    notes (newest first) and end-of-programme report, and the one the person still has to act
    on (for the notice).

    The case page is its force's only, and the force reads every note on its referrals
    (programmes/rules.py note_readable), so the notes are all of them.
    """
    referrals = list(referrals_for_case(case))
    notes: dict[int, list[ReferralNote]] = {}
    for note in (
        ReferralNote.objects.filter(referral__case=case)
        .select_related("written_by", "written_for_provider")
        .order_by("-written_at", "-id")
    ):
        notes.setdefault(note.referral_id, []).append(note)
    for referral in referrals:
        referral.notes_shown = notes.get(referral.pk, [])
        referral.report_filed = report_of(referral)
    waiting = (r for r in referrals if r.status in NOTICE_STATUSES)
    return {"referrals": referrals, "notice_referral": next(waiting, None)}


REFERRAL_SECTION = CaseSection(
    template="programmes/includes/case_referrals.html", context=referral_section
)


MESSAGES_SECTION = CaseSection(
    template="programmes/includes/case_messages.html",
    context=lambda case: {"case_messages": notifications_for_case(case)},
)

# What the officer can do about a message that was not delivered, by why.
ADVICE = {
    Notification.Failure.INVALID: "Check the person's contact details with them.",
    Notification.Failure.PERMANENT: "Check the person's contact details with them.",
    Notification.Failure.TEMPORARY: "Remind the person another way.",
}
OTHER_ADVICE = "Remind the person another way; the service's administrator has been told."


def undelivered_message_flags(case_ids: Sequence[int]) -> dict[int, list[CaseFlag]]:
    """A flag on each of the cases whose latest message to the person was not delivered."""
    flags = {}
    for case_id, message in latest_notification_by_case(case_ids).items():
        if message.status != Notification.Status.FAILED or not message.failure:
            continue  # erased by retention, not a delivery failure
        channel = "text message" if message.channel == Notification.Channel.SMS else "email"
        to = f" to {message.recipient}" if message.recipient else ""
        day = formats.date_format(localtime(message.created_at), "j F Y")
        flags[case_id] = [
            CaseFlag(
                label="Message not delivered",
                detail=f"The {channel} of {day}{to} was not delivered: "
                f"{message.failure_text()}. {ADVICE.get(message.failure, OTHER_ADVICE)}",
                anchor="messages",
                link="See the messages",
            )
        ]
    return flags


def declined_referral_flags(case_ids: Sequence[int]) -> dict[int, list[CaseFlag]]:
    """A flag on each case waiting to be referred again because the provider declined its
    latest referral, with who declined, when and why."""
    declined = (
        Referral.objects.filter(
            case_id__in=case_ids, case__status=CaseStatus.ACCEPTED, status=ReferralStatus.DECLINED
        )
        .select_related("programme__provider")
        .order_by("case_id", "-referred_at", "-id")
        .distinct("case_id")
    )
    return {
        referral.case_id: [
            CaseFlag(
                label="Referral declined",
                detail=f"{referral.programme.provider.name} declined referral "
                f"{referral.reference} on "
                f"{formats.date_format(localtime(referral.updated_at), 'j F Y')}: "
                f"{referral.decline_reason}. Refer the person to another programme.",
                anchor="referral",
                link="See the referral",
            )
        ]
        for referral in declined
    }


def referral_timeline(case: Case) -> list[TimelineEvent]:
    """Every status change of the case's referrals (a flag by the sweep is the escalation's
    own entry, which says what was missed and by when: escalations.selectors)."""
    changes = (
        ReferralStatusChange.objects.filter(referral__case=case)
        .exclude(to_status=ReferralStatus.FLAGGED)
        .select_related("changed_by", "referral__programme__provider")
    )
    return [
        TimelineEvent(
            title=referral_change_title(change),
            at=change.changed_at,
            by=user_name(change.changed_by),
            description=change.reason or change.referral.programme.name,
        )
        for change in changes
    ]


def notes_and_reports_timeline(case: Case) -> list[TimelineEvent]:
    """The concerns raised on the case's referrals and their end-of-programme reports."""
    concerns = (
        ReferralNote.objects.filter(referral__case=case)
        .exclude(concern_category="")
        .select_related("written_by", "referral")
    )
    reports = ProgrammeReport.objects.filter(referral__case=case).select_related(
        "filed_by", "referral"
    )
    return [
        *(
            TimelineEvent(
                title=f"Referral {note.referral.reference}: concern raised "
                f"({note.get_concern_category_display().lower()})",
                at=note.written_at,
                by=user_name(note.written_by),
                description=note.body,
            )
            for note in concerns
        ),
        *(
            TimelineEvent(
                title=f"Referral {report.referral.reference}: end-of-programme report",
                at=report.filed_at,
                by=user_name(report.filed_by),
                description=f"{report.get_outcome_display()}: {report.sessions_attended} of "
                f"{report.sessions_required} sessions attended. "
                f"{report.get_onward_referral_display()}.",
            )
            for report in reports
        ),
    ]


def concern_flags(case_ids: Sequence[int]) -> dict[int, list[CaseFlag]]:
    """A flag on each of the cases with a concern raised on a referral still open (the latest
    concern says what it was about)."""
    flags = {}
    for case_id, note in open_concerns_by_case(case_ids).items():
        day = formats.date_format(localtime(note.written_at), "j F Y")
        provider = note.written_for_provider.name if note.written_for_provider else "The provider"
        flags[case_id] = [
            CaseFlag(
                label="Concern raised",
                detail=f"{provider} raised a concern "
                f"({note.get_concern_category_display().lower()}) on referral "
                f"{note.referral.reference} on {day}.",
                anchor=f"notes-{note.referral.reference}",
                link="Read the concern",
            )
        ]
    return flags


def referral_change_title(change: ReferralStatusChange) -> str:
    """What a referral's status change means, naming the provider where it acted."""
    referral = change.referral
    provider = referral.programme.provider.name
    match change.to_status:
        case ReferralStatus.NEW:
            return f"Referral {referral.reference} made to {referral.programme.name} ({provider})"
        case ReferralStatus.ACCEPTED if change.from_status == ReferralStatus.NEW:
            return f"Referral accepted by {provider}"
        case ReferralStatus.DECLINED:
            return f"Referral declined by {provider}"
        case ReferralStatus.IN_PROGRESS:
            return "Programme started: first appointment attended"
        case ReferralStatus.COMPLETED:
            return f"Programme completed with {provider}"
        case ReferralStatus.WITHDRAWN:
            return f"Referral {referral.reference} withdrawn"
    return f"Referral {referral.reference}: {ReferralStatus(change.to_status).label.lower()}"


@extend_schema_field(ReferralSerializer(many=True))
class CaseReferralsField(serializers.Field):
    """The case's referrals with their deadlines, newest first (read-only)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, case: Case) -> list[dict[str, Any]]:
        if case.pk is None:
            return []
        return ReferralSerializer(referrals_for_case(case), many=True).data
