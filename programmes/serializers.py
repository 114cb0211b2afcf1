"""API shapes for programmes and referrals: what comes in, what goes out, and to whom."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from base.api import TextField
from base.clock import LONDON
from cases.models import Case, Person
from cases.selectors import cases_visible_to
from programmes.models import (
    Appointment,
    AppointmentChange,
    Attendance,
    Programme,
    ProgrammeReport,
    Referral,
    ReferralNote,
)
from programmes.selectors import group_sessions_for_provider, programmes_visible_to, report_of


class ProgrammeSerializer(serializers.ModelSerializer):
    """A programme a force may refer to (or a provider runs)."""

    provider = serializers.CharField(source="provider.name", read_only=True)
    forces_served = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Programme
        fields = ["id", "name", "kind", "provider", "sessions_required", "forces_served"]


class ReferralProgrammeSerializer(serializers.ModelSerializer):
    """The programme a referral was made to."""

    provider = serializers.CharField(source="provider.name", read_only=True)

    class Meta:
        model = Programme
        fields = ["id", "name", "provider"]


class ProgrammeReportSerializer(serializers.ModelSerializer):
    """The provider's end-of-programme report on a referral."""

    filed_by = serializers.StringRelatedField()

    class Meta:
        model = ProgrammeReport
        fields = [
            "sessions_attended",
            "sessions_required",
            "outcome",
            "summary",
            "onward_referral",
            "onward_detail",
            "filed_by",
            "filed_at",
        ]
        read_only_fields = fields


@extend_schema_field(ProgrammeReportSerializer(allow_null=True))
class ReportField(serializers.Field):
    """The referral's end-of-programme report, or null while none is filed (read-only)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, allow_null=True, **kwargs)

    def to_representation(self, referral: Referral) -> dict[str, Any] | None:
        report = report_of(referral)
        return ProgrammeReportSerializer(report).data if report is not None else None


class ReferralSerializer(serializers.ModelSerializer):
    """A referral as the referring force sees it, with the provider's end-of-programme report."""

    case = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    programme = ReferralProgrammeSerializer(read_only=True)
    report = ReportField()

    class Meta:
        model = Referral
        fields = [
            "reference",
            "case",
            "programme",
            "status",
            "first_appointment_due",
            "completion_due",
            "extensions",
            "referred_at",
            "ended_at",
            "updated_at",
            "report",
        ]
        read_only_fields = fields


class ReferralPersonSerializer(serializers.ModelSerializer):
    """Who to contact, and how: all a provider needs to book appointments."""

    email = serializers.CharField(read_only=True, help_text="Blank when none was given.")
    phone = serializers.CharField(
        read_only=True, help_text="A UK mobile number, like +447700900123; blank when none."
    )

    class Meta:
        model = Person
        fields = [
            "given_name",
            "family_name",
            "date_of_birth",
            "contact_preference",
            "email",
            "phone",
            "preferred_language",
            "access_needs",
            "interpreter_language",
        ]
        read_only_fields = fields


class ProviderProgrammeSerializer(ReferralProgrammeSerializer):
    """The programme a referral was made to, with how many sessions completion needs."""

    class Meta(ReferralProgrammeSerializer.Meta):
        fields = [*ReferralProgrammeSerializer.Meta.fields, "sessions_required"]


class AttendanceSerializer(serializers.ModelSerializer):
    """One recorded outcome; a correction adds a row and keeps the earlier one, not current."""

    recorded_by = serializers.StringRelatedField(
        read_only=True, help_text="The name of the provider staff member who recorded it."
    )

    class Meta:
        model = Attendance
        fields = [
            "id",
            "outcome",
            "reason",
            "correction_reason",
            "is_current",
            "recorded_at",
            "recorded_by",
        ]
        read_only_fields = fields


class AppointmentChangeSerializer(serializers.ModelSerializer):
    """A move or cancellation of an appointment: the time before (and after a move), who,
    when and why."""

    changed_by = serializers.StringRelatedField(
        read_only=True, help_text="Who made the change; null when the service did."
    )

    class Meta:
        model = AppointmentChange
        fields = [
            "kind",
            "starts_at_before",
            "starts_at_after",
            "reason",
            "changed_at",
            "changed_by",
        ]
        read_only_fields = fields


