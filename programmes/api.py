"""The programmes API: programmes to refer to, referrals for forces, and the provider's work.

Provider systems list their referrals, accept or decline them, book, move and cancel
appointments, record attendance and completion, give referrals to caseworkers and file the
end-of-programme report; both sides read and add notes on a referral (providers, concerns).
Every endpoint parses its input, calls one selector or service, and renders the result;
scoping and prefetching live in programmes/selectors.py, so another provider's referral or
appointment is simply not found.
What /api/docs/ says about each endpoint, with examples, is in programmes/api_docs.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import django_filters
from django.db.models import QuerySet
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from accounts.models import User
from audit.services import audit_many
from base.api import IsForceOrProviderStaff, IsForceStaff, UTCDateTimeFilter
from programmes import api_docs as docs
from programmes.models import Appointment, Programme, Referral, ReferralStatus
from programmes.selectors import (
    appointment_found,
    appointment_get,
    appointments_visible_to,
    notes_shown,
    programme_list,
    referral_get,
    referral_list,
    referral_shown,
    referral_with_appointments,
    user_named,
)
from programmes.serializers import (
    AppointmentBookSerializer,
    AppointmentCancelSerializer,
    AppointmentRescheduleSerializer,
    AppointmentSerializer,
    AssignmentSerializer,
    AttendanceRecordedSerializer,
    AttendanceRecordSerializer,
    CompletionSerializer,
    NoteCreateSerializer,
    NoteSerializer,
    ProgrammeSerializer,
    ProviderReferralSerializer,
    ReferralCreateSerializer,
    ReferralDeclineSerializer,
    ReferralSerializer,
    ReportFileSerializer,
)
from programmes.services import (
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
    attendance_record,
    caseworker_refused,
    note_add,
    programme_report_file,
    referral_accept,
    referral_assign,
    referral_complete,
    referral_create,
    referral_decline,
)


class IsProviderStaff(BasePermission):
    """Programme provider staff, who act only on referrals made to their own provider."""

    message = "Only programme provider staff can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user.is_authenticated and request.user.is_provider_staff)


def _is_provider(user: Any) -> bool:
    """Whether the user is programme provider staff (who get the minimal serializers)."""
    return getattr(user, "is_provider_staff", False)


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
    referral = referral_with_appointments(user=request.user, reference=reference)
    _disclose(request.user, [referral])
    return Response(ProviderReferralSerializer(referral).data)


class ReferralFilter(django_filters.FilterSet):
    """Narrow the referral list by status, or to those changed since a moment (for syncing)."""

    status = django_filters.ChoiceFilter(choices=ReferralStatus.choices)
    updated_since = UTCDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        label="Changed at or after this ISO 8601 date and time, e.g. 2026-11-20T09:00:00+00:00",
    )

    class Meta:
        model = Referral
        fields = ["status", "updated_since"]


@docs.referrals
class ReferralViewSet(mixins.ListModelMixin, GenericViewSet):
    """Referrals for the user's force or provider; force staff create, providers act on them."""

    filterset_class = ReferralFilter
    lookup_field = "reference"
    provider_actions = frozenset(
        {"accept", "decline", "appointments", "completion", "assignment", "report"}
    )

    def get_permissions(self) -> list[BasePermission]:
        if self.action == "create":
            return [IsForceStaff()]
        if self.action in self.provider_actions:
            return [IsProviderStaff()]
        return [IsForceOrProviderStaff()]

    def get_queryset(self) -> QuerySet[Referral]:
        return referral_list(self.request.user)

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
        referral = referral_shown(user=request.user, reference=reference)
        return Response(ReferralSerializer(referral).data)

    @docs.referral_accept
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, reference: str) -> Response:
        referral_accept(
            referral=referral_get(user=request.user, reference=reference), by=request.user
        )
        return _provider_referral(request, reference)

    @docs.referral_decline
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, reference: str) -> Response:
        referral = referral_get(user=request.user, reference=reference)
        serializer = ReferralDeclineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        referral_decline(referral=referral, by=request.user, **serializer.validated_data)
        return _provider_referral(request, reference)

    @docs.appointment_book
    @action(detail=True, methods=["post"])
    def appointments(self, request: Request, reference: str) -> Response:
        referral = referral_get(user=request.user, reference=reference)
        serializer = AppointmentBookSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        appointment = appointment_book(
            referral=referral, by=request.user, **serializer.validated_data
        )
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)

    @docs.referral_completion
    @action(detail=True, methods=["post"])
    def completion(self, request: Request, reference: str) -> Response:
        referral = referral_get(user=request.user, reference=reference)
        serializer = CompletionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        referral_complete(referral=referral, by=request.user, **serializer.validated_data)
        return _provider_referral(request, reference)

    @docs.referral_notes
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def notes(self, request: Request, reference: str) -> Response:
        referral = referral_get(user=request.user, reference=reference)
        if request.method == "GET":
            notes = notes_shown(user=request.user, referral=referral)
            return Response(NoteSerializer(notes, many=True).data)
        serializer = NoteCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = note_add(referral=referral, by=request.user, **serializer.validated_data)
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @docs.referral_assignment
    @action(detail=True, methods=["post"])
    def assignment(self, request: Request, reference: str) -> Response:
        referral = referral_get(user=request.user, reference=reference)
        serializer = AssignmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["assigned_to"]
        to = user_named(username) if username is not None else None
        if username is not None and to is None:
            # The service's own refusal: a username elsewhere and none at all read the same.
            raise caseworker_refused(referral)
        referral_assign(referral=referral, by=request.user, to=to)
        return _provider_referral(request, reference)

    @docs.referral_report
    @action(detail=True, methods=["post"])
    def report(self, request: Request, reference: str) -> Response:
        referral = referral_get(user=request.user, reference=reference)
        serializer = ReportFileSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        programme_report_file(referral=referral, by=request.user, **serializer.validated_data)
        return _provider_referral(request, reference)


