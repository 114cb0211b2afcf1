"""Forms render as GOV.UK markup through Django's own form templates (templates/django/forms/)."""

from __future__ import annotations

import datetime
import re

from django import forms
from django.template.loader import render_to_string

from base.widgets import GovUKDateInput


class CaseForm(forms.Form):
    """A form with one of each kind of field the service uses."""

    name = forms.CharField(
        label="Full name",
        help_text="As on their identity document",
        widget=forms.TextInput(attrs={"class": "govuk-input--width-20"}),
    )
    offence_date = forms.DateField(label="Date of offence", widget=GovUKDateInput())
    drug_class = forms.ChoiceField(
        label="Drug class",
        choices=[("A", "Class A"), ("B", "Class B")],
        widget=forms.RadioSelect,
    )
    exclusions = forms.MultipleChoiceField(
        label="Exclusions",
        choices=[("warrant", "Outstanding warrant"), ("violence", "Violence at arrest")],
        widget=forms.CheckboxSelectMultiple,
    )
    consent = forms.BooleanField(label="The person consents to take part")


INVALID_DATA = {
    "name": "",
    "offence_date_day": "31",
    "offence_date_month": "02",
    "offence_date_year": "2026",
    "drug_class": "B",
    "exclusions": ["violence"],
}


def render_invalid_form() -> tuple[CaseForm, str]:
    """Bind the form to bad data, validate it and render it."""
    form = CaseForm(data=INVALID_DATA)
    assert not form.is_valid()
    return form, str(form)


def tag_with_id(html: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    match = re.search(rf'<[a-z]+[^>]*\bid="{element_id}"[^>]*>', html)
    assert match, f"no element with id {element_id}"
    return match.group(0)


def test_text_field_with_error_is_a_govuk_form_group_in_error() -> None:
    _, html = render_invalid_form()
    assert '<label class="govuk-label" for="id_name">Full name</label>' in html
    assert '<div class="govuk-hint" id="id_name_helptext">' in html
    assert (
        '<p class="govuk-error-message" id="id_name_error">'
        '<span class="govuk-visually-hidden">Error:</span> This field is required.</p>'
    ) in html
    name_input = tag_with_id(html, "id_name")
    assert 'class="govuk-input govuk-input--width-20 govuk-input--error"' in name_input
    assert 'aria-describedby="id_name_helptext id_name_error"' in name_input
    assert html.count("govuk-form-group--error") == 3  # name, offence date, consent


def test_invalid_date_is_rejected_and_redisplayed_exactly_as_typed() -> None:
    form, html = render_invalid_form()
    assert form.errors["offence_date"] == ["Enter a valid date."]
    assert 'value="31"' in tag_with_id(html, "id_offence_date_day")
    assert 'value="02"' in tag_with_id(html, "id_offence_date_month")
    assert 'value="2026"' in tag_with_id(html, "id_offence_date_year")
    assert 'name="offence_date_day"' in tag_with_id(html, "id_offence_date_day")
    assert "govuk-input--error" in tag_with_id(html, "id_offence_date_day")
    fieldset = re.search(r'<fieldset class="govuk-fieldset" role="group"[^>]*>', html)
    assert fieldset and 'aria-describedby="id_offence_date_error"' in fieldset.group(0)
    assert '<legend class="govuk-fieldset__legend">Date of offence</legend>' in html


def test_date_input_cleans_to_a_date_and_shows_a_stored_date() -> None:
    form = CaseForm(
        data={
            **INVALID_DATA,
            "offence_date_day": "5",
            "offence_date_month": "3",
            "offence_date_year": "2026",
        }
    )
    form.is_valid()
    assert form.cleaned_data["offence_date"] == datetime.date(2026, 3, 5)
    assert 'value="5"' in tag_with_id(str(form), "id_offence_date_day")

    unbound = CaseForm(initial={"offence_date": datetime.date(2026, 11, 25)})
    html = str(unbound)
    assert 'value="25"' in tag_with_id(html, "id_offence_date_day")
    assert 'value="11"' in tag_with_id(html, "id_offence_date_month")


def test_empty_date_gives_the_required_error_and_partial_date_the_invalid_error() -> None:
    empty = CaseForm(
        data={
            **INVALID_DATA,
            "offence_date_day": "",
            "offence_date_month": "",
            "offence_date_year": "",
        }
    )
    assert empty.errors["offence_date"] == ["This field is required."]
    partial = CaseForm(
        data={
            **INVALID_DATA,
            "offence_date_day": "1",
            "offence_date_month": "",
            "offence_date_year": "26",
        }
    )
    assert partial.errors["offence_date"] == ["Enter a valid date."]
    assert 'value="26"' in tag_with_id(str(partial), "id_offence_date_year")


def test_radios_and_checkboxes_keep_the_choices_made() -> None:
    _, html = render_invalid_form()
    assert '<div class="govuk-radios" data-module="govuk-radios" id="id_drug_class">' in html
    assert "checked" in tag_with_id(html, "id_drug_class_1")
    assert "checked" not in tag_with_id(html, "id_drug_class_0")
    assert 'class="govuk-radios__input"' in tag_with_id(html, "id_drug_class_0")
    assert "govuk-checkboxes" in tag_with_id(html, "id_exclusions")
    assert "checked" in tag_with_id(html, "id_exclusions_1")
    assert '<label class="govuk-label govuk-radios__label" for="id_drug_class_0">' in html


def test_single_checkbox_is_a_one_item_checkboxes_with_its_error() -> None:
    _, html = render_invalid_form()
    consent = tag_with_id(html, "id_consent")
    assert 'class="govuk-checkboxes__input"' in consent
    assert 'aria-describedby="id_consent_error"' in consent
    assert 'id="id_consent_error"' in html
    assert (
        '<label class="govuk-label govuk-checkboxes__label" for="id_consent">'
        "The person consents to take part</label>"
    ) in html


def test_error_summary_links_each_error_to_its_field() -> None:
    form, _ = render_invalid_form()
    html = render_to_string("includes/error_summary.html", {"form": form})
    assert 'data-module="govuk-error-summary"' in html
    assert 'role="alert"' in html
    assert "There is a problem" in html
    assert '<a href="#id_name">This field is required.</a>' in html
    assert '<a href="#id_offence_date_day">Enter a valid date.</a>' in html
    assert '<a href="#id_consent">This field is required.</a>' in html


def test_error_summary_lists_non_field_and_formset_errors() -> None:
    class NoteForm(forms.Form):
        text = forms.CharField()

        def clean(self) -> dict:
            raise forms.ValidationError("Notes cannot be saved on a closed case.")

    NoteFormSet = forms.formset_factory(NoteForm, min_num=1, validate_min=True)  # noqa: N806
    formset = NoteFormSet(
        data={"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "0", "form-0-text": ""}
    )
    assert not formset.is_valid()
    html = render_to_string("includes/error_summary.html", {"formset": formset})
    assert "Notes cannot be saved on a closed case." in html
    assert '<a href="#id_form-0-text">This field is required.</a>' in html


def test_error_summary_is_empty_for_a_valid_or_unbound_form() -> None:
    html = render_to_string("includes/error_summary.html", {"form": CaseForm()})
    assert "govuk-error-summary" not in html
