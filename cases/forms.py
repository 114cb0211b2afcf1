"""Forms for the custody officer's journey. They parse and check input; services decide."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.db.models import QuerySet

from accounts.models import User
from base.limits import MAX_FREE_TEXT
from base.widgets import GovUKDateInput
from cases.models import (
    ContactPreference,
    Drug,
    Ethnicity,
    Exclusion,
    Language,
    OffenceType,
    Offer,
    Setting,
    Sex,
)

YES_NO = [(True, "Yes"), (False, "No")]


def yes_no(label: str, help_text: str = "") -> forms.TypedChoiceField:
    """A required Yes/No question shown as GOV.UK radios."""
    return forms.TypedChoiceField(
        label=label,
        help_text=help_text,
        choices=YES_NO,
        coerce=lambda value: value in (True, "True"),
        widget=forms.RadioSelect(attrs={"class": "govuk-radios--inline"}),
        error_messages={"required": f"Select yes or no: {label[0].lower()}{label[1:].rstrip('?')}"},
    )


class FindPersonForm(forms.Form):
    """Look for the person before logging a case, so nobody is recorded twice."""

    pnc_id = forms.CharField(
        label="PNC ID",
        help_text="For example, 2019/0123456A. An exact match is shown first.",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"class": "govuk-input--width-20", "spellcheck": "false"}),
    )
    given_name = forms.CharField(
        label="First name",
        max_length=100,
        error_messages={"required": "Enter the person’s first name"},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    family_name = forms.CharField(
        label="Last name",
        max_length=100,
        error_messages={"required": "Enter the person’s last name"},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    date_of_birth = forms.DateField(
        label="Date of birth",
        help_text="For example, 27 3 1995",
        widget=GovUKDateInput(),
        error_messages={
            "required": "Enter the person’s date of birth",
            "invalid": "Date of birth must be a real date",
        },
    )


class PersonForm(forms.Form):
    """A new person, with their contact details and needs; names are kept exactly as typed."""

    given_name = FindPersonForm.base_fields["given_name"]
    family_name = FindPersonForm.base_fields["family_name"]
    date_of_birth = FindPersonForm.base_fields["date_of_birth"]
    pnc_id = forms.CharField(
        label="PNC ID",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"class": "govuk-input--width-20", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label="Mobile phone number",
        help_text="For example, 07700 900123",
        required=False,
        max_length=30,
        widget=forms.TextInput(
            attrs={"type": "tel", "autocomplete": "off", "class": "govuk-input--width-20"}
        ),
    )
    email = forms.EmailField(
        label="Email address",
        required=False,
        error_messages={
            "invalid": "Enter an email address in the correct format, like name@example.com"
        },
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    contact_preference = forms.ChoiceField(
        label="How do they want reminders?",
        choices=ContactPreference.choices,
        widget=forms.RadioSelect,
        initial=ContactPreference.SMS,
    )
    address = forms.CharField(
        max_length=MAX_FREE_TEXT,
        label="Address",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    postcode = forms.CharField(
        label="Postcode",
        help_text="For example, SW1A 1AA",
        required=False,
        max_length=10,
        widget=forms.TextInput(attrs={"class": "govuk-input--width-10"}),
    )
    preferred_language = forms.ChoiceField(
        label="Preferred language",
        choices=Language.choices,
        widget=forms.RadioSelect,
        initial=Language.ENGLISH,
    )
    access_needs = forms.CharField(
        max_length=MAX_FREE_TEXT,
        label="Access needs",
        help_text="For example, wheelchair access, a large-print letter, or a quiet room.",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    interpreter_language = forms.CharField(
        label="Interpreter needed for",
        help_text="The language, if they need an interpreter.",
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"class": "govuk-input--width-20"}),
    )
    ethnicity = forms.ChoiceField(
        label="Ethnicity, as the person describes it",
        help_text="For equality monitoring only.",
        choices=Ethnicity.choices,
        initial=Ethnicity.NOT_STATED,
    )
    sex = forms.ChoiceField(
        label="Sex",
        help_text="For equality monitoring only.",
        choices=Sex.choices,
        widget=forms.RadioSelect,
        initial=Sex.NOT_STATED,
    )


class CaseForm(forms.Form):
    """The offence, as recorded at custody."""

    custody_record_number = forms.CharField(
        label="Custody record number",
        max_length=30,
        error_messages={"required": "Enter the custody record number"},
        widget=forms.TextInput(attrs={"class": "govuk-input--width-20", "spellcheck": "false"}),
    )
    crime_reference = forms.CharField(
        label="Crime reference",
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"class": "govuk-input--width-20", "spellcheck": "false"}),
    )
    offence_date = forms.DateField(
        label="Date of the offence",
        help_text="For example, 14 11 2026",
        widget=GovUKDateInput(),
        error_messages={
            "required": "Enter the date of the offence",
            "invalid": "Date of the offence must be a real date",
        },
    )
    offence_type = forms.ChoiceField(
        label="Offence",
        choices=OffenceType.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select the offence"},
    )
    setting = forms.ChoiceField(
        label="Where did it happen?",
        choices=Setting.choices,
        widget=forms.RadioSelect,
        initial=Setting.NONE,
    )
    admitted_offence = yes_no("Did the person admit the offence?")
    previous_drug_conviction_or_caution = yes_no(
        "Does the PNC show an earlier drug conviction or caution?"
    )
    resides_in_force_area = yes_no("Does the person live in the force area?")
    circumstances = forms.MultipleChoiceField(
        label="Do any of these apply?",
        help_text="Select all that apply.",
        choices=Exclusion.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class DrugForm(forms.Form):
    """One drug found, with its quantity in the drug's unit."""

    drug = forms.ModelChoiceField(
        label="Drug",
        queryset=Drug.objects.order_by("drug_class", "name"),
        empty_label="Choose a drug",
        error_messages={
            "required": "Choose the drug found",
            "invalid_choice": "Choose a drug from the list",
        },
    )
    quantity = forms.DecimalField(
        label="Quantity",
        help_text="In grams, tablets or millilitres, as shown beside the drug.",
        max_digits=10,
        decimal_places=3,
        min_value=Decimal("0.001"),
        widget=forms.TextInput(attrs={"class": "govuk-input--width-5", "inputmode": "decimal"}),
        error_messages={
            "invalid": "Quantity must be a number, like 3.5",
            "min_value": "Quantity must be more than 0",
            "max_decimal_places": "Quantity can have at most 3 decimal places",
        },
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["drug"].label_from_instance = lambda d: (
            f"{d.name}: class {d.drug_class}, in {d.get_unit_display()}"
        )


class BaseDrugFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        chosen = [form.cleaned_data for form in self.forms if form.cleaned_data]
        if not chosen:
            raise forms.ValidationError("Record at least one drug found, with its quantity")
        drugs = [row["drug"] for row in chosen]
        if len(set(drugs)) != len(drugs):
            raise forms.ValidationError("A drug is listed twice: give its total quantity once")


DrugFormSet = forms.formset_factory(DrugForm, formset=BaseDrugFormSet, extra=3, max_num=6)


class OfferForm(forms.Form):
    """The offer of diversion and the person's answer."""

    response = forms.ChoiceField(
        label="What did the person say?",
        choices=[
            (Offer.Response.ACCEPTED, "Accepted the offer"),
            (Offer.Response.DECLINED, "Declined the offer"),
            (Offer.Response.PENDING, "Has not answered yet"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Select the person’s answer to the offer"},
    )
    consent_given = forms.BooleanField(
        label="The person consents to take part and to their details being shared with the "
        "programme provider",
        required=False,
    )
    notes = forms.CharField(
        max_length=MAX_FREE_TEXT,
        label="Notes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CloseForm(forms.Form):
    reason = forms.CharField(
        max_length=MAX_FREE_TEXT,
        label="Reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ClosedCaseReasonForm(forms.Form):
    """Why someone opens a closed case: recorded in the audit trail."""

    reason = forms.CharField(
        label="Why do you need to open this closed case?",
        help_text="For example, a request from the Crown Prosecution Service, or a complaint. "
        "This is recorded with your name.",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Give the reason for opening this closed case"},
    )


class OverrideForm(forms.Form):
    reason = forms.CharField(max_length=1000, required=False)


class AssignOfficerForm(forms.Form):
    """Who of the force's officers is in charge of the case."""

    assigned_to = forms.ModelChoiceField(
        label="Officer in charge",
        queryset=User.objects.none(),
        required=False,
        empty_label="Nobody (unassigned)",
        error_messages={"invalid_choice": "Choose one of your force’s officers"},
    )

    def __init__(self, *args, officers: QuerySet[User], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = officers
        self.fields["assigned_to"].widget.attrs["class"] = "govuk-select"


class CorrectionForm(forms.Form):
    """Why details are being corrected, and the version of the record the form showed."""

    reason = forms.CharField(
        label="Why are you correcting these details?",
        help_text="For example, the mobile number was mistyped. This is kept in the case’s "
        "history with your name.",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": "Say why the details are being corrected",
            "max_length": "The reason must be 500 characters or fewer",
        },
    )
    version = forms.CharField(widget=forms.HiddenInput, required=False)


class PersonCorrectionForm(PersonForm, CorrectionForm):
    """The person's details as they are now, to correct."""


class CaseCorrectionForm(CaseForm, CorrectionForm):
    """The offence as recorded, to correct."""
