"""Limits on what any request may carry, shared by the middleware, the API's parsers and the
forms: PostgreSQL cannot store a NUL character, Python cannot parse JSON nested without end,
and nobody types a novel into a free-text box."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# The deepest JSON the API parses: its bodies nest three levels at most.
MAX_JSON_DEPTH = 32

# The longest free text any form or endpoint takes (notes, reasons, addresses, needs).
MAX_FREE_TEXT = 5000

NUL_MESSAGE = "Remove the NUL character (\\u0000): no field accepts one."


def first_nul(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """The top-level key under which a NUL character hides in a parsed body (in a string or
    a key at any depth), "" for a NUL outside any key, or None when there is none.

    Raises ValueError when the value nests deeper than `max_depth`. Iterative, so no body is
    deep enough to exhaust the stack.
    """
    for key, item in _strings(value, max_depth):
        if "\x00" in item:
            return key
    return None


def _strings(value: Any, max_depth: int) -> Iterator[tuple[str, str]]:
    """Every string (values and keys) in a parsed body, with the top-level key holding it."""
    stack: list[tuple[str, Any, int]] = [("", value, 0)]
    while stack:
        top, item, depth = stack.pop()
        if depth > max_depth:
            raise ValueError(f"nested more than {max_depth} levels deep")
        if isinstance(item, str):
            yield top, item
        elif isinstance(item, dict):
            for key, child in item.items():
                owner = top if depth else str(key)
                yield owner, str(key)
                stack.append((owner, child, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((top, child, depth + 1) for child in item)
