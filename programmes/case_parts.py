"""What programmes adds to a case (see cases/extensions.py): the referral section of the case
page (with each referral's notes and end-of-programme report), the referrals' status changes,
concerns and reports in the timeline, the "concern raised" marker on the case list, and
`referrals` in the case's API record."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.extensions import CaseSection, TimelineEvent
from cases.models import Case
from cases.timeline import user_name
from programmes.models import ProgrammeReport, ReferralNote, ReferralStatus, ReferralStatusChange
from programmes.selectors import cases_with_open_concerns, referrals_for_case, report_of
from programmes.serializers import ReferralSerializer


def referral_section(case: Case) -> dict[str, Any]:
    """The case's referrals, newest first, with their appointments and attendance, and each
    one's notes (newest first) and end-of-programme report.

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
    return {"referrals": referrals}


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


def concern_markers(cases: list[Case]) -> dict[int, list[str]]:
    """ "Concern raised" on each listed case with a concern on a referral still open."""
    return {pk: ["Concern raised"] for pk in cases_with_open_concerns([c.pk for c in cases])}


@extend_schema_field(ReferralSerializer(many=True))
class CaseReferralsField(serializers.Field):
    """The case's referrals with their deadlines, newest first (read-only)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, case: Case) -> list[dict[str, Any]]:
        if case.pk is None:
            return []
        return ReferralSerializer(referrals_for_case(case), many=True).data
