"""Forms of the data protection pages."""

from __future__ import annotations

from django import forms


class SubjectAccessForm(forms.Form):
    """What the administrator states before a copy of a person's record is produced."""

    COPIES = {
        "document": "A document to read and print",
        "file": "A machine-readable file (JSON)",
    }

    reference = forms.CharField(
        label="Request reference",
        help_text="The reference of the request, for example DP-2026-0142. The audit trail keeps "
        "it with the disclosure.",
        max_length=60,
        error_messages={
            "required": "Enter the reference of the subject access request",
            "max_length": "The reference must be 60 characters or fewer",
        },
        widget=forms.TextInput(attrs={"class": "govuk-input--width-20", "spellcheck": "false"}),
    )
    copy = forms.ChoiceField(
        label="Form of the copy",
        choices=list(COPIES.items()),
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the form of the copy"},
    )

    def clean_reference(self) -> str:
        reference = self.cleaned_data["reference"].strip()
        if not reference:
            raise forms.ValidationError("Enter the reference of the subject access request")
        return reference
