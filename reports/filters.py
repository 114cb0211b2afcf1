"""The filters every report takes, checked against the analyst's scope.

A force analyst sees their own force; a national analyst (no force) sees every force, or one
they choose. Anything else in the query string (an unknown filter, a month in the wrong form
or order, a force, programme or provider outside the analyst's scope, a group that does not
exist) is an error the page shows and the API answers with a 400: never a 500, and never
another scope's figures.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from base.clock import london_date
from cases.models import Disposal, DrugClass, Force
from programmes.models import Programme, Provider
from reports.fairness import DIMENSIONS
from reports.queries import Scope

EARLIEST_MONTH = date(2015, 1, 1)
DEFAULT_MONTHS = 24
# What to say when a filter's value is not one of its choices, where "Choose a <label>" is not
# English.
CHOOSE = {
    "start": "Choose a “from” month from the list (January 2015 to this month).",
    "end": "Choose a “to” month from the list (January 2015 to this month).",
    "by": "Choose how to group people from the list.",
}
# Query-string names the API's content negotiation uses, which are not filters.
IGNORED = {"format"}


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_choices(today: date) -> list[tuple[str, str]]:
    """Every month from EARLIEST_MONTH to this one, newest first."""
    months = []
    month = month_start(today)
    while month >= EARLIEST_MONTH:
        months.append((month.strftime("%Y-%m"), month.strftime("%B %Y")))
        month = add_months(month, -1)
    return months


def forces_for(user: Any) -> list[Force]:
    """The forces whose figures the analyst may see: their own, or (national) every force."""
    if not user.is_analyst:
        return []
    if user.force_id is not None:
        return [user.force]
    return list(Force.objects.order_by("name"))


class ReportFilters(forms.Form):
    """The filters of an outcome report. Bound to request.GET; `scope()` once valid."""

    start = forms.ChoiceField(label="From", required=False)
    end = forms.ChoiceField(label="To", required=False)
    force = forms.ChoiceField(label="Force", required=False)
    programme = forms.ChoiceField(label="Programme", required=False)
    provider = forms.ChoiceField(label="Provider", required=False)
    drug_class = forms.ChoiceField(
        label="Drug class", required=False, choices=[("", "Any class"), *DrugClass.choices]
    )
    disposal = forms.ChoiceField(
        label="Disposal", required=False, choices=[("", "Any disposal"), *Disposal.choices]
    )

    def __init__(self, data: Any, *, user: Any) -> None:
        super().__init__(data)
        self.user = user
        self.today = london_date(timezone.now())
        self.forces = forces_for(user)
        force_ids = [force.pk for force in self.forces]
        months = month_choices(self.today)
        self.default_end = month_start(self.today)
        self.default_start = add_months(self.default_end, 1 - DEFAULT_MONTHS)
        self.fields["start"].choices = [("", f"{self.default_start:%B %Y}"), *months]
        self.fields["end"].choices = [("", f"{self.default_end:%B %Y}"), *months]
        if user.force_id is None:
            self.fields["force"].choices = [
                ("", "Every force"),
                *((force.code, force.name) for force in self.forces),
            ]
        else:
            # A force analyst's only force: the field stays, so asking for another is refused.
            self.fields["force"].choices = [("", self.forces[0].name)] + [
                (self.forces[0].code, self.forces[0].name)
            ]
            self.fields["force"].widget = forms.HiddenInput()
        programmes = (
            Programme.objects.filter(forces_served__in=force_ids)
            .select_related("provider")
            .distinct()
            .order_by("name")
        )
        self.fields["programme"].choices = [
            ("", "Any programme"),
            *((str(p.pk), f"{p.name} ({p.provider.name})") for p in programmes),
        ]
        providers = Provider.objects.filter(programmes__forces_served__in=force_ids).distinct()
        self.fields["provider"].choices = [
            ("", "Any provider"),
            *((str(p.pk), p.name) for p in providers.order_by("name")),
        ]
        self.unknown = sorted(set(data) - set(self.fields) - IGNORED) if data else []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.unknown:
            names = ", ".join(f"“{name}”" for name in self.unknown)
            raise forms.ValidationError(
                f"These filters do not exist: {names}. Use the filters on this page."
            )
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", "The “to” month must be the same as or after the “from” month.")
        return cleaned

    def full_clean(self) -> None:
        super().full_clean()
        # ChoiceField's message names the value but not the field; say what to do instead.
        for name, field in self.fields.items():
            if name in self.errors and "valid choice" in str(self.errors[name]):
                message = CHOOSE.get(name, f"Choose a {field.label.lower()} from the list.")
                if name in ("force", "programme", "provider") and self.user.force_id:
                    message = (
                        f"Choose a {field.label.lower()} from the list: you can only see "
                        f"figures for {self.scope_name()}."
                    )
                self.errors[name] = self.error_class([message])

    def scope_name(self) -> str:
        """The analyst's scope in words."""
        if self.user.force_id is not None:
            return self.forces[0].name
        return "every force"

    def scope(self) -> Scope:
        """The scope of a valid form; every id in it is in the analyst's."""
        data = self.cleaned_data
        start = date.fromisoformat(data["start"] + "-01") if data["start"] else self.default_start
        end_month = date.fromisoformat(data["end"] + "-01") if data["end"] else self.default_end
        if data["force"]:
            force_ids = tuple(f.pk for f in self.forces if f.code == data["force"])
        else:
            force_ids = tuple(f.pk for f in self.forces)
        return Scope(
            force_ids=force_ids,
            start=start,
            end=add_months(end_month, 1),
            programme_id=int(data["programme"]) if data["programme"] else None,
            provider_id=int(data["provider"]) if data["provider"] else None,
            drug_class=data["drug_class"],
            disposal=data["disposal"],
        )

    def described(self) -> list[str]:
        """The scope of a valid form in words, for the page, the CSV and the API."""
        scope = self.scope()
        last = add_months(scope.end, -1)
        lines = [f"Cases logged from {scope.start:%B %Y} to {last:%B %Y}"]
        force = self.cleaned_data["force"]
        names = [f.name for f in self.forces if not force or f.code == force]
        lines.append("Force: " + (names[0] if len(names) == 1 else "every force"))
        for name in ("programme", "provider", "drug_class", "disposal"):
            value = self.cleaned_data[name]
            if value:
                label = dict(self.fields[name].choices)[value]
                lines.append(f"{self.fields[name].label}: {label}")
        return lines

    @property
    def filtered(self) -> bool:
        return any(self.data.get(name) for name in self.fields)


