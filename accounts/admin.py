"""Admin for users: their role and the organisation they belong to."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "get_full_name", "role", "force", "provider", "is_active"]
    list_filter = ["role", "is_active", "force", "provider"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("Role and organisation", {"fields": ("role", "force", "provider")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        ("Role and organisation", {"fields": ("role", "force", "provider")}),
    )
    autocomplete_fields = ["force", "provider"]

    def has_delete_permission(self, request, obj=None):
        # Users are deactivated, never deleted: the audit trail points at them.
        return False
