"""The coordinator's view of dates: overdue and due-this-week milestones across my caseload,
tasks, MRD results, treatment events, reminder rules and reminders that failed."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from cases.admin import case_section
from cases.workplace import case_panel, timeline_source
from navigator.admin import VisibleAdmin
from navigator.errors import DomainError

from . import delivery, services
from . import selectors as scheduling_selectors
from .feed_tokens import calendar_link_revoke
from .models import (
    CalendarLink,
    CoordinatorTask,
    Milestone,
    MRDResult,
    Reminder,
    ReminderRule,
    TransplantDecision,
    TreatmentEvent,
)
from .reminders import reminder_rules_changed


class MyCaseloadFilter(admin.SimpleListFilter):
    """Defaults to the signed-in coordinator's own cases."""

    title = "caseload"
    parameter_name = "caseload"
    case_path = "case__coordinator"

    def lookups(self, request, model_admin):
        return [("mine", "My caseload"), ("all", "All coordinators")]

    def value(self):
        return super().value() or "mine"

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.filter(**{self.case_path: request.user})
        return queryset


class TaskCaseloadFilter(MyCaseloadFilter):
    case_path = "assignee"


class DueFilter(admin.SimpleListFilter):
    """Overdue / due this week / all open (default) / everything."""

    title = "due"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue"), ("week", "Due in the next 7 days"), ("open", "All open"), ("all", "Everything")]

    def value(self):
        return super().value() or "open"

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        now = timezone.now()
        value = self.value()
        if value == "overdue":
            return queryset.overdue(now)
        if value == "week":
            return queryset.due_between(now, now + dt.timedelta(days=7))
        if value == "open":
            return queryset.open()
        return queryset


def _case_link(case):
    return format_html('<a href="{}">{}</a>', reverse("admin:cases_case_change", args=[case.pk]), case.reference)


@admin.register(Milestone)
class MilestoneAdmin(VisibleAdmin, admin.ModelAdmin):
    """Derived rows: read-only here. They change when events, results or deadlines change."""

    list_display = ("due_at", "title", "case_link", "kind", "status_badge", "concerns_family", "coordinator")
    list_filter = (MyCaseloadFilter, DueFilter, "kind", "status")
    list_select_related = ("case", "case__coordinator")
    search_fields = ("case__reference", "title", "key")
    ordering = ("due_at", "id")
    date_hierarchy = "due_at"
    list_per_page = 100
    actions = ["mark_done"]
    readonly_fields = [f.name for f in Milestone._meta.fields if f.name not in ("source_type",)]
    exclude = ("source_type",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="case", ordering="case__reference")
    def case_link(self, obj):
        return _case_link(obj.case)

    @admin.display(description="coordinator")
    def coordinator(self, obj):
        return obj.case.coordinator

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        if obj.is_overdue:
            return format_html('<strong class="nav-overdue">{} (overdue)</strong>', obj.get_status_display())
        return obj.get_status_display()

    @admin.action(description="Mark the selected milestones done")
    def mark_done(self, request, queryset):
        done = sum(services.milestone_complete(milestone=m) for m in queryset.open())
        self.message_user(request, f"{done} milestone(s) marked done.")


@case_section(10)
class MilestoneInline(VisibleAdmin, admin.TabularInline):
    """Open milestones of a case, for CaseAdmin.inlines (read-only)."""

    model = Milestone
    fields = ("due_at", "title", "kind", "status", "concerns_family")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("due_at",)
    verbose_name_plural = "open milestones"

    def get_queryset(self, request):
        return super().get_queryset(request).open()

    def has_add_permission(self, request, obj=None):
        return False


class TreatmentEventForm(forms.ModelForm):
    class Meta:
        model = TreatmentEvent
        fields = ("case", "kind", "occurred_on", "status", "hospital", "notes")

    def clean(self):
        data = super().clean()
        on, status = data.get("occurred_on"), data.get("status")
        if on and status:
            try:
                services._check_date(on, field_name="occurred_on", allow_future=status == TreatmentEvent.Status.PLANNED)
            except DomainError as err:
                raise ValidationError({err.field: err.message})
        return data

    def validate_unique(self):
        # One event per kind per case: saving the same kind again moves the existing event.
        pass


