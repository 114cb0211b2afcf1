"""Admin for reference data and scheme policies. People and cases are not here on purpose:
administrators manage the service, they do not read personal data."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Max

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
    readonly_fields = ["version", "created_at", "created_by"]
    autocomplete_fields = ["force"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.pk = None
            obj._state.adding = True
        obj.version = (
            SchemePolicy.objects.filter(force=obj.force).aggregate(n=Max("version"))["n"] or 0
        ) + 1
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if change:
            messages.info(
                request,
                f"Saved as version {obj.version}; earlier versions are kept unchanged.",
            )

    def has_delete_permission(self, request, obj=None):
        return False
