from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.template.response import TemplateResponse

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
    actions = ["issue_two_factor_enrolment_code", "reset_two_factor"]

    def has_two_factor_permission(self, request) -> bool:
        """Only supervisors hand out enrolment codes and reset devices."""
        return bool(getattr(request.user, "is_supervisor", False))

    @admin.action(description="Issue a two-factor enrolment code", permissions=["two_factor"])
    def issue_two_factor_enrolment_code(self, request, queryset):
        from privacy.models import TwoFactorEnrolmentCode
        from privacy.two_factor import issue_enrolment_code

        if queryset.count() != 1:
            self.message_user(request, "Select exactly one staff member.", messages.ERROR)
            return None
        user = queryset.get()
        if user.pk == request.user.pk:
            self.message_user(request, "Another supervisor must issue your own enrolment code.", messages.ERROR)
            return None
        if not (user.is_active and (user.is_staff or user.is_coordinator)):
            self.message_user(request, f"{user.username} does not sign in to the admin.", messages.ERROR)
            return None
        code = issue_enrolment_code(user, channel=TwoFactorEnrolmentCode.Channel.SUPERVISOR, issued_by=request.user)
        context = {
            **self.admin_site.each_context(request),
            "title": "Two-factor enrolment code",
            "target": user,
            "code": code,
            "minutes": settings.TWO_FACTOR_ENROLMENT_CODE_MINUTES,
        }
        return TemplateResponse(request, "privacy/two_factor_issued_code.html", context)

    @admin.action(description="Reset two-factor sign-in (lost device)", permissions=["two_factor"])
    def reset_two_factor(self, request, queryset):
        from privacy.two_factor import reset_two_factor

        users = list(queryset)
        for user in users:
            reset_two_factor(user, by=request.user)
        self.message_user(
            request,
            f"Two-factor sign-in reset for {len(users)} user(s); each now needs a new enrolment code.",
            messages.SUCCESS,
        )
