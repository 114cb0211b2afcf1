"""Reading the API's one error shape in tests (base/api.py error_body)."""

from __future__ import annotations

from typing import Any


def field_errors(response: Any) -> dict[str, list[str]]:
    """The messages of each input at fault in an API error, without detail, code and field."""
    body = response.json()
    assert {"detail", "code", "field"} <= set(body), body
    return {key: value for key, value in body.items() if key not in ("detail", "code", "field")}
