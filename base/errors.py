"""The one error type services raise; views show it on the page, the API returns it as a 4xx."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.forms import Form


class DomainError(Exception):
    """A request the rules refuse. `field` names the input at fault, when there is one."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def show_on(self, form: Form, aliases: Mapping[str, str] | None = None) -> None:
        """Put the message on the form: against the field it names (under the form's name for
        it, through `aliases`), or at the top when the form has no such field."""
        field = (aliases or {}).get(self.field or "", self.field)
        form.add_error(field if field in form.fields else None, self.message)


class IllegalTransition(DomainError):
    """A status change that the life of a case does not allow from where it is now."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="illegal_transition")
