"""The supervisor's decision form. It parses input; escalation_decide (escalations.py) decides.

Most checks (a rationale, a deadline for an extension, a programme for a re-referral, the
number of extensions) are the service's, so the page shows the same message as the API.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from base.widgets import GovUKDateInput
from escalations.models import Escalation
from programmes.models import Programme

# What each decision does, shown as the hint under its radio.
DECISION_HINTS = {
    Escalation.Decision.PROSECUTE: "The referral is withdrawn and the case closes as referred "
    "for prosecution. A printable case summary is made for the prosecution file.",
    Escalation.Decision.EXTEND: "The missed deadline moves to a later date and the case goes "
    "back to the programme.",
    Escalation.Decision.RE_REFER: "The referral is withdrawn and a new one is made to another "
    "programme, with new deadlines.",
    Escalation.Decision.NO_FURTHER_ACTION: "The referral is withdrawn and the case closes with "
    "no further action.",
}


class DecisionForm(forms.Form):
    """Prosecute, extend (with a new deadline), re-refer (with a programme) or no further action."""

    decision = forms.ChoiceField(
        label="What is your decision?",
        choices=Escalation.Decision.choices,
        widget=forms.RadioSelect,
        required=False,
        error_messages={"invalid_choice": "Choose a decision."},
    )
    new_deadline = forms.DateField(
        label="New deadline",
        help_text="A date after the current deadline. The deadline is the end of that day.",
        required=False,
        widget=GovUKDateInput(),
        error_messages={"invalid": "The new deadline must be a real date."},
    )
    new_programme = forms.ModelChoiceField(
        label="Programme to refer to",
        queryset=Programme.objects.none(),
        required=False,
        empty_label="Choose a programme",
        error_messages={"invalid_choice": "Choose one of the programmes listed."},
    )
    rationale = forms.CharField(
        label="Rationale",
        help_text="Why you made this decision. It is kept on the record and, for a "
        "prosecution, in the case summary.",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"max_length": "The rationale must be 5,000 characters or fewer."},
    )

    def __init__(self, *args: Any, programmes: QuerySet[Programme], **kwargs: Any) -> None:
        """Offer only `programmes` (those serving the force, but the current one) to re-refer to."""
        super().__init__(*args, **kwargs)
        field = self.fields["new_programme"]
        field.queryset = programmes
        field.label_from_instance = lambda p: f"{p.name}, {p.provider.name}"

    def clean(self) -> dict[str, Any]:
        """Ignore the date and the programme (and mistakes in them) unless the decision uses it."""
        data = super().clean()
        decision = data.get("decision")
        # The hidden reveal of another decision may still hold what was typed there.
        if decision != Escalation.Decision.EXTEND:
            self._errors.pop("new_deadline", None)
            data["new_deadline"] = None
        if decision != Escalation.Decision.RE_REFER:
            self._errors.pop("new_programme", None)
            data["new_programme"] = None
        return data