class AppointmentSerializer(serializers.ModelSerializer):
    """A booked or cancelled appointment with its current attendance and the full history.

    Reads `appointment.attendance.all()` and `appointment.changes.all()`, so lists prefetch
    them (oldest first).
    """

    referral = serializers.CharField(source="referral.reference", read_only=True)
    attendance = serializers.SerializerMethodField(
        help_text="The current outcome, or null while none is recorded."
    )
    attendance_history = serializers.SerializerMethodField(
        help_text="Every outcome recorded, oldest first, corrected ones included."
    )
    times_moved = serializers.SerializerMethodField(
        help_text="How many times the appointment was moved to another time."
    )
    changes = AppointmentChangeSerializer(
        many=True,
        read_only=True,
        help_text="Every move (with the superseded time) and the cancellation, oldest first.",
    )

    class Meta:
        model = Appointment
        fields = [
            "id",
            "referral",
            "starts_at",
            "kind",
            "mode",
            "location",
            "group_session",
            "status",
            "attendance",
            "attendance_history",
            "times_moved",
            "changes",
        ]
        read_only_fields = fields

    def get_times_moved(self, appointment: Appointment) -> int:
        return len(appointment.moves())

    @extend_schema_field(AttendanceSerializer(allow_null=True))
    def get_attendance(self, appointment: Appointment) -> dict[str, Any] | None:
        current = [row for row in appointment.attendance.all() if row.is_current]
        return AttendanceSerializer(current[0]).data if current else None

    @extend_schema_field(AttendanceSerializer(many=True))
    def get_attendance_history(self, appointment: Appointment) -> list[dict[str, Any]]:
        rows = sorted(appointment.attendance.all(), key=lambda row: (row.recorded_at, row.pk))
        return AttendanceSerializer(rows, many=True).data


class ProviderReferralSerializer(serializers.ModelSerializer):
    """A referral as a provider sees it: no offence, drug, police reference or eligibility.

    The person's name, date of birth, contact details and needs, the programme, the deadlines
    and the appointments with their attendance so far (prefetched by the caller).
    """

    person = ReferralPersonSerializer(source="case.person", read_only=True)
    programme = ProviderProgrammeSerializer(read_only=True)
    appointments = AppointmentSerializer(many=True, read_only=True)
    assigned_to = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="The caseworker's username, or null while unassigned.",
    )
    report = ReportField()

    class Meta:
        model = Referral
        fields = [
            "reference",
            "person",
            "programme",
            "status",
            "first_appointment_due",
            "completion_due",
            "extensions",
            "decline_reason",
            "completed_on",
            "ended_at",
            "end_reason",
            "referred_at",
            "updated_at",
            "assigned_to",
            "appointments",
            "report",
        ]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.STR)
class VisibleCaseField(serializers.RelatedField):
    """A case reference, resolved only among the cases the requesting user may see."""

    default_error_messages = {
        "does_not_exist": "No case with this reference.",
        "invalid": "Give the case reference as text, for example TVP-000123.",
    }

    def get_queryset(self) -> Any:
        return cases_visible_to(self.context["request"].user)

    def to_internal_value(self, data: Any) -> Case:
        if not isinstance(data, str):
            self.fail("invalid")
        case = self.get_queryset().filter(reference=data.strip()).first()
        if case is None:
            # The same answer whether the case is another force's or does not exist at all.
            self.fail("does_not_exist")
        return case

    def to_representation(self, value: Case) -> str:
        return value.reference


class ReferralCreateSerializer(serializers.Serializer):
    """Refer a case whose offer was accepted to a programme."""

    case = VisibleCaseField(help_text="The case reference, for example TVP-000123.")
    programme = serializers.PrimaryKeyRelatedField(
        queryset=Programme.objects.none(),
        help_text="The programme's id, from GET /api/v1/programmes/ (those serving your force).",
        error_messages={
            "does_not_exist": "No programme with id {pk_value} takes referrals from your force: "
            "choose one listed at /api/v1/programmes/.",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Only the force's own programmes: any other id answers like one that does not
            # exist, so nobody can map other forces' programmes by trying ids.
            self.fields["programme"].queryset = programmes_visible_to(request.user)


class ReferralDeclineSerializer(serializers.Serializer):
    """Why the provider cannot take the referral on."""

    reason = TextField(
        allow_blank=True,
        help_text="Shown to the referring force, so it can refer to another programme.",
        error_messages={"required": "Give the reason for declining, so the force can act on it."},
    )


class LondonDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date and time; one without a UTC offset is taken as Europe/London time."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=LONDON, **kwargs)


@extend_schema_field(OpenApiTypes.INT)
class ProviderGroupSessionField(serializers.PrimaryKeyRelatedField):
    """A group session id, resolved only among the requesting provider's sessions."""

    default_error_messages = {
        "does_not_exist": "No group session with id {pk_value} among your programmes' sessions.",
        "incorrect_type": "Give the group session's id as a number.",
    }

    def get_queryset(self) -> Any:
        return group_sessions_for_provider(self.context["request"].user)


class AppointmentBookSerializer(serializers.Serializer):
    """A new appointment: on its own at a date and time, or a place on a group session."""

    starts_at = LondonDateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="ISO 8601, e.g. 2026-12-01T10:00:00+00:00; without an offset it is taken as "
        "Europe/London time. Must be in the future. Not needed with group_session.",
    )
    kind = serializers.ChoiceField(
        choices=Appointment.Kind.choices,
        default=Appointment.Kind.SESSION,
        error_messages={"invalid_choice": "“{input}” is not a kind: use assessment or session."},
    )
    mode = serializers.ChoiceField(
        choices=Appointment.Mode.choices,
        default=Appointment.Mode.IN_PERSON,
        error_messages={"invalid_choice": "“{input}” is not a mode: use in_person or online."},
    )
    location = TextField(
        max_length=200,
        required=False,
        default="",
        allow_blank=True,
        help_text="An address, or the link for an online appointment.",
    )
    group_session = ProviderGroupSessionField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Book a place on one of your group sessions; its time and place are used.",
    )