@admin.register(TreatmentEvent)
class TreatmentEventAdmin(VisibleAdmin, admin.ModelAdmin):
    form = TreatmentEventForm
    list_display = ("occurred_on", "kind", "status", "case", "hospital")
    list_filter = ("kind", "status")
    list_select_related = ("case", "hospital")
    search_fields = ("case__reference",)
    autocomplete_fields = ("case",)

    def save_model(self, request, obj, form, change):
        # Through the service, so every dependent milestone and reminder moves in one transaction.
        event, changes = services.event_record(
            case=obj.case,
            kind=obj.kind,
            occurred_on=obj.occurred_on,
            status=obj.status,
            hospital=obj.hospital,
            notes=obj.notes,
            actor=request.user,
        )
        obj.pk = event.pk
        moved = ", ".join(f"{m['title']} → {m['to'][:10]}" for m in changes.moved) or "nothing"
        self.message_user(
            request,
            f"Moved: {moved}. Created {len(changes.created)}, cancelled {len(changes.cancelled)} milestone(s); "
            f"{changes.reminders_moved} reminder(s) moved.",
            messages.SUCCESS,
        )

    def delete_model(self, request, obj):
        services.event_delete(event=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.event_delete(event=obj, actor=request.user)


class MRDResultForm(forms.ModelForm):
    # Remission is entered explicitly: an unticked box must not read as "not in remission" by accident.
    complete_remission = forms.TypedChoiceField(
        choices=[("", "---------"), ("True", "Yes: complete remission (CR/CRi)"), ("False", "No")],
        coerce=lambda value: value == "True",
        required=True,
        help_text="Morphological complete remission at this assessment.",
    )

    class Meta:
        model = MRDResult
        fields = (
            "case",
            "checkpoint",
            "sample_date",
            "sample",
            "method",
            "value",
            "result",
            "complete_remission",
            "document",
            "notes",
        )


@admin.register(MRDResult)
class MRDResultAdmin(VisibleAdmin, admin.ModelAdmin):
    form = MRDResultForm
    list_display = ("sample_date", "case", "checkpoint", "result", "method", "value", "complete_remission")
    list_filter = ("checkpoint", "result", "method")
    list_select_related = ("case",)
    search_fields = ("case__reference",)
    autocomplete_fields = ("case", "document")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)

        class Checked(form_class):
            def clean(self):
                data = super().clean()
                if self.errors:
                    return data
                try:
                    data["value"] = services.mrd_result_check(
                        **{
                            f: data.get(f)
                            for f in MRDResultForm.Meta.fields
                            if f not in ("complete_remission", "notes")
                        }
                    )
                except DomainError as err:
                    raise ValidationError({err.field: err.message} if err.field else err.message)
                return data

        return Checked

    def save_model(self, request, obj, form, change):
        saved = services.mrd_result_record(
            actor=request.user, **{f: form.cleaned_data.get(f) for f in MRDResultForm.Meta.fields}
        )
        obj.pk = saved.pk


@admin.register(TransplantDecision)
class TransplantDecisionAdmin(VisibleAdmin, admin.ModelAdmin):
    list_display = ("case", "decision", "decided_on", "updated_at")
    list_filter = ("decision",)
    list_select_related = ("case",)
    search_fields = ("case__reference",)
    autocomplete_fields = ("case",)
    fields = ("case", "decision", "reason", "decided_on")

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)

        class Checked(form_class):
            def clean(self):
                data = super().clean()
                if (
                    data.get("decision") == TransplantDecision.Decision.NOT_PLANNED
                    and not (data.get("reason") or "").strip()
                ):
                    raise ValidationError({"reason": "Give the reason no transplant is planned."})
                return data

        return Checked

    def save_model(self, request, obj, form, change):
        saved, _changes = services.transplant_decision_record(
            case=form.cleaned_data["case"],
            actor=request.user,
            decision=form.cleaned_data["decision"],
            reason=form.cleaned_data.get("reason", ""),
            decided_on=form.cleaned_data.get("decided_on"),
        )
        obj.pk = saved.pk


