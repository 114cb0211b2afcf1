"""The API's parser: JSON only (anything else is 415), refusing a NUL character anywhere and
JSON nested deeper than base.limits allows, as a 400 before any view sees the body. The size
of a body is limited before it is read (diversion/middleware.py)."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from base.limits import MAX_JSON_DEPTH, NUL_MESSAGE, first_nul


class JSONParser(parsers.JSONParser):
    """JSON, at most MAX_JSON_DEPTH levels deep, with no NUL character in it."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        too_deep = f"JSON parse error - the body is nested more than {MAX_JSON_DEPTH} levels deep."
        try:
            data = super().parse(stream, media_type, parser_context)
            field = first_nul(data)
        except (RecursionError, ValueError) as error:
            if isinstance(error, ValueError) and "nested" not in str(error):
                raise
            raise ParseError(too_deep) from error
        if field is not None:
            raise ValidationError({field or "non_field_errors": [NUL_MESSAGE]})
        return data
