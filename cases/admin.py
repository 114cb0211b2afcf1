"""Admin for reference data and scheme policies. People and cases are not here on purpose:
administrators manage the service, they do not read personal data."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Max
from django.utils.html import format_html_join

from cases.models import Drug, Force, SchemePolicy


@admin.register(Force)
class ForceAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]


@admin.register(Drug)
class DrugAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "drug_class", "unit"]
    list_filter = ["drug_class"]
    search_fields = ["name", "code"]


@admin.register(SchemePolicy)
class SchemePolicyAdmin(admin.ModelAdmin):
    """Saving a change to a policy creates its next version; earlier versions stay as they were,
    because eligibility decisions and referrals point at the version they used."""

    list_display = ["force", "scheme_name", "version", "disposal", "created_at", "created_by"]
    list_filter = ["disposal", "force"]
    search_fields = ["force__name", "scheme_name"]
    readonly_fields = ["version", "created_at", "created_by", "changed_from_the_last_version"]
    autocomplete_fields = ["force"]
    fieldsets = [
        ("The scheme", {"fields": ["force", "scheme_name", "disposal", "intervention"]}),
        (
            "Who may be offered diversion",
            {
                "fields": [
                    "drug_classes",
                    "personal_use_thresholds",
                    "minimum_age",
                    "max_offence_age_days",
                    "requires_admission",
                    "requires_residence_in_area",
                    "excluded_circumstances",
                    "lookback_days",
                    "max_previous_diversions",
                ]
            },
        ),
        (
            "Deadlines and attendance",
            {
                "fields": [
                    "first_appointment_working_days",
                    "completion_days",
                    "deadlines_from",
                    "max_unexcused_absences",
                    "late_counts_as_attended",
                    "max_extensions",
                    "reminder_lead_days",
                ]
            },
        ),
        ("Keeping personal data", {"fields": ["retention_days"]}),
        (
            "This version",
            {"fields": ["version", "created_at", "created_by", "changed_from_the_last_version"]},
        ),
    ]

    @admin.display(description="Changed from the version before")
    def changed_from_the_last_version(self, obj: SchemePolicy) -> str:
        if obj.pk is None:
            return "A new policy: it will be version 1 for its force, or the next version."
        previous = _previous_version(obj)
        if previous is None:
            return "The first version for this force."
        return (
            format_html_join("", "<p>{}</p>", ((line,) for line in obj.changes_from(previous)))
            or f"Nothing: the same rules as version {previous.version}."
        )

    def save_model(self, request, obj, form, change):
        if change:
            obj.pk = None
            obj._state.adding = True
        obj.version = (
            SchemePolicy.objects.filter(force=obj.force).aggregate(n=Max("version"))["n"] or 0
        ) + 1
        obj.created_by = request.user
        previous = _previous_version(obj)
        super().save_model(request, obj, form, change)
        if change:
            changed = obj.changes_from(previous)
            messages.info(
                request,
                f"Saved as version {obj.version}; earlier versions are kept unchanged. "
                + ("Changed: " + "; ".join(changed) + "." if changed else "Nothing changed."),
            )

    def has_delete_permission(self, request, obj=None):
        return False


def _previous_version(policy: SchemePolicy) -> SchemePolicy | None:
    """The force's version before `policy` (the latest, for a policy not saved yet)."""
    earlier = SchemePolicy.objects.filter(force_id=policy.force_id)
    if policy.version:
        earlier = earlier.filter(version__lt=policy.version)
    return earlier.order_by("-version").first()