@docs.appointments
class AppointmentViewSet(GenericViewSet):
    """The provider's appointments, by id: read, move, cancel, and record attendance."""

    permission_classes = [IsProviderStaff]
    serializer_class = AppointmentSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Appointment]:
        return appointments_visible_to(self.request.user)

    def retrieve(self, request: Request, pk: str) -> Response:
        appointment = appointment_get(user=request.user, pk=pk)
        _disclose(request.user, [appointment.referral])
        return Response(AppointmentSerializer(appointment).data)

    def partial_update(self, request: Request, pk: str) -> Response:
        appointment = appointment_get(user=request.user, pk=pk)
        serializer = AppointmentRescheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appointment_reschedule(
            appointment=appointment, by=request.user, **serializer.validated_data
        )
        return Response(AppointmentSerializer(appointment_get(user=request.user, pk=pk)).data)

    @docs.appointment_cancel
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        appointment = appointment_get(user=request.user, pk=pk)
        serializer = AppointmentCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appointment_cancel(appointment=appointment, by=request.user, **serializer.validated_data)
        return Response(AppointmentSerializer(appointment_get(user=request.user, pk=pk)).data)

    @docs.attendance_record
    @action(detail=True, methods=["post"])
    def attendance(self, request: Request, pk: str) -> Response:
        # Found (or 404) once; the service locks it and answers with its whole history.
        appointment = appointment_found(user=request.user, pk=pk)
        serializer = AttendanceRecordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = attendance_record(
            appointment=appointment, by=request.user, **serializer.validated_data
        )
        return Response(
            AttendanceRecordedSerializer(
                result.attendance, context={"history": result.history}
            ).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


@docs.programmes
class ProgrammeViewSet(mixins.ListModelMixin, GenericViewSet):
    """Programmes the user's organisation may see."""

    serializer_class = ProgrammeSerializer

    def get_queryset(self) -> QuerySet[Programme]:
        return programme_list(self.request.user)
