"""The API's parsers: JSON, form data and multipart, each refusing a NUL character anywhere
and JSON nested deeper than base.limits allows, as a 400 before any view sees the body. The
size of a body is limited before it is read (diversion/middleware.py)."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from base.limits import MAX_JSON_DEPTH, NUL_MESSAGE, first_nul


def refuse_nul(data: Any) -> Any:
    """The parsed body, or a 400 on the field holding a NUL character."""
    if isinstance(data, QueryDict):
        data_to_check: Any = {key: data.getlist(key) for key in data}
    else:
        data_to_check = data
    try:
        field = first_nul(data_to_check)
    except ValueError as error:
        raise ParseError(
            f"JSON parse error - the body is {error}: send the fields this endpoint documents."
        ) from error
    if field is not None:
        raise ValidationError({field or "non_field_errors": [NUL_MESSAGE]})
    return data


class JSONParser(parsers.JSONParser):
    """JSON, at most MAX_JSON_DEPTH levels deep, with no NUL character in it."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError(
                f"JSON parse error - the body is nested more than {MAX_JSON_DEPTH} levels deep."
            ) from error
        return refuse_nul(data)


class FormParser(parsers.FormParser):
    """Form data with no NUL character in it."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return refuse_nul(super().parse(stream, media_type, parser_context))


class MultiPartParser(parsers.MultiPartParser):
    """Multipart form data with no NUL character in its fields."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        result = super().parse(stream, media_type, parser_context)
        refuse_nul(result.data)
        return result
