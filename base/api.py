"""Pieces every API module shares: who may call what, and how every error is answered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback
from rest_framework.views import exception_handler as drf_exception_handler

from base.errors import DomainError, IllegalTransition
from base.limits import MAX_FREE_TEXT


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


def error_body(
    detail: str,
    code: str,
    *,
    field: str | None = None,
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The one shape of every API error: {detail, code, field} and each input at fault.

    `detail` is a sentence to show, `code` a stable word to branch on, `field` the first input
    at fault (or null); each field at fault (or non_field_errors) is a key with its messages.
    """
    return {**(errors or {}), "detail": detail, "code": code, "field": field}


def json_error(status_code: int, detail: str, code: str) -> JsonResponse:
    """An error answered outside a DRF view (unknown address, server error, a body too large
    or a NUL refused by middleware), in the same shape as every other API error."""
    return JsonResponse(error_body(detail, code), status=status_code)


def _messages(detail: Any, prefix: str = "") -> list[str]:
    """Flatten DRF's nested errors (list items, nested objects) into plain messages."""
    if isinstance(detail, dict):
        return [
            message
            for key, value in detail.items()
            for message in _messages(value, f"{prefix}{_label(key)}: ")
        ]
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [f"{prefix}{item}" for item in detail]
        return [
            message
            for index, item in enumerate(detail)
            for message in _messages(item, f"{prefix}item {index + 1}: ")
        ]
    return [f"{prefix}{detail}"]


def _label(key: Any) -> str:
    """A list index as people count (item 1), a field by its name."""
    return f"item {key + 1}" if isinstance(key, int) else str(key)


