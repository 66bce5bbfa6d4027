"""The way home in the coordinator's admin: the home haematologist and their links, handback
versions (a discharge form makes the next one), results posted after discharge, and the
follow-up visits, overdue first."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from cases.admin import time_zone_choices
from cases.models import Case
from navigator.admin import ReadOnlyAdmin, VisibleAdmin
from navigator.errors import DomainError

from .forms import DischargeForm
from .models import AccessLink, FollowUpResult, FollowUpVisit, Handback, HomeHaematologist, LinkUse
from .services import haematologist_save, handback_create, link_issue, link_revoke


class AccessLinkInline(VisibleAdmin, admin.TabularInline):
    model = AccessLink
    extra = 0
    can_delete = False
    fields = ("created_at", "created_by_label", "expires_at", "revoked_at", "revoked_by_label", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(HomeHaematologist)
class HomeHaematologistAdmin(VisibleAdmin, admin.ModelAdmin):
    """The home haematologist: their language and zone (their page and reminders follow them),
    addresses, whether they are reminded, and their links."""

    list_display = ("case", "name", "centre", "email", "language", "time_zone", "receives_reminders", "link_state")
    search_fields = ("case__reference", "name", "centre")
    raw_id_fields = ("case",)
    fields = ("case", "name", "centre", "email", "phone", "language", "time_zone", "receives_reminders")
    inlines = [AccessLinkInline]
    actions = ["issue_link", "revoke_links"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "time_zone":
            kwargs["widget"] = forms.Select(choices=time_zone_choices())
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # Through the service: validated, audited, and their unsent reminders re-planned.
        try:
            saved = haematologist_save(
                case=obj.case,
                actor=request.user,
                **{name: form.cleaned_data[name] for name in self.fields if name != "case"},
            )
        except DomainError as error:
            # The form was valid; a refusal here is a rule of the service (a coordinator only).
            raise PermissionDenied(error.message) from error
        obj.pk = saved.pk

    @admin.display(description="link")
    def link_state(self, obj):
        link = obj.links.order_by("-created_at").first()
        return link.state if link else "-"

    @admin.action(description="Issue a new link to the handback (shown once)")
    def issue_link(self, request, queryset):
        for contact in queryset:
            try:
                _link, token = link_issue(haematologist=contact, actor=request.user)
            except DomainError as error:
                messages.error(request, f"{contact}: {error.message}")
                continue
            url = request.build_absolute_uri(reverse("followup:handback", args=[token]))
            messages.warning(request, f"Link for {contact} (copy it now, it is not shown again): {url}")

    @admin.action(description="Revoke their active links")
    def revoke_links(self, request, queryset):
        count = 0
        for link in AccessLink.objects.filter(haematologist__in=queryset, revoked_at=None):
            link_revoke(link=link, actor=request.user)
            count += 1
        messages.success(request, f"{count} link(s) revoked.")


@admin.register(Handback)
class HandbackAdmin(VisibleAdmin, admin.ModelAdmin):
    """Handback versions: never changed; "add" writes the next version from the discharge letter
    (``?case=<id>``)."""

    list_display = ("case", "version", "created_at", "created_by_label", "files")
    list_select_related = ("case",)
    search_fields = ("case__reference",)
    fields = ("case", "version", "created_at", "created_by_label", "digest", "content", "bundle")
    readonly_fields = fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="files")
    def files(self, obj):
        pdf = reverse("admin:followup_handback_pdf", args=[obj.pk])
        fhir = reverse("admin:followup_handback_fhir", args=[obj.pk])
        return format_html('<a href="{}">PDF</a> · <a href="{}">FHIR</a>', pdf, fhir)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/pdf/",
                self.admin_site.admin_view(self.audited_admin_view(self.pdf_view, "download", page="handback-pdf")),
                name="followup_handback_pdf",
            ),
            path(
                "<path:object_id>/fhir/",
                self.admin_site.admin_view(self.audited_admin_view(self.fhir_view, "download", page="handback-fhir")),
                name="followup_handback_fhir",
            ),
            *super().get_urls(),
        ]

    def _handback(self, request, object_id) -> Handback:
        handback = self.get_object(request, unquote(object_id))
        if handback is None:
            raise Http404
        return handback

    def pdf_view(self, request, object_id):
        handback = self._handback(request, object_id)
        response = HttpResponse(bytes(handback.pdf), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="handback-{handback.case_id}-v{handback.version}.pdf"'
        return response

    def fhir_view(self, request, object_id):
        handback = self._handback(request, object_id)
        body = json.dumps(handback.bundle, ensure_ascii=False)
        response = HttpResponse(body, content_type="application/fhir+json")
        response["Content-Disposition"] = f'attachment; filename="handback-{handback.case_id}-v{handback.version}.json"'
        return response

    def add_view(self, request, form_url="", extra_context=None):
        case = Case.objects.visible_to(request.user).filter(pk=request.GET.get("case") or 0).first()
        if case is None:
            messages.error(request, "Open the handback form from a case (?case=<id>).")
            return redirect("admin:followup_handback_changelist")
        form = DischargeForm(request.POST or None, initial={"discharge_date": timezone.localdate()})
        if request.method == "POST" and form.is_valid():
            try:
                handback, created = handback_create(case=case, actor=request.user, discharge=form.discharge())
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                word = "created" if created else "unchanged: the latest version stands"
                messages.success(request, f"Handback v{handback.version} {word}; the follow-up plan is up to date.")
                return redirect("admin:followup_handback_change", handback.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Handback for {case}",
            "opts": self.model._meta,
            "case": case,
            "form": form,
        }
        return TemplateResponse(
            request, "admin/followup/handback/discharge.html", context, status=200 if not form.errors else 400
        )


@admin.register(FollowUpResult)
class FollowUpResultAdmin(ReadOnlyAdmin, VisibleAdmin, admin.ModelAdmin):
    list_display = ("case", "kind", "date", "value", "unit", "finding", "reported_by_label", "created_at")
    list_filter = ("kind",)
    list_select_related = ("case",)
    search_fields = ("case__reference",)
    readonly_fields = [f.name for f in FollowUpResult._meta.fields]


class OverdueVisitFilter(admin.SimpleListFilter):
    title = "due"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue"), ("open", "Open"), ("done", "Done")]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.overdue()
        if self.value() == "open":
            return queryset.open()
        if self.value() == "done":
            return queryset.filter(status="done")
        return queryset


@admin.register(FollowUpVisit)
class FollowUpVisitAdmin(ReadOnlyAdmin, VisibleAdmin, admin.ModelAdmin):
    """Follow-up visits after discharge across cases; "Overdue" is the coordinator's list of who
    has not been seen (or whose results have not come back)."""

    list_display = ("case", "title", "due_at", "status", "overdue")
    list_filter = (OverdueVisitFilter, "status")
    list_select_related = ("case",)
    search_fields = ("case__reference",)
    ordering = ("due_at",)
    readonly_fields = ("case", "key", "kind", "title", "due_at", "status", "completed_at")
    fields = readonly_fields

    @admin.display(boolean=True, description="overdue")
    def overdue(self, obj):
        return obj.status in ("pending", "escalated") and obj.due_at < timezone.now()


@admin.register(LinkUse)
class LinkUseAdmin(ReadOnlyAdmin, VisibleAdmin, admin.ModelAdmin):
    """Every use of a home haematologist's link, refusals (revoked, expired) included."""

    list_display = ("at", "case", "page", "outcome", "ip")
    list_filter = ("outcome",)
    list_select_related = ("case",)
    search_fields = ("case__reference",)
    readonly_fields = ("link", "case", "at", "page", "outcome", "ip")
    fields = readonly_fields
