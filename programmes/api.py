"""The programmes API: programmes to refer to, referrals for forces, and the provider's work.

Provider systems list their referrals, accept or decline them, book, move and cancel
appointments, record attendance and completion. Every endpoint parses its input, calls one
selector or service, and renders the result; scoping lives in programmes/selectors.py, so
another provider's referral or appointment is simply not found.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from accounts.models import User
from audit.services import audit_many, audit_record
from base.api import (
    BAD_REQUEST,
    CONFLICT,
    FORBIDDEN,
    NOT_FOUND,
    IsForceOrProviderStaff,
    IsForceStaff,
)
from programmes.models import Appointment, Attendance, Programme, Referral, ReferralStatus
from programmes.selectors import (
    appointments_visible_to,
    programmes_visible_to,
    referral_get,
    referrals_visible_to,
)
from programmes.serializers import (
    AppointmentBookSerializer,
    AppointmentCancelSerializer,
    AppointmentRescheduleSerializer,
    AppointmentSerializer,
    AttendanceRecordedSerializer,
    AttendanceRecordSerializer,
    CompletionSerializer,
    ProgrammeSerializer,
    ProviderReferralSerializer,
    ReferralCreateSerializer,
    ReferralDeclineSerializer,
    ReferralSerializer,
)
from programmes.services import (
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
    attendance_record,
    referral_accept,
    referral_complete,
    referral_create,
    referral_decline,
)

REFERRAL_EXAMPLE = {
    "reference": "R-000057",
    "case": "TVP-000123",
    "programme": {"id": 3, "name": "Drug education session", "provider": "Turning Point"},
    "status": "new",
    "first_appointment_due": "2026-12-04T23:59:59Z",
    "completion_due": "2027-02-12T23:59:59Z",
    "extensions": 0,
    "referred_at": "2026-11-20T14:12:30.552101Z",
    "updated_at": "2026-11-20T14:12:30.552130Z",
}

ATTENDANCE_EXAMPLE = {
    "id": 112,
    "outcome": "attended",
    "reason": "",
    "correction_reason": "",
    "is_current": True,
    "recorded_at": "2026-12-01T11:42:07.204518Z",
    "recorded_by": "Jo Okafor",
}

APPOINTMENT_EXAMPLE = {
    "id": 81,
    "referral": "R-000057",
    "starts_at": "2026-12-01T10:00:00Z",
    "kind": "assessment",
    "mode": "in_person",
    "location": "Turning Point, 12 Oxford Road, Reading RG1 7LE",
    "group_session": None,
    "status": "booked",
    "attendance": None,
    "attendance_history": [],
}

PROVIDER_REFERRAL_EXAMPLE = {
    "reference": "R-000057",
    "person": {
        "given_name": "Siân",
        "family_name": "O'Brien-Jones",
        "date_of_birth": "1998-03-14",
        "contact_preference": "sms",
        "email": "",
        "phone": "07700 900123",
        "preferred_language": "cy",
        "access_needs": "Step-free access, please.",
        "interpreter_language": "",
    },
    "programme": {
        "id": 3,
        "name": "Drug education session",
        "provider": "Turning Point",
        "sessions_required": 1,
    },
    "status": "in_progress",
    "first_appointment_due": "2026-12-04T23:59:59Z",
    "completion_due": "2027-02-12T23:59:59Z",
    "extensions": 0,
    "decline_reason": "",
    "completed_on": None,
    "referred_at": "2026-11-20T14:12:30.552101Z",
    "updated_at": "2026-12-01T11:42:07.204518Z",
    "appointments": [
        {
            **APPOINTMENT_EXAMPLE,
            "attendance": ATTENDANCE_EXAMPLE,
            "attendance_history": [ATTENDANCE_EXAMPLE],
        }
    ],
}

APPOINTMENT_ID = OpenApiParameter(
    "id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The appointment's id."
)

PROVIDER_ONLY = (
    "Provider staff only (403 for anyone else); a referral or appointment of another provider, "
    "or one that does not exist, is 404 and nothing changes."
)


class IsProviderStaff(BasePermission):
    """Programme provider staff, who act only on referrals made to their own provider."""

    message = "Only programme provider staff can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user.is_authenticated and request.user.is_provider_staff)


def _is_provider(user: Any) -> bool:
    """Whether the user is programme provider staff (who get the minimal serializers)."""
    return getattr(user, "is_provider_staff", False)


def _appointments_with_attendance() -> Prefetch:
    """Appointments in time order, each with every attendance row and who recorded it."""
    return Prefetch(
        "appointments",
        queryset=Appointment.objects.prefetch_related(_attendance_history()).order_by(
            "starts_at", "id"
        ),
    )


def _attendance_history() -> Prefetch:
    """Every attendance row of an appointment, oldest first, with who recorded it."""
    return Prefetch(
        "attendance",
        queryset=Attendance.objects.select_related("recorded_by").order_by("recorded_at", "id"),
    )


def _disclose(user: User, referrals: Iterable[Referral]) -> None:
    """Record that the person's details on each referral were disclosed to a provider."""
    audit_many(
        user=user,
        action="disclose",
        object_type="programmes.referral",
        rows=[(referral.reference, referral.case.person_id) for referral in referrals],
    )


