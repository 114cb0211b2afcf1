"""The programmes API: programmes to refer to, and referrals for forces and providers."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiExample,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.viewsets import GenericViewSet

from accounts.models import Role
from audit.services import audit_many
from diversion.api import BAD_REQUEST, FORBIDDEN, IsForceOrProviderStaff, IsForceStaff
from programmes.models import Programme, Referral, ReferralStatus
from programmes.selectors import programmes_visible_to, referrals_visible_to
from programmes.serializers import (
    ProgrammeSerializer,
    ProviderReferralSerializer,
    ReferralCreateSerializer,
    ReferralSerializer,
)
from programmes.services import referral_create

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


@extend_schema_view(
    list=extend_schema(
        tags=["referrals"],
        summary="List referrals",
        description=(
            "Referrals your organisation may see, newest first, 25 to a page: a force's "
            "officers see referrals of their force's cases; provider staff see only referrals "
            "made to their own provider, with the person's name and contact details but no "
            "offence, drug, police reference, PNC ID or eligibility details."
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
)
class ReferralViewSet(mixins.ListModelMixin, GenericViewSet):
    """Referrals for the user's force or provider; only force staff may create them."""

    filterset_class = ReferralFilter

    def get_permissions(self) -> list[BasePermission]:
        if self.action == "create":
            return [IsForceStaff()]
        return [IsForceOrProviderStaff()]

    def get_queryset(self) -> QuerySet[Referral]:
        return referrals_visible_to(self.request.user).select_related(
            "case__person", "programme__provider"
        )

    def get_serializer_class(self) -> type[BaseSerializer]:
        if self.action == "create":
            return ReferralCreateSerializer
        if getattr(self.request.user, "role", None) == Role.PROVIDER_STAFF:
            return ProviderReferralSerializer
        return ReferralSerializer

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
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
