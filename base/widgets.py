"""Form widgets for GOV.UK Design System patterns that Django has no widget for.

Every other widget (text, select, radios, checkboxes, ...) is Django's own, rendered in GOV.UK
markup by the templates in templates/django/forms/.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.datastructures import MultiValueDict

DATE_PARTS = ("day", "month", "year")
DATE_PART_LABELS = {"day": "Day", "month": "Month", "year": "Year"}

# DateField rejects this with its "Enter a valid date." error: no input format matches it.
INVALID_DATE = "invalid-date"


class TypedDate(str):
    """A date as submitted: ISO text (or INVALID_DATE) for DateField, plus the boxes as typed.

    DateField validates the text; the widget redisplays `typed`, so nothing the user typed is
    lost when the form comes back with an error.
    """

    typed: tuple[str, str, str]

    def __new__(cls, text: str, typed: tuple[str, str, str]) -> TypedDate:
        """Make the text DateField sees, remembering the three boxes as typed."""
        value = super().__new__(cls, text)
        value.typed = typed
        return value


def date_from_parts(day: str, month: str, year: str) -> str:
    """Return 'YYYY-MM-DD' for digits (a 4-digit year), else text DateField will reject."""
    if not (day.isdigit() and month.isdigit() and year.isdigit()):
        return INVALID_DATE
    if len(day) > 2 or len(month) > 2 or len(year) != 4:
        return INVALID_DATE
    # Not checked here: 31 February. It becomes "2026-02-31", which DateField rejects.
    return f"{year}-{int(month):02d}-{int(day):02d}"


class GovUKDateInput(forms.MultiWidget):
    """The GOV.UK date input: Day, Month and Year boxes in a fieldset, for a forms.DateField.

    The boxes are named and identified <name>_day, <name>_month, <name>_year (ids
    <id>_day ...); the field's label becomes the legend and the error summary links to the
    day box. Pass autocomplete="bday" for a date of birth (bday-day, bday-month, bday-year).
    """

    template_name = "django/forms/widgets/govuk_date_input.html"

    def __init__(
        self, attrs: dict[str, Any] | None = None, autocomplete: str | None = None
    ) -> None:
        """Build the three text boxes, numeric keyboard on phones."""
        widgets = {}
        for part in DATE_PARTS:
            width = "govuk-input--width-4" if part == "year" else "govuk-input--width-2"
            part_attrs = {"class": f"govuk-date-input__input {width}", "inputmode": "numeric"}
            if autocomplete:
                part_attrs["autocomplete"] = f"{autocomplete}-{part}"
            widgets[part] = forms.TextInput(attrs=part_attrs)
        super().__init__(widgets, attrs)

    def decompress(self, value: Any) -> list[str | None]:
        """Split a date, an ISO string or a TypedDate into [day, month, year] for the boxes."""
        typed = getattr(value, "typed", None)
        if typed is not None:
            return list(typed)
        if isinstance(value, datetime.datetime):
            value = value.date()
        if isinstance(value, datetime.date):
            return [str(value.day), str(value.month), str(value.year)]
        if isinstance(value, str) and value:
            try:
                parsed = datetime.date.fromisoformat(value)
            except ValueError:
                return [None, None, None]
            return [str(parsed.day), str(parsed.month), str(parsed.year)]
        return [None, None, None]

    def value_from_datadict(
        self, data: Mapping[str, Any] | MultiValueDict, files: Any, name: str
    ) -> TypedDate | None:
        """Return the date as ISO text DateField accepts or rejects; None when all are empty."""
        typed = tuple(str(data.get(f"{name}_{part}") or "").strip() for part in DATE_PARTS)
        if not any(typed):
            return None
        day, month, year = typed
        return TypedDate(date_from_parts(day, month, year), (day, month, year))

    def value_omitted_from_data(self, data: Mapping[str, Any], files: Any, name: str) -> bool:
        """True when none of the three boxes was submitted at all."""
        return not any(f"{name}_{part}" in data for part in DATE_PARTS)

    def id_for_label(self, id_: str) -> str:
        """The day box: where the error summary and labels should send the user."""
        return f"{id_}_day" if id_ else ""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        """Give each box its id (<id>_day ...) and its visible label."""
        context = super().get_context(name, value, attrs)
        id_ = context["widget"]["attrs"].get("id")
        for part, subwidget in zip(DATE_PARTS, context["widget"]["subwidgets"], strict=True):
            if id_:
                subwidget["attrs"]["id"] = f"{id_}_{part}"
            subwidget["label"] = DATE_PART_LABELS[part]
        return context