def _provider_referral(request: Request, reference: str) -> Response:
    """The referral as its provider sees it now, with its appointments; the read is audited."""
    referral = referral_get(user=request.user, reference=reference)
    prefetch_related_objects([referral], _appointments_with_attendance())
    _disclose(request.user, [referral])
    return Response(ProviderReferralSerializer(referral).data)


class ReferralFilter(django_filters.FilterSet):
    """Narrow the referral list by status, or to those changed since a moment (for syncing)."""

    status = django_filters.ChoiceFilter(choices=ReferralStatus.choices)
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        label="Changed at or after this ISO 8601 date and time, e.g. 2026-11-20T09:00:00+00:00",
    )

    class Meta:
        model = Referral
        fields = ["status", "updated_since"]


# A force's officers get the fuller referral; provider staff get the minimal one.
REFERRAL_FOR_EITHER = PolymorphicProxySerializer(
    component_name="ReferralListItem",
    serializers=[ReferralSerializer, ProviderReferralSerializer],
    resource_type_field_name=None,
)


@extend_schema_view(
    list=extend_schema(
        tags=["referrals"],
        summary="List referrals",
        description=(
            "Referrals your organisation may see, newest first, 25 to a page: a force's "
            "officers see referrals of their force's cases; provider staff see only referrals "
            "made to their own provider, with the person's name, date of birth, contact details "
            "and needs, the deadlines and the appointments with their attendance so far, but no "
            "offence, drug, police reference, PNC ID or eligibility details. Provider systems "
            "keep in step by asking for updated_since the time of their last call: booking, "
            "moving or cancelling an appointment and recording attendance all count as changes."
        ),
        responses={
            200: PolymorphicProxySerializer(
                component_name="ReferralListItem",
                serializers=[ReferralSerializer, ProviderReferralSerializer],
                resource_type_field_name=None,
                many=True,
            ),
            400: BAD_REQUEST,
            403: FORBIDDEN,
        },
    ),
    create=extend_schema(
        tags=["referrals"],
        summary="Refer a case to a programme",
        description=(
            "Refer a case whose offer was accepted to a programme serving your force. The "
            "deadlines come from the policy version that decided eligibility, in Europe/London "
            "working days, as the last second of the due day with its UTC offset."
        ),
        request=ReferralCreateSerializer,
        responses={201: ReferralSerializer, 400: BAD_REQUEST, 403: FORBIDDEN},
        examples=[
            OpenApiExample(
                "Refer to a programme",
                value={"case": "TVP-000123", "programme": 3},
                request_only=True,
            ),
            OpenApiExample(
                "The new referral with its deadlines",
                value=REFERRAL_EXAMPLE,
                response_only=True,
                status_codes=["201"],
            ),
        ],
    ),
    retrieve=extend_schema(
        tags=["provider"],
        summary="Get a referral",
        description=(
            "One referral your organisation may see. Provider staff get the person's name, date "
            "of birth, contact details, preferred language and access needs, the programme, the "
            "deadlines and every appointment with its current attendance and full history; never "
            "the offence, drugs, police references, PNC ID or eligibility reasons. A force's "
            "officers get the referral of their case. Anyone else's referral is 404."
        ),
        responses={200: REFERRAL_FOR_EITHER, 403: FORBIDDEN, 404: NOT_FOUND},
        examples=[
            OpenApiExample(
                "As the provider sees it",
                value=PROVIDER_REFERRAL_EXAMPLE,
                response_only=True,
                status_codes=["200"],
            ),
        ],
    ),
)
class ReferralViewSet(mixins.ListModelMixin, GenericViewSet):
    """Referrals for the user's force or provider; force staff create, providers act on them."""

    filterset_class = ReferralFilter
    lookup_field = "reference"
    provider_actions = frozenset({"accept", "decline", "appointments", "completion"})

    def get_permissions(self) -> list[BasePermission]:
        if self.action == "create":
            return [IsForceStaff()]
        if self.action in self.provider_actions:
            return [IsProviderStaff()]
        return [IsForceOrProviderStaff()]

    def get_queryset(self) -> QuerySet[Referral]:
        referrals = referrals_visible_to(self.request.user).select_related(
            "case__person", "programme__provider"
        )
        if _is_provider(self.request.user):
            referrals = referrals.prefetch_related(_appointments_with_attendance())
        return referrals

    def get_serializer_class(self) -> type[BaseSerializer]:
        if self.action == "create":
            return ReferralCreateSerializer
        if _is_provider(self.request.user):
            return ProviderReferralSerializer
        return ReferralSerializer

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        if _is_provider(request.user):
            _disclose(request.user, page)
        else:
            audit_many(
                user=request.user,
                action="view",
                object_type="programmes.referral",
                rows=[(referral.reference, referral.case.person_id) for referral in page],
            )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        referral = referral_create(by=request.user, **serializer.validated_data)
        return Response(ReferralSerializer(referral).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, reference: str) -> Response:
        if _is_provider(request.user):
            return _provider_referral(request, reference)
        referral = referral_get(user=request.user, reference=reference)
        audit_record(
            user=request.user,
            action="view",
            obj=referral,
            object_id=referral.reference,
            person_id=referral.case.person_id,
        )
        return Response(ReferralSerializer(referral).data)

    @extend_schema(
        tags=["provider"],
        summary="Accept a referral",
        description=(
            "Take a new referral on: it becomes accepted and the case is in the programme. "
            "Book the first appointment before the first_appointment_due deadline. 409 unless "
            "the referral is new. " + PROVIDER_ONLY
        ),
        request=None,
        responses={
            200: ProviderReferralSerializer,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
        examples=[
            OpenApiExample(
                "The accepted referral",
                value={
                    **PROVIDER_REFERRAL_EXAMPLE,
                    "status": "accepted",
                    "appointments": [],
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, reference: str) -> Response:
        referral_accept(
            referral=referral_get(user=request.user, reference=reference), by=request.user
        )
        return _provider_referral(request, reference)

    @extend_schema(
        tags=["provider"],
        summary="Decline a referral",
        description=(
            "Decline a new referral with a reason. The force sees the reason and the case goes "
            "back to them to refer to another programme. 409 unless the referral is new. "
            + PROVIDER_ONLY
        ),
        request=ReferralDeclineSerializer,
        responses={
            200: ProviderReferralSerializer,
            400: BAD_REQUEST,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
        examples=[
            OpenApiExample(
                "No capacity",
                value={"reason": "No Welsh-speaking facilitator until March: please re-refer."},
                request_only=True,
            ),
            OpenApiExample(
                "The declined referral",
                value={
                    **PROVIDER_REFERRAL_EXAMPLE,
                    "status": "declined",
                    "decline_reason": "No Welsh-speaking facilitator until March: please re-refer.",
                    "appointments": [],
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, reference: str) -> Response:
        referral = referral_get(user=request.user, reference=reference)
        serializer = ReferralDeclineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        referral_decline(referral=referral, by=request.user, **serializer.validated_data)
        return _provider_referral(request, reference)

    @extend_schema(
        tags=["provider"],
        summary="Book an appointment",
        description=(
            "Book an assessment or a session, in person or online, for an accepted referral: at "
            "a date and time in the future (ISO 8601 with its UTC offset; a time without one is "
            "taken as Europe/London time), or as a place on one of your group sessions, whose "
            "time and place are then used. 409 unless the referral is accepted, in progress or "
            "flagged. " + PROVIDER_ONLY
        ),
        request=AppointmentBookSerializer,
        responses={
            201: AppointmentSerializer,
            400: BAD_REQUEST,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
        examples=[
            OpenApiExample(
                "An assessment in person",
                value={
                    "starts_at": "2026-12-01T10:00:00+00:00",
                    "kind": "assessment",
                    "mode": "in_person",
                    "location": "Turning Point, 12 Oxford Road, Reading RG1 7LE",
                },
                request_only=True,
            ),
            OpenApiExample(
                "A place on a group session", value={"group_session": 14}, request_only=True
            ),
            OpenApiExample(
                "The booked appointment",
                value=APPOINTMENT_EXAMPLE,
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def appointments(self, request: Request, reference: str) -> Response:
        referral = referral_get(user=request.user, reference=reference)
        serializer = AppointmentBookSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        appointment = appointment_book(
            referral=referral, by=request.user, **serializer.validated_data
        )
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["provider"],
        summary="Record completion",
        description=(
            "Record that the person completed the programme on a date (not in the future). "
            "Refused with the count (for example “1 of the 3 required sessions attended”) until "
            "the programme's required sessions are attended; arriving late counts only where "
            "the force's scheme says so. The referral becomes completed and the case closes "
            "as diverted. 409 unless the referral is accepted or in progress. " + PROVIDER_ONLY
        ),
        request=CompletionSerializer,
        responses={
            200: ProviderReferralSerializer,
            400: BAD_REQUEST,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
        examples=[
            OpenApiExample(
                "Completed today", value={"completed_on": "2026-12-01"}, request_only=True
            ),
            OpenApiExample(
                "The completed referral",
                value={
                    **PROVIDER_REFERRAL_EXAMPLE,
                    "status": "completed",
                    "completed_on": "2026-12-01",
                },
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "Sessions still to attend",
                value={
                    "completed_on": [
                        "1 of the 3 required sessions attended: completion can be recorded "
                        "once they all are."
                    ]
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def completion(self, request: Request, reference: str) -> Response:
        referral = referral_get(user=request.user, reference=reference)
        serializer = CompletionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        referral_complete(referral=referral, by=request.user, **serializer.validated_data)
        return _provider_referral(request, reference)


def _appointment_get(user: User, pk: int | str) -> Appointment:
    """One of the provider's appointments with its attendance history, or 404."""
    appointment = (
        appointments_visible_to(user)
        .select_related("referral__case")
        .prefetch_related(_attendance_history())
        .filter(pk=pk)
        .first()
    )
    if appointment is None:
        raise Http404("No appointment found")
    return appointment


@extend_schema_view(
    retrieve=extend_schema(
        tags=["provider"],
        summary="Get an appointment",
        parameters=[APPOINTMENT_ID],
        description=(
            "One of your appointments with its current attendance and full history. "
            + PROVIDER_ONLY
        ),
        responses={200: AppointmentSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
        examples=[
            OpenApiExample(
                "An attended appointment",
                value=PROVIDER_REFERRAL_EXAMPLE["appointments"][0],
                response_only=True,
                status_codes=["200"],
            ),
        ],
    ),
    partial_update=extend_schema(
        tags=["provider"],
        summary="Reschedule an appointment",
        parameters=[APPOINTMENT_ID],
        description=(
            "Move a booked appointment with no attendance yet to a new time in the future "
            "(starts_at is required; ISO 8601, a time without a UTC offset is taken as "
            "Europe/London time), with an optional reason. A group-session booking moves with "
            "its session: cancel it and book another. 409 if it is cancelled or attendance is "
            "recorded. " + PROVIDER_ONLY
        ),
        request=AppointmentRescheduleSerializer,
        responses={
            200: AppointmentSerializer,
            400: BAD_REQUEST,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
        examples=[
            OpenApiExample(
                "Later the same week",
                value={"starts_at": "2026-12-03T14:30:00+00:00", "reason": "Asked by the person."},
                request_only=True,
            ),
            OpenApiExample(
                "The moved appointment",
                value={**APPOINTMENT_EXAMPLE, "starts_at": "2026-12-03T14:30:00Z"},
                response_only=True,
                status_codes=["200"],
            ),
        ],
    ),
)
class AppointmentViewSet(GenericViewSet):
    """The provider's appointments, by id: read, move, cancel, and record attendance."""

    permission_classes = [IsProviderStaff]
    serializer_class = AppointmentSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Appointment]:
        return appointments_visible_to(self.request.user)

    def retrieve(self, request: Request, pk: str) -> Response:
        appointment = _appointment_get(request.user, pk)
        _disclose(request.user, [appointment.referral])
        return Response(AppointmentSerializer(appointment).data)

    def partial_update(self, request: Request, pk: str) -> Response:
        appointment = _appointment_get(request.user, pk)
        serializer = AppointmentRescheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appointment_reschedule(
            appointment=appointment, by=request.user, **serializer.validated_data
        )
        return Response(AppointmentSerializer(_appointment_get(request.user, pk)).data)

    @extend_schema(
        tags=["provider"],
        summary="Cancel an appointment",
        parameters=[APPOINTMENT_ID],
        description=(
            "Cancel a booked appointment before any attendance is recorded, with an optional "
            "reason. Once attendance is recorded, correct the attendance instead (for example "
            "to cancelled_by_provider): 409. " + PROVIDER_ONLY
        ),
        request=AppointmentCancelSerializer,
        responses={
            200: AppointmentSerializer,
            400: BAD_REQUEST,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
        examples=[
            OpenApiExample(
                "Facilitator ill", value={"reason": "Facilitator ill."}, request_only=True
            ),
            OpenApiExample(
                "The cancelled appointment",
                value={**APPOINTMENT_EXAMPLE, "status": "cancelled"},
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        appointment = _appointment_get(request.user, pk)
        serializer = AppointmentCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appointment_cancel(appointment=appointment, by=request.user, **serializer.validated_data)
        return Response(AppointmentSerializer(_appointment_get(request.user, pk)).data)

    @extend_schema(
        tags=["provider"],
        summary="Record attendance",
        parameters=[APPOINTMENT_ID],
        description=(
            "Record the outcome of an appointment that has started: attended, late, "
            "did_not_attend, cancelled_by_provider or excused (excused needs a reason). Safe to "
            "retry: sending the outcome already recorded changes nothing and answers 200 with "
            "the same attendance (201 when a row was created). A different outcome is a "
            "correction: give correction_reason; the earlier outcome stays in the history with "
            "who recorded it. " + PROVIDER_ONLY
        ),
        request=AttendanceRecordSerializer,
        responses={
            200: AttendanceRecordedSerializer,
            201: AttendanceRecordedSerializer,
            400: BAD_REQUEST,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
        examples=[
            OpenApiExample("Attended", value={"outcome": "attended"}, request_only=True),
            OpenApiExample(
                "Excused absence",
                value={"outcome": "excused", "reason": "In hospital; letter seen."},
                request_only=True,
            ),
            OpenApiExample(
                "A correction",
                value={
                    "outcome": "late",
                    "correction_reason": "Signed in at 10:25; the register was wrong.",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Recorded",
                value={"appointment": 81, **ATTENDANCE_EXAMPLE, "history": [ATTENDANCE_EXAMPLE]},
                response_only=True,
                status_codes=["201", "200"],
            ),
            OpenApiExample(
                "Not an outcome",
                value={
                    "outcome": [
                        "“asleep” is not an outcome: use one of attended, late, did_not_attend, "
                        "cancelled_by_provider, excused."
                    ]
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def attendance(self, request: Request, pk: str) -> Response:
        appointment = _appointment_get(request.user, pk)
        serializer = AttendanceRecordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = attendance_record(
            appointment=appointment, by=request.user, **serializer.validated_data
        )
        history = list(_appointment_get(request.user, pk).attendance.all())
        recorded = next(row for row in history if row.pk == result.attendance.pk)
        return Response(
            AttendanceRecordedSerializer(recorded, context={"history": history}).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


@extend_schema_view(
    list=extend_schema(
        tags=["programmes"],
        summary="List programmes",
        description=(
            "Active programmes serving your force (to refer to), your provider's programmes, "
            "or every programme for administrators and analysts."
        ),
        responses={200: ProgrammeSerializer(many=True), 403: FORBIDDEN},
    ),
)
class ProgrammeViewSet(mixins.ListModelMixin, GenericViewSet):
    """Programmes the user's organisation may see."""

    serializer_class = ProgrammeSerializer

    def get_queryset(self) -> QuerySet[Programme]:
        return programmes_visible_to(self.request.user).prefetch_related("forces_served")