class AppointmentRescheduleSerializer(serializers.Serializer):
    """Move an appointment that has no attendance yet to a new time."""

    starts_at = LondonDateTimeField(
        help_text="The new time, ISO 8601; without an offset it is taken as Europe/London time.",
    )
    reason = TextField(required=False, default="", allow_blank=True)


class AppointmentCancelSerializer(serializers.Serializer):
    """Cancel an appointment before any attendance is recorded."""

    reason = TextField(required=False, default="", allow_blank=True)


OUTCOME_CHOICES_TEXT = ", ".join(Attendance.Outcome.values)


class AttendanceRecordSerializer(serializers.Serializer):
    """An attendance outcome; a different outcome from the current one is a correction."""

    outcome = serializers.ChoiceField(
        choices=Attendance.Outcome.choices,
        error_messages={
            "invalid_choice": f"“{{input}}” is not an outcome: use one of {OUTCOME_CHOICES_TEXT}."
        },
    )
    reason = TextField(
        required=False,
        default="",
        allow_blank=True,
        help_text="Why the absence is excused: required for excused.",
    )
    correction_reason = TextField(
        required=False,
        default="",
        allow_blank=True,
        help_text="Why a different outcome replaces the one already recorded.",
    )


class AttendanceRecordedSerializer(AttendanceSerializer):
    """The outcome recorded, with the appointment's whole attendance history."""

    appointment = serializers.IntegerField(source="appointment_id", read_only=True)
    history = serializers.SerializerMethodField(
        help_text="Every outcome recorded for the appointment, oldest first."
    )

    class Meta(AttendanceSerializer.Meta):
        fields = ["appointment", *AttendanceSerializer.Meta.fields, "history"]
        read_only_fields = fields

    @extend_schema_field(AttendanceSerializer(many=True))
    def get_history(self, attendance: Attendance) -> list[dict[str, Any]]:
        return AttendanceSerializer(self.context["history"], many=True).data


class CompletionSerializer(serializers.Serializer):
    """The date the person completed the programme."""

    completed_on = serializers.DateField(
        help_text="YYYY-MM-DD, not in the future; the required sessions must be attended."
    )


class NoteSerializer(serializers.ModelSerializer):
    """A note on a referral: who wrote it (and for which provider), who may read it, and
    whether it is a concern."""

    referral = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    written_by = serializers.StringRelatedField()
    written_for_provider = serializers.SlugRelatedField(
        slug_field="name",
        read_only=True,
        allow_null=True,
        help_text="The provider the author works for; null for the force's staff.",
    )
    concern_category = serializers.ChoiceField(
        choices=ReferralNote.Category.choices,
        allow_blank=True,
        read_only=True,
        help_text="What the concern is about; blank for a note that is not a concern.",
    )

    class Meta:
        model = ReferralNote
        fields = [
            "id",
            "referral",
            "body",
            "visibility",
            "concern_category",
            "written_by",
            "written_for_provider",
            "written_at",
        ]
        read_only_fields = fields


class NoteCreateSerializer(serializers.Serializer):
    """A note to add: the text, who may read it, and (providers only) a concern's category."""

    body = TextField(
        allow_blank=True,
        trim_whitespace=False,
        help_text="The note, up to 2,000 characters.",
        error_messages={"required": "Enter the note."},
    )
    visibility = serializers.ChoiceField(
        choices=ReferralNote.Visibility.choices,
        required=False,
        help_text="force: the force's staff only; shared: the force and the provider. "
        "Providers' notes are always shared. Left out: force only for the force's staff.",
    )
    concern_category = TextField(
        allow_blank=True,
        required=False,
        default="",
        help_text="Providers only: mark the note as a concern, one of "
        + ", ".join(ReferralNote.Category.values)
        + ". The referring officer and the force's supervisors are told.",
    )


class AssignmentSerializer(serializers.Serializer):
    """Who of the provider's staff works on the referral."""

    assigned_to = TextField(
        allow_null=True,
        help_text="The caseworker's username (staff of your provider), or null to unassign.",
        error_messages={"required": "Give the caseworker's username, or null to unassign."},
    )


class ReportFileSerializer(serializers.Serializer):
    """The end-of-programme report to file."""

    outcome = serializers.ChoiceField(
        choices=ProgrammeReport.Outcome.choices,
        help_text="completed (a completed referral); partly or did_not_engage (one that ended).",
    )
    summary = TextField(
        allow_blank=True,
        trim_whitespace=False,
        help_text="For the force, up to 2,000 characters.",
        error_messages={"required": "Enter the summary for the force."},
    )
    onward_referral = serializers.ChoiceField(
        choices=ProgrammeReport.Onward.choices, required=False, default="none"
    )
    onward_detail = TextField(allow_blank=True, required=False, default="", trim_whitespace=False)