@admin.register(CoordinatorTask)
class CoordinatorTaskAdmin(VisibleAdmin, admin.ModelAdmin):
    list_display = ("priority", "title", "case", "status", "due_at", "assignee", "created_at")
    list_filter = (TaskCaseloadFilter, "status", "priority")
    list_select_related = ("case", "assignee")
    search_fields = ("case__reference", "title")
    readonly_fields = ("case", "key", "title", "detail", "priority", "milestone", "mrd_result", "created_at")
    ordering = ("status", "-priority", "created_at")
    actions = ["mark_done"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Mark the selected tasks done")
    def mark_done(self, request, queryset):
        done = sum(services.task_complete(task=t, actor=request.user) for t in queryset)
        self.message_user(request, f"{done} task(s) done.")


@admin.register(ReminderRule)
class ReminderRuleAdmin(admin.ModelAdmin):
    list_display = (
        "kind",
        "offset_days",
        "is_escalation",
        "to_coordinator",
        "to_family",
        "to_hospital",
        "to_home_haematologist",
        "family_channels",
        "is_active",
    )
    list_editable = (
        "to_coordinator",
        "to_family",
        "to_hospital",
        "to_home_haematologist",
        "family_channels",
        "is_active",
    )
    list_filter = ("kind", "is_escalation", "is_active")

    # A rule change applies to the reminders not sent yet, not only to milestones planned later.
    def save_model(self, request, obj, form, change):
        old_kind = ReminderRule.objects.filter(pk=obj.pk).values_list("kind", flat=True).first() if change else None
        super().save_model(request, obj, form, change)
        reminder_rules_changed(kinds={obj.kind, old_kind} - {None})

    def delete_model(self, request, obj):
        kind = obj.kind
        super().delete_model(request, obj)
        reminder_rules_changed(kinds={kind})

    def delete_queryset(self, request, queryset):
        kinds = set(queryset.values_list("kind", flat=True))
        super().delete_queryset(request, queryset)
        reminder_rules_changed(kinds=kinds)


class ReminderStatusFilter(admin.SimpleListFilter):
    """Defaults to the reminders still to go out, and those that failed (to send again)."""

    title = "status"
    parameter_name = "status"
    OUTSTANDING = (Reminder.Status.PENDING, Reminder.Status.QUEUED, Reminder.Status.SENDING, Reminder.Status.FAILED)

    def lookups(self, request, model_admin):
        return [("outstanding", "To send, or failed"), *Reminder.Status.choices, ("all", "Everything")]

    def value(self):
        return super().value() or "outstanding"

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value == "outstanding":
            return queryset.filter(status__in=self.OUTSTANDING)
        if value == "all":
            return queryset
        return queryset.filter(status=value)


class ReminderCaseloadFilter(MyCaseloadFilter):
    """My cases' reminders by default; the team's on request."""

    case_path = "milestone__case__coordinator"


@admin.register(Reminder)
class ReminderAdmin(VisibleAdmin, admin.ModelAdmin):
    """Reminders of my cases, soonest first, to whom by name. Failed ones show here too; a
    coordinator can send them again."""

    list_display = (
        "send_at",
        "case_link",
        "milestone_title",
        "recipient_name",
        "channel",
        "status",
        "attempts",
        "last_error",
    )
    list_filter = (ReminderCaseloadFilter, ReminderStatusFilter, "channel", "audience", "is_escalation")
    list_select_related = ("milestone", "milestone__case", "user", "contact")
    search_fields = ("milestone__case__reference", "contact__name", "user__username", "user__last_name")
    readonly_fields = [f.name for f in Reminder._meta.fields]
    actions = ["retry_failed"]
    ordering = ("send_at", "id")

    def has_add_permission(self, request):
        return False

    @admin.display(description="case", ordering="milestone__case__reference")
    def case_link(self, obj):
        return _case_link(obj.milestone.case)

    @admin.display(description="about", ordering="milestone__due_at")
    def milestone_title(self, obj):
        return obj.milestone.title

    @admin.display(description="to")
    def recipient_name(self, obj):
        return reminder_recipient_name(obj)

    @admin.action(description="Send the selected failed reminders again")
    def retry_failed(self, request, queryset):
        n = sum(
            delivery.reminder_retry_failed(reminder=r, actor=request.user) for r in queryset.filter(status="failed")
        )
        self.message_user(request, f"{n} reminder(s) will be sent again at the next sweep.")


def reminder_recipient_name(reminder: Reminder) -> str:
    """Who a reminder goes to, by name and role: "Olga Ivanova (family)", "Alice Moreau (coordinator)"."""
    if reminder.contact_id and reminder.contact is not None:
        return f"{reminder.contact.name} ({reminder.get_audience_display().lower()})"
    if reminder.user_id and reminder.user is not None:
        name = reminder.user.get_full_name() or reminder.user.get_username()
        return f"{name} ({reminder.get_audience_display().lower()})"
    return f"{reminder.recipient} ({reminder.get_audience_display().lower()})"


@admin.register(CalendarLink)
class CalendarLinkAdmin(VisibleAdmin, admin.ModelAdmin):
    """Calendar subscription links: when each expires, when it was last used; revoke one by one."""

    list_display = ("id", "case", "user", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    list_select_related = ("case", "user")
    search_fields = ("case__reference",)
    readonly_fields = ("user", "case", "created_at", "expires_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected calendar links")
    def revoke(self, request, queryset):
        n = sum(calendar_link_revoke(link=link, actor=request.user) for link in queryset)
        self.message_user(request, f"{n} calendar link(s) revoked; calendars using them no longer update.")


# The case timeline: what this app adds to it.
timeline_source(scheduling_selectors.timeline_entries)


@case_panel("schedule", order=10)
def mrd_panel(request, case) -> str:
    """The case's MRD results, and where to record the next one."""
    results = MRDResult.objects.filter(case=case).order_by("-sample_date", "-id")[:5]
    add = reverse("admin:scheduling_mrdresult_add") + f"?case={case.pk}"
    rows = format_html_join(
        "",
        "<li>{} · {}: {}</li>",
        ((r.sample_date.isoformat(), r.get_checkpoint_display(), r.get_result_display()) for r in results),
    )
    return format_html(
        '<h2 class="workplace-panel-title">MRD results</h2><ul>{}</ul><p><a href="{}" class="button">'
        "Record an MRD result</a></p>",
        rows or format_html("<li>{}</li>", "None recorded yet."),
        add,
    )