def _field_errors(data: Any) -> dict[str, list[str]]:
    """DRF's validation errors as {field: [message, ...]}, nested ones flattened."""
    if not isinstance(data, dict):
        return {"non_field_errors": _messages(data)}
    return {str(field): _messages(value) for field, value in data.items()}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Answer every refusal in the one error shape (error_body).

    A DomainError that names its field is a 400 on that field; any other DomainError is 409
    for an illegal transition, 403 for a role the service refuses, 400 otherwise. DRF's own
    refusals (bad input, bad JSON, not signed in, unknown media type, ...) keep their status.
    Anything else is left to Django, which logs it and answers 500 (diversion/views.py).
    """
    if isinstance(exc, DomainError):
        set_rollback()
        if exc.field:
            body = error_body(
                exc.message, exc.code, field=exc.field, errors={exc.field: [exc.message]}
            )
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        if isinstance(exc, IllegalTransition):
            code = status.HTTP_409_CONFLICT
        elif exc.code == "forbidden":
            code = status.HTTP_403_FORBIDDEN
        else:
            code = status.HTTP_400_BAD_REQUEST
        return Response(error_body(exc.message, exc.code), status=code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(response.data)
        field, messages = next(iter(errors.items()), (None, ["The input is not valid."]))
        response.data = error_body(
            messages[0] if messages else "The input is not valid.",
            "invalid",
            field=None if field == "non_field_errors" else field,
            errors=errors,
        )
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = error_body(
            str(exc.detail), codes if isinstance(codes, str) else exc.default_code
        )
    else:  # Http404 and Django's PermissionDenied, which DRF answers as its own
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        code = "not_found" if response.status_code == 404 else "permission_denied"
        response.data = error_body(str(detail), code)
    return response


class ErrorSerializer(serializers.Serializer):
    """Every API error (the hook below publishes it as the Error schema, with field keys)."""

    detail = serializers.CharField()
    code = serializers.CharField()
    field = serializers.CharField(allow_null=True)


# Every API error body, as the schema publishes it.
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every API error. detail and code are always there; for refused input, "
    "field names the first input at fault and each input at fault (or non_field_errors) is "
    "a further key with its messages.",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong and what to do next."},
        "code": {
            "type": "string",
            "description": "A stable word to branch on: invalid, parse_error, "
            "not_authenticated, authentication_failed, permission_denied, forbidden, "
            "not_found, illegal_transition, method_not_allowed, not_acceptable, "
            "unsupported_media_type, too_large, server_error, ...",
        },
        "field": {
            "type": "string",
            "nullable": True,
            "description": "The first input at fault, or null when no one input is.",
        },
    },
    "required": ["detail", "code", "field"],
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "example": {
        "custody_record_number": ["Custody record CR-1 already has a case in this force."],
        "detail": "Custody record CR-1 already has a case in this force.",
        "code": "invalid",
        "field": "custody_record_number",
    },
}

BAD_REQUEST = OpenApiResponse(
    ErrorSerializer,
    description="The input is wrong, or the rules refuse it: nothing was saved. Each field at "
    "fault has its messages.",
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

# The errors an operation may answer besides those its own documentation names.
ANY_REQUEST_ERRORS = {
    "401": "The token is unknown, revoked or malformed (code authentication_failed).",
    "403": "Not signed in, or your role may not use this endpoint.",
    "406": "The Accept header asks for something other than JSON (code not_acceptable).",
    "500": "Something went wrong on our side and nothing was saved: try again, and tell the "
    "service desk if it happens again (code server_error).",
    "503": "The database cannot be reached for a moment: try again after the Retry-After "
    "header's seconds (code unavailable).",
}
INPUT_ERRORS = {"400": "The input is wrong, or the rules refuse it: nothing was saved."}
BODY_ERRORS = {
    "413": "The body is larger than the API accepts (code too_large).",
    "415": "The body is not JSON, form data or multipart (code unsupported_media_type).",
}
LOOKUP_ERRORS = {"404": "No such record that your organisation may see, or no such page."}


def document_errors(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular hook: every error each operation can answer is documented, in one shape.

    Each operation gains the errors any request may get (401, 403, 406, 500), those of input
    (400 where it takes parameters or a body; 413 and 415 where it takes a body) and 404
    where it looks up a record or a page; every error's body is the Error schema.
    """
    error = {"$ref": "#/components/schemas/Error"}
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            names = {parameter["name"] for parameter in operation.get("parameters", [])}
            extra = dict(ANY_REQUEST_ERRORS)
            if operation.get("requestBody") or names - {"reference", "id"}:
                extra |= INPUT_ERRORS
            if operation.get("requestBody"):
                extra |= BODY_ERRORS
            if "{" in path or "page" in names:
                extra |= LOOKUP_ERRORS
            responses = operation["responses"]
            for code, description in extra.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if not code.startswith("2"):
                    content = response.setdefault("content", {})
                    content.setdefault("application/json", {})["schema"] = error
    return result


class TextField(serializers.CharField):
    """Text, as the schema promises: a number or true/false is refused, not turned into text,
    and free text is at most MAX_FREE_TEXT characters unless a shorter limit is given."""

    default_error_messages = {"invalid": "Give this as text, in double quotes."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_FREE_TEXT)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class BooleanField(serializers.BooleanField):
    """true or false, as the schema promises: 0, 1, "yes" and the like are refused."""

    default_error_messages = {"invalid": "Give true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class UTCDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date and time for a filter, as UTC: PostgreSQL refuses UTC offsets beyond
    15:59 that Python accepts, and a blank value is refused rather than ignored."""

    default_error_messages = {
        "invalid": "Give an ISO 8601 date and time, for example 2026-11-20T09:00:00+00:00.",
    }

    def to_python(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str) and not value.strip():
            raise DjangoValidationError(self.error_messages["invalid"], code="invalid")
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError) as error:
            raise DjangoValidationError(self.error_messages["invalid"], code="invalid") from error


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    """A filter on an ISO 8601 date and time, compared in UTC (see UTCDateTimeField)."""

    field_class = UTCDateTimeField


class IsAnalyst(BasePermission):
    """Analysts, force or national: the only users of the aggregate reports."""

    message = "Only analysts can use the reports."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user.is_authenticated and request.user.is_analyst)
