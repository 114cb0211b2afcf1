"""Who is acting and from where, for audit rows written deep inside services."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None
    path: str


current_request: ContextVar[RequestContext | None] = ContextVar("current_request", default=None)