class FairnessFilters(ReportFilters):
    """The outcome filters, plus how people are grouped and the reference group."""

    by = forms.ChoiceField(label="How to group people", required=False)
    reference = forms.CharField(label="Compare with", required=False)

    def __init__(self, data: Any, *, user: Any) -> None:
        super().__init__(data, user=user)
        self.dimensions = DIMENSIONS
        self.fields["by"].choices = [(k, d.label) for k, d in DIMENSIONS.items()]
        chosen = DIMENSIONS.get((data or {}).get("by") or "ethnic_group")
        if chosen is not None:
            self.fields["reference"] = forms.ChoiceField(
                label="Compare with",
                required=False,
                choices=[("", f"{chosen.groups[chosen.default_reference]} (the default)")]
                + list(chosen.groups.items()),
            )

    def clean_by(self) -> str:
        return self.cleaned_data.get("by") or "ethnic_group"

    def full_clean(self) -> None:
        super().full_clean()
        if "reference" in self.errors:
            self.errors["reference"] = self.error_class(
                [
                    "Choose a group to compare with from the list: “not stated” and groups of "
                    "another grouping cannot be a reference."
                ]
            )

    def dimension(self):
        return self.dimensions[self.cleaned_data["by"]]

    def reference_group(self) -> str:
        return self.cleaned_data.get("reference") or self.dimension().default_reference
