"""The coordinators' desk for data requests: download a case's export, erase closed cases."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.admin import UserAdmin
from accounts.models import User
from accounts.roles import is_coordinator
from audit.mixins import audited_admin_action
from cases.models import StatusChange
from navigator.admin import VisibleAdmin
from navigator.errors import DomainError

from . import services, two_factor
from .api.views import export_response
from .models import CaseDataRequest, Erasure, ErasureFailure, TwoFactorEnrolmentCode


class CoordinatorOnly:
    """Coordinators work here; nobody adds, edits or deletes rows through these pages."""

    def has_module_permission(self, request):
        return is_coordinator(request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ErasureStateFilter(admin.SimpleListFilter):
    """What a supervisor checks: which cases are due for erasure, which failed, which are done."""

    title = "erasure"
    parameter_name = "erasure"

    def lookups(self, request, model_admin):
        return [("due", "Due (past retention)"), ("failed", "Failed, not yet erased"), ("erased", "Erased")]

    def queryset(self, request, queryset):
        if self.value() == "due":
            return queryset.filter(pk__in=services.cases_due_for_erasure().values("pk"))
        if self.value() == "failed":
            return queryset.filter(erasure_failure__isnull=False, erasure_failure__resolved_at__isnull=True)
        if self.value() == "erased":
            return queryset.filter(erasure__isnull=False)
        return queryset


@admin.register(CaseDataRequest)
class CaseDataRequestAdmin(VisibleAdmin, CoordinatorOnly, admin.ModelAdmin):
    list_display = (
        "reference",
        "patient",
        "status",
        "closed_at",
        "retention_until",
        "erasure_state",
        "export_link",
    )
    list_filter = (ErasureStateFilter, "status")
    search_fields = ("reference",)
    list_select_related = ("patient", "erasure", "erasure_failure")
    actions = ["export_selected", "erase_selected"]
    show_full_result_count = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .visible_to(request.user)
            # A correlated subquery, evaluated only for the rows of the page (index on case, -changed_at).
            .annotate(
                last_change=Subquery(
                    StatusChange.objects.filter(case=OuterRef("pk")).order_by("-changed_at").values("changed_at")[:1]
                )
            )
        )

    @admin.display(description="Last status change", ordering="last_change")
    def closed_at(self, obj):
        return obj.last_change

    @admin.display(description="Erasable from")
    def retention_until(self, obj):
        if obj.status != "closed" or obj.last_change is None:
            return "—"
        until = obj.last_change + timezone.timedelta(days=settings.CASE_RETENTION_DAYS)
        return until.date()

    @admin.display(description="Erasure")
    def erasure_state(self, obj):
        erasure = getattr(obj, "erasure", None)
        if erasure is not None:
            return f"erased {erasure.erased_at:%Y-%m-%d}"
        failure = getattr(obj, "erasure_failure", None)
        if failure is not None and failure.resolved_at is None:
            return (
                f"FAILED {failure.attempts}× (last {failure.last_failed_at:%Y-%m-%d %H:%M}): {failure.last_error[:120]}"
            )
        if obj.status == "closed" and obj.last_change is not None:
            if obj.last_change + timezone.timedelta(days=settings.CASE_RETENTION_DAYS) <= timezone.now():
                return "due"
        return "—"

    @admin.display(description="Export")
    def export_link(self, obj):
        url = reverse("admin:privacy_casedatarequest_export", args=[obj.pk])
        return format_html('<a href="{}">Download ZIP</a>', url)

    def get_urls(self):
        view = self.admin_site.admin_view(self.audited_admin_view(self.export_view, "export"))
        return [path("<int:pk>/export/", view, name="privacy_casedatarequest_export"), *super().get_urls()]

    def export_view(self, request, pk: int):
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        case = get_object_or_404(self.get_queryset(request), pk=pk)
        return export_response(case=case, actor=request.user)

    @admin.action(description="Download the data export (one case)")
    @audited_admin_action("export")
    def export_selected(self, request, queryset):
        cases = list(queryset[:2])
        if len(cases) != 1:
            self.message_user(request, "Select exactly one case to export.", messages.ERROR)
            return None
        return export_response(case=cases[0], actor=request.user)

    @admin.action(description="Erase personal data (closed cases past retention)")
    def erase_selected(self, request, queryset):
        erased = 0
        for case in queryset:
            try:
                services.case_erase(case_id=case.pk, actor=request.user)
                erased += 1
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        if erased:
            self.message_user(request, f"Erased {erased} case(s); the audit trail is kept.", messages.SUCCESS)


@admin.register(Erasure)
class ErasureAdmin(VisibleAdmin, CoordinatorOnly, admin.ModelAdmin):
    list_display = ("case_reference", "erased_at", "erased_by")
    search_fields = ("case_reference",)
    readonly_fields = ("case", "case_reference", "erased_at", "erased_by", "summary")


@admin.register(ErasureFailure)
class ErasureFailureAdmin(VisibleAdmin, CoordinatorOnly, admin.ModelAdmin):
    """Erasures that failed: the attempts counter, the last error, whether a supervisor was told
    and when it finally succeeded. Unresolved rows are personal data kept past retention."""

    list_display = ("case", "attempts", "last_failed_at", "reported_at", "resolved_at", "short_error")
    list_filter = (("resolved_at", admin.EmptyFieldListFilter),)
    list_select_related = ("case",)
    readonly_fields = (
        "case",
        "attempts",
        "last_error",
        "first_failed_at",
        "last_failed_at",
        "reported_at",
        "resolved_at",
    )

    @admin.display(description="Last error")
    def short_error(self, obj):
        return obj.last_error[:160]


# Staff two-factor belongs to privacy, which knows accounts (not the reverse): the user admin
# registered by accounts is replaced by one with the supervisors' two-factor actions.
admin.site.unregister(User)


@admin.register(User)
class TwoFactorUserAdmin(UserAdmin):
    actions = ["deactivate_selected", "issue_two_factor_enrolment_code", "reset_two_factor"]

    def get_actions(self, request):
        # Staff and families leave by deactivation: their names stay in the append-only audit trail.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Deactivate selected users (kept in the audit trail)", permissions=["change"])
    def deactivate_selected(self, request, queryset):
        done = sum(services.user_deactivate(user=user, actor=request.user) for user in queryset if user != request.user)
        if queryset.filter(pk=request.user.pk).exists():
            self.message_user(request, "You cannot deactivate yourself.", messages.ERROR)
        self.message_user(request, f"Deactivated {done} user(s); they can no longer sign in.", messages.SUCCESS)

    def delete_view(self, request, object_id, extra_context=None):
        """A user the audit trail names is deactivated instead of deleted, and the page says so."""
        user = self.get_object(request, object_id)
        if user is None or not self.has_delete_permission(request, user):
            return super().delete_view(request, object_id, extra_context)
        if not services.user_has_history(user=user):
            return super().delete_view(request, object_id, extra_context)
        if request.method == "POST":
            if user == request.user:
                self.message_user(request, "You cannot deactivate yourself.", messages.ERROR)
            elif services.user_deactivate(user=user, actor=request.user):
                self.message_user(
                    request,
                    f"{user.username} was deactivated, not deleted: the audit trail keeps what they did. "
                    "They can no longer sign in.",
                    messages.SUCCESS,
                )
            else:
                self.message_user(request, f"{user.username} was already inactive.", messages.INFO)
            return redirect("admin:accounts_user_change", user.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Deactivate {user.username}",
            "opts": self.model._meta,
            "target": user,
        }
        return TemplateResponse(request, "privacy/user_deactivate.html", context)

    def has_two_factor_permission(self, request) -> bool:
        """Only supervisors hand out enrolment codes and reset devices."""
        return bool(getattr(request.user, "is_supervisor", False))

    @admin.action(description="Issue a two-factor enrolment code", permissions=["two_factor"])
    def issue_two_factor_enrolment_code(self, request, queryset):
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
        code = two_factor.issue_enrolment_code(
            user, channel=TwoFactorEnrolmentCode.Channel.SUPERVISOR, issued_by=request.user
        )
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
        users = list(queryset)
        for user in users:
            two_factor.reset_two_factor(user, by=request.user)
        self.message_user(
            request,
            f"Two-factor sign-in reset for {len(users)} user(s); each now needs a new enrolment code.",
            messages.SUCCESS,
        )


class RecoveryCodesAdmin(admin.ModelAdmin):
    """Recovery codes by owner and count: the codes themselves are shown once, to their owner,
    and never here. Supervisors reset lost sign-ins with the user list's action."""

    list_display = ("user", "name", "confirmed", "remaining")
    fields = ("user", "name", "confirmed", "remaining")
    readonly_fields = fields
    search_fields = ("user__username",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").annotate(_remaining=Count("token_set"))

    @admin.display(description="Unused codes")
    def remaining(self, obj) -> int:
        return obj._remaining

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
