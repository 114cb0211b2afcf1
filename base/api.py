"""Pieces every API module shares: who may call what, and how a DomainError is answered."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback
from rest_framework.views import exception_handler as drf_exception_handler

from base.errors import DomainError, IllegalTransition


class IsForceStaff(BasePermission):
    """Custody officers and supervisors of a force: the only users of personal-data endpoints."""

    message = "Only a force's custody officers and supervisors can use this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user.is_authenticated and request.user.is_force_staff)


class IsForceOrProviderStaff(BasePermission):
    """Force staff, or programme provider staff (who see only their own provider's rows)."""

    message = "Only force and programme provider staff can use this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user.is_authenticated and (user.is_force_staff or user.is_provider_staff))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Answer a DomainError as a 4xx; leave everything else to DRF.

    A refused input names its field, so it gets DRF's field-error shape {field: [message]};
    any other refusal is {"detail", "code", "field": null}: 409 for an illegal transition,
    403 for a role the service refuses, 400 otherwise.
    """
    if not isinstance(exc, DomainError):
        return drf_exception_handler(exc, context)
    set_rollback()
    if exc.field:
        return Response({exc.field: [exc.message]}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IllegalTransition):
        code = status.HTTP_409_CONFLICT
    elif exc.code == "forbidden":
        code = status.HTTP_403_FORBIDDEN
    else:
        code = status.HTTP_400_BAD_REQUEST
    return Response({"detail": exc.message, "code": exc.code, "field": None}, status=code)


class ErrorSerializer(serializers.Serializer):
    """The body of a refusal that is not about one input field."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    field = serializers.CharField(required=False, allow_null=True)


# DRF's validation-error shape: each field at fault (or non_field_errors) with its messages.
FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "example": {"custody_record_number": ["Custody record CR-1 already has a case in this force."]},
}

BAD_REQUEST = OpenApiResponse(
    FIELD_ERRORS_SCHEMA,
    description="The input is wrong, or the rules refuse it: nothing was saved. Each field at "
    "fault has its messages; a refusal about no one field is {detail, code, field: null}.",
)
FORBIDDEN = OpenApiResponse(
    ErrorSerializer, description="Not signed in, or your role may not use this endpoint."
)
NOT_FOUND = OpenApiResponse(
    ErrorSerializer, description="No such record that your organisation may see."
)
CONFLICT = OpenApiResponse(
    ErrorSerializer,
    description="The case is not in a state that allows this (code illegal_transition).",
)


class IsAnalyst(BasePermission):
    """Analysts, force or national: the only users of the aggregate reports."""

    message = "Only analysts can use the reports."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user.is_authenticated and request.user.is_analyst)
