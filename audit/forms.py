"""The administrator's audit search: it parses and checks the filter; selectors search."""

from __future__ import annotations

from typing import Any

from django import forms

from audit.models import AuditEvent
from audit.selectors import AuditFilter
from base.widgets import GovUKDateInput


class AuditSearchForm(forms.Form):
    """Filter the audit trail by person, user, dates and action; every field is optional."""

    person = forms.CharField(
        label="Person",
        help_text="A name (accents and spelling need not be exact), or a person’s record number",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    user = forms.CharField(
        label="User",
        help_text="The username of the person who signed in",
        required=False,
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "class": "govuk-input--width-20"}
        ),
    )
    date_from = forms.DateField(
        label="From",
        help_text="For example, 27 3 2026",
        required=False,
        widget=GovUKDateInput(),
        error_messages={"invalid": "The ‘from’ date must be a real date"},
    )
    date_to = forms.DateField(
        label="To",
        help_text="Includes the whole of that day",
        required=False,
        widget=GovUKDateInput(),
        error_messages={"invalid": "The ‘to’ date must be a real date"},
    )
    action = forms.ChoiceField(
        label="Action",
        required=False,
        choices=[("", "Any action"), *AuditEvent.Action.choices],
    )

    def clean_person(self) -> str:
        person = self.cleaned_data["person"].strip()
        if person and not any(ch.isalnum() for ch in person):
            raise forms.ValidationError("Enter a name with letters in it, or a record number")
        return person

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "The ‘to’ date must be the same as or after the ‘from’ date")
        return cleaned

    def to_filter(self) -> AuditFilter:
        """The valid form's values as the selectors' filter."""
        data = self.cleaned_data
        return AuditFilter(
            person=data["person"],
            username=data["user"].strip(),
            date_from=data["date_from"],
            date_to=data["date_to"],
            action=data["action"],
        )
