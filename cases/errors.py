"""The one error type services raise; views show it on the page, the API returns it as a 4xx."""

from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse. `field` names the input at fault, when there is one."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class IllegalTransition(DomainError):
    """A status change that the life of a case does not allow from where it is now."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="illegal_transition")
