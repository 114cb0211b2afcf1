"""Admin for providers and the programmes they run."""

from __future__ import annotations

from django.contrib import admin

from programmes.models import Programme, Provider


class ProgrammeInline(admin.TabularInline):
    model = Programme
    extra = 0
    fields = ["name", "kind", "sessions_required", "is_active"]
    show_change_link = True


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["name", "contact_email"]
    search_fields = ["name"]
    inlines = [ProgrammeInline]


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "kind", "sessions_required", "is_active"]
    list_filter = ["kind", "is_active", "provider"]
    search_fields = ["name", "provider__name"]
    filter_horizontal = ["forces_served"]
