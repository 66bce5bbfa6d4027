from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "role", "hospital", "is_active")
    list_filter = ("role", "is_active", "hospital")
    list_select_related = ("hospital",)
    search_fields = ("username", "email", "first_name", "last_name")
    autocomplete_fields = ("hospital",)
    fieldsets = BaseUserAdmin.fieldsets + (
        ("Navigator", {"fields": ("role", "hospital", "preferred_language", "time_zone")}),
    )
    add_fieldsets = BaseUserAdmin.add_fieldsets + (
        ("Navigator", {"fields": ("email", "role", "hospital", "preferred_language", "time_zone")}),
    )
