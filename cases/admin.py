"""The coordinator's workplace: caseload, overdue items, contacts and history on one page."""

from __future__ import annotations

import functools
import zoneinfo

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST, require_safe
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import User
from accounts.roles import is_coordinator, is_supervisor
from audit.mixins import audited_admin_action
from audit.models import AuditEvent
from navigator.admin import ReadOnlyAdmin, VisibleAdmin
from navigator.errors import DomainError
from navigator.pagination import table_estimate

from . import services, workflow, workplace
from .models import Case, FamilyContact, Indication, Patient, StatusChange
from .selectors import case_search, case_timeline, estimated_rows, family_local_time

admin.site.site_header = "Navigator"
admin.site.site_title = "Navigator"
admin.site.index_title = "Coordinators' workplace"


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL a long changelist shows the planner's row estimate instead of COUNT(*),
    which reads every matching row: the table's size when unfiltered (above 10,000 rows), the
    plan's estimate when filtered or searched (above 1,000: a surname shared by 5,000 patients
    would otherwise be counted by reading every patient's name). Shorter lists count exactly."""

    @cached_property
    def count(self):
        query = getattr(self.object_list, "query", None)
        if query is not None and connection.vendor == "postgresql":
            if not query.where:
                # The statistics the API's lists read too (kept a minute per process).
                estimate = int(table_estimate(self.object_list.db, query.model._meta.db_table))
                if estimate > 10_000:
                    return estimate
            else:
                estimate = estimated_rows(self.object_list)
                if estimate > 1_000:
                    return estimate
        return super().count


class ServiceSavesAdminMixin:
    """The admin form validates; a service writes (``save_service`` / ``delete_service``).

    Listed after ``VisibleAdmin`` (its ``AuditedAdminMixin`` records the change once the service ran).
    Many-to-many fields and inlines are saved afterwards by the admin as usual.
    """

    def save_model(self, request, obj, form, change):
        many = {f.name for f in obj._meta.many_to_many}
        names = form.changed_data if change else form.cleaned_data
        data = {name: form.cleaned_data[name] for name in names if name in form.cleaned_data and name not in many}
        saved = self.save_service(request=request, obj=obj, data=data, change=change)
        if saved is not obj:  # created by the service: the admin goes on with its own object
            obj.pk = saved.pk
            obj._state.adding = False
            obj._state.db = saved._state.db

    def delete_model(self, request, obj):
        if self.delete_service is None:
            return super().delete_model(request, obj)
        self.delete_service(request=request, obj=obj)

    def delete_queryset(self, request, queryset):
        if self.delete_service is None:
            return super().delete_queryset(request, queryset)
        for obj in queryset:
            self.delete_service(request=request, obj=obj)

    def save_service(self, *, request, obj, data: dict, change: bool):
        raise NotImplementedError(f"{type(self).__name__} names no save service")

    # A method ``delete_service(*, request, obj)`` where a service deletes; else the admin's own.
    delete_service = None


class CaseloadFilter(admin.SimpleListFilter):
    title = "caseload"
    parameter_name = "caseload"

    def lookups(self, request, model_admin):
        return [("mine", "My caseload"), ("unassigned", "Unassigned")]

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.filter(coordinator=request.user)
        if self.value() == "unassigned":
            return queryset.filter(coordinator__isnull=True)
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = "due"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue"), ("week", "Due within 7 days"), ("none", "Nothing due")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.filter(next_due_at__lt=now)
        if self.value() == "week":
            return queryset.filter(next_due_at__gte=now, next_due_at__lt=now + timezone.timedelta(days=7))
        if self.value() == "none":
            return queryset.filter(next_due_at__isnull=True)
        return queryset


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "All active")] + [(s, workflow.LABELS[s]) for s in workflow.MAIN_PATH + workflow.SIDE_EXITS]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(status__in=workflow.ACTIVE)
        if self.value():
            return queryset.filter(status=self.value())
        return queryset


class CoordinatorFilter(admin.SimpleListFilter):
    title = "coordinator"
    parameter_name = "coordinator"

    def lookups(self, request, model_admin):
        # The four columns the choices show, not whole users (the list asks on every page).
        people = User.objects.filter(role__in=["coordinator", "supervisor"], is_active=True).values_list(
            "pk", "first_name", "last_name", "username"
        )
        return [(str(pk), f"{first} {last}".strip() or username) for pk, first, last, username in people]

    def queryset(self, request, queryset):
        return queryset.filter(coordinator_id=self.value()) if self.value() else queryset


class CountryFilter(admin.SimpleListFilter):
    title = "country"
    parameter_name = "country"

    def lookups(self, request, model_admin):
        from django_countries import countries

        # DISTINCT over every patient costs tens of milliseconds at 100,000 cases; the set of
        # countries changes rarely, so it is cached for a few minutes.
        codes = cache.get_or_set(
            "cases:patient-countries",
            lambda: sorted(Patient.objects.order_by().values_list("country", flat=True).distinct()),
            300,
        )
        return sorted(((c, countries.name(c)) for c in codes if c), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(patient__country=self.value()) if self.value() else queryset


@functools.cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class LanguageAndZoneChoices:
    """Languages and time zones are picked from lists (the project's languages, IANA zones), not typed."""

    language_fields = ("language", "preferred_language")
    zone_fields = ("time_zone",)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in self.language_fields:
            kwargs["widget"] = forms.Select(choices=settings.LANGUAGES)
        elif db_field.name in self.zone_fields:
            kwargs["widget"] = forms.Select(choices=time_zone_choices())
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class ContactInline(LanguageAndZoneChoices, VisibleAdmin, admin.TabularInline):
    """Family contacts belong to the patient; shown and edited on the case page too. On the case page
    a contact's zone is typed with the IANA list offered once for every row (``<datalist>``), not a
    600-option list a row; the model still refuses a zone that is not in it."""

    workplace_tab = "overview"

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in self.zone_fields:
            kwargs["widget"] = forms.TextInput(attrs={"list": "iana-zones", "autocomplete": "off", "size": 18})
            return super(LanguageAndZoneChoices, self).formfield_for_dbfield(db_field, request, **kwargs)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    model = FamilyContact
    fk_name = "patient"
    extra = 0
    fields = (
        "name",
        "native_name",
        "relationship",
        "language",
        "time_zone",
        "email",
        "phone",
        "is_primary",
        "receives_reminders",
        "user",
    )
    raw_id_fields = ("user",)

    def __init__(self, parent_model, admin_site):
        # The formset's parent is the case's patient (see CaseAdmin.get_formset_kwargs).
        super().__init__(Patient, admin_site)


class StatusChangeInline(ReadOnlyAdmin, VisibleAdmin, admin.TabularInline):
    workplace_tab = "audit"
    model = StatusChange
    extra = 0
    fields = ("changed_at", "moved_from", "moved_to", "changed_by", "reason")
    readonly_fields = fields
    ordering = ("-changed_at", "-id")
    verbose_name = "status change"
    verbose_name_plural = "status history"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")

    @admin.display(description="From")
    def moved_from(self, obj):
        return obj.from_label or "—"

    @admin.display(description="To")
    def moved_to(self, obj):
        return obj.to_label


def allowed_moves(*statuses: str) -> list[tuple[str, str]]:
    """The statuses a case in any of ``statuses`` may move to (cases.workflow.TRANSITIONS), in the
    workflow's order: all a status control offers."""
    allowed = set().union(*(workflow.TRANSITIONS.get(s, set()) for s in statuses)) if statuses else set()
    return [(s, workflow.LABELS[s]) for s in workflow.MAIN_PATH + workflow.SIDE_EXITS if s in allowed]


class TransitionForm(forms.Form):
    to_status = forms.ChoiceField(choices=(), label="New status")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Required for side exits and for moving a case back.",
    )

    def __init__(self, *args, statuses: tuple[str, ...] | list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_status"].choices = allowed_moves(*statuses)


class AssignForm(forms.Form):
    coordinator = forms.ModelChoiceField(
        queryset=User.objects.filter(role__in=["coordinator", "supervisor"], is_active=True)
    )
    reason = forms.CharField(required=False)


def _collapsed(inline):
    return type(inline.__name__, (inline,), {"classes": ["collapse"], "__module__": inline.__module__})


_case_sections: list[tuple[int, type]] = []


def case_section(order: int, *, collapsed: bool = False):
    """Add an app's inline to the case page. Each app registers its own sections from its admin
    module, so this app imports none of them. ``order`` is the order a coordinator works a case:
    10 milestones, 20 document requests, 30 documents, 40 assessments, 50 referrals, 60 threads,
    70 and on travel; it also names the tab the inline opens in (``workplace.tab_for_section``)."""

    def register(inline):
        inline.workplace_tab = workplace.tab_for_section(order)
        _case_sections.append((order, _collapsed(inline) if collapsed else inline))
        return inline

    return register


def case_inlines() -> tuple:
    """The other apps' sections of the case page, in order."""
    return tuple(inline for _order, inline in sorted(_case_sections, key=lambda section: section[0]))


def case_page_url(case_id: int, section: str = "") -> str:
    """The case page, with ``section`` (a key of ``workplace.TABS``) open and rendered in the page:
    where an action on the case page sends the coordinator back to."""
    url = reverse("admin:cases_case_change", args=[case_id])
    if not section:
        return url
    if section not in workplace.TAB_KEYS:
        raise ValueError(f"unknown case page section {section!r}; one of {sorted(workplace.TAB_KEYS)}")
    return f"{url}?open={section}#tab-{section}"


@admin.register(Case)
class CaseAdmin(VisibleAdmin, ServiceSavesAdminMixin, SimpleHistoryAdmin):
    list_display = (
        "reference",
        "patient_name",
        "age",
        "status_badge",
        "coordinator",
        "priority",
        "last_activity",
        "next_due",
    )
    list_select_related = ("patient", "coordinator")
    list_filter = (CaseloadFilter, StatusFilter, OverdueFilter, CoordinatorFilter, CountryFilter, "priority")
    search_fields = ("=reference", "patient__family_name", "patient__given_name", "patient__native_name")
    search_help_text = "Reference (exact, e.g. NAV-2026-00042) or any part of the patient's name."
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    # Rows rendered by navigator's faster result list (same markup as Django's), with
    # "Save this filter" (templates/admin/cases/case/change_list.html).
    change_list_template = "admin/cases/case/change_list.html"
    ordering = ("-id",)
    autocomplete_fields = ("patient", "coordinator")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "target_centres":  # a handful of centres: boxes to tick, readable by a screen reader
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    readonly_fields = (
        "reference",
        "status_display",
        "created_at",
        "updated_at",
        "last_activity_at",
        "next_due",
        "audit_trail",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "reference",
                    "patient",
                    "indication",
                    "status_display",
                    "coordinator",
                    "priority",
                    "inquiry_date",
                    "target_centres",
                    "summary",
                )
            },
        ),
        ("Activity", {"fields": ("last_activity_at", "next_due", "created_at", "updated_at")}),
    )  # the recent audit events are a panel of the Audit tab

    class Media:
        css = {"all": ["cases/admin.css"]}

    inlines = [ContactInline, StatusChangeInline]  # plus every app's case inlines: see case_inlines()
    actions = ["action_assign", "action_transition"]

    # --- list columns -------------------------------------------------------------
    def action_checkbox(self, obj):
        # The same markup as Django's (actions.js finds it by class), written directly: rendering
        # a CheckboxInput through the form renderer 50 times was a fifth of the page's time.
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" '
            'aria-label="Select this object for an action - {}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            obj.reference,
        )

    @admin.display(description="Patient", ordering="patient__family_name")
    def patient_name(self, obj):
        if obj.patient.native_name and obj.patient.native_name != obj.patient.full_name:
            return format_html("{}<br><small>{}</small>", obj.patient.full_name, obj.patient.native_name)
        return obj.patient.full_name

    @admin.display(description="Age")
    def age(self, obj):
        return obj.patient.age()

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return obj.status_label

    @admin.display(description="Last activity", ordering="last_activity_at")
    def last_activity(self, obj):
        # Compact, so the next-due column still fits beside the filters on a laptop screen.
        return timezone.localtime(obj.last_activity_at).strftime("%Y-%m-%d %H:%M") if obj.last_activity_at else "—"

    @admin.display(description="Next due", ordering="next_due_at")
    def next_due(self, obj):
        if not obj.next_due_at:
            return "—"
        when = timezone.localtime(obj.next_due_at).strftime("%Y-%m-%d")
        if obj.is_overdue:
            return format_html(
                '<strong class="nav-overdue">OVERDUE {}</strong><br><small>{}</small>', when, obj.next_due_title
            )
        return format_html("{}<br><small>{}</small>", when, obj.next_due_title)

    @admin.display(description="Status")
    def status_display(self, obj):
        if obj is None or obj.pk is None:
            return workflow.LABELS[workflow.INQUIRY]
        allowed = ", ".join(
            workflow.LABELS[s]
            for s in workflow.MAIN_PATH + workflow.SIDE_EXITS
            if s in workflow.TRANSITIONS[obj.status]
        )
        return format_html(
            "<strong>{}</strong><br><small>Can move to: {}. Change it from the header of this page.</small>",
            obj.status_label,
            allowed or "nothing (final)",
        )

    @admin.display(description="Recent audit events")
    def audit_trail(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        events = AuditEvent.objects.for_case(obj.pk).order_by("-at", "-id")[:25]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M"),
                    e.actor_label,
                    e.actor_role,
                    e.action,
                    e.object_type,
                    e.client_ip or "",
                )
                for e in events
            ),
        )
        link = reverse("admin:audit_auditevent_changelist") + f"?case_id={obj.pk}"
        return format_html(
            '<table class="workplace-table"><caption>Recent audit events</caption><thead><tr><th scope="col">When</th>'
            '<th scope="col">Who</th><th scope="col">Role</th><th scope="col">Action</th><th scope="col">Object</th>'
            '<th scope="col">Address</th></tr></thead><tbody>{}</tbody></table><p><a href="{}">Full trail</a></p>',
            rows,
            link,
        )

    # --- data -----------------------------------------------------------------------
    def get_queryset(self, request):
        return Case.objects.visible_to(request.user).select_related("patient", "coordinator")

    def get_search_results(self, request, queryset, search_term):
        # The same search as the API's ?q= (search_fields above only shows the search box).
        return case_search(queryset=queryset, text=search_term), False

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        return obj

    def get_inlines(self, request, obj):
        """Only the inlines of the sections this answer renders (``sections_shown``): the others are
        neither read nor, on a save, expected in the form."""
        if obj is None:
            return []
        shown = self.sections_shown(request)
        return [inline for inline in (*self.inlines, *case_inlines()) if inline.workplace_tab in shown]

    # --- the case page as a workplace ---------------------------------------------------
    change_form_template = "admin/cases/case/change_form.html"

    def get_urls(self):
        return [
            path(
                "<int:case_id>/transition/",
                self.admin_site.admin_view(require_POST(self.transition_view)),
                name="cases_case_transition",
            ),
            path(
                "<int:case_id>/section/<slug:section>/",
                self.admin_site.admin_view(require_safe(self.audited_admin_view(self.section_view, page="section"))),
                name="cases_case_section",
            ),
            *super().get_urls(),
        ]

    def transition_view(self, request, case_id: int):
        """The header's status control: move the case to one of the allowed statuses, with a reason."""
        case = get_object_or_404(self.get_queryset(request), pk=case_id)
        if request.method != "POST" or not self.has_change_permission(request, case):
            raise PermissionDenied
        form = TransitionForm(request.POST, statuses=[case.status])
        if not form.is_valid():
            for errors in form.errors.values():
                messages.error(request, " ".join(errors))
        else:
            try:
                services.case_transition(case=case, actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request, f"{case.reference} moved to “{workflow.LABELS[form.cleaned_data['to_status']]}”."
                )
        return redirect("admin:cases_case_change", case.pk)

    # The page renders its header and the headings of its sections; a section's body (panels, inlines,
    # the timeline) is rendered only when asked for: by its own URL (section_view, fetched by
    # cases/case_sections.js when the section opens) or in the page with ?open=<section> (the link
    # a closed section holds without script, and where actions send the coordinator back to).

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The case page goes without the navigation sidebar: its sections want the width, and the
        # breadcrumbs and the desk's links (Today lists every app) lead everywhere else.
        request.nav_sidebar = False
        return super().change_view(request, object_id, form_url, extra_context)

    def sections_shown(self, request) -> frozenset[str]:
        """The sections whose bodies this answer renders: on a GET those named by ``?open=``
        (repeated or comma-separated); on a save those whose forms came with it (each rendered
        section holds ``<input name="_section">``), so a section never opened is not expected in
        the form. The section view names its own."""
        shown = getattr(request, "case_sections", None)
        if shown is None:
            if request.method == "POST":
                names = request.POST.getlist("_section")
            else:
                names = [name for value in request.GET.getlist("open") for name in value.split(",")]
            shown = frozenset(names) & workplace.TAB_KEYS
            request.case_sections = shown
        return shown

    def workplace(self, request, case) -> dict:
        """The header of the case page: who, where the case stands, what is due, what can be done."""
        local, zone = family_local_time(case)
        return {
            "case": case,
            "age": case.patient.age(),
            "country": case.patient.country.name if case.patient.country else "",
            "language": dict(settings.LANGUAGES).get(case.patient.preferred_language, case.patient.preferred_language),
            "family_time": local.strftime("%a %H:%M"),
            "family_zone": zone,
            "moves": allowed_moves(case.status),
            "actions": [
                {"key": a.key, "label": a.label, "url": reverse(f"admin:{a.url_name}", args=[case.pk])}
                for a in workplace.actions()
            ],
        }

    def section(self, request, case, key: str, inline_admin_formsets) -> dict:
        """The body of one section: the apps' panels, its inlines, and for the overview the timeline
        (30 entries, all with ``?timeline=all``) and the time zones its contacts are typed from."""
        title = dict(workplace.TABS)[key]
        body: dict = {"key": key, "title": title, "inlines": list(inline_admin_formsets)}
        body["panels"] = [panel.render(request, case) for panel in workplace.panels() if panel.tab == key]
        if key == "audit":
            body["panels"].insert(0, self.audit_trail(case))
        if key == "overview":
            limit = None if request.GET.get("timeline") == "all" else 30
            body["timeline"] = case_timeline(case, limit=limit or 100_000)
            body["timeline_limited"] = limit is not None and len(body["timeline"]) >= limit
            body["time_zones"] = [name for name, _label in time_zone_choices()]
        return body

    def section_view(self, request, case_id: int, section: str):
        """One section's body, for the case page to put in place when it is opened (a fragment of
        the page's form: its inlines are saved with the case). Recorded as a read of the case
        naming the section (``audited_admin_view``), and the rows of inlines marked
        ``audit_rows`` one by one, as on the page."""
        if section not in workplace.TAB_KEYS:
            raise Http404(f"No section {section!r}")
        case = self.get_object(request, str(case_id))
        if case is None:
            raise Http404("No such case")
        if not self.has_view_or_change_permission(request, case):
            raise PermissionDenied
        request.case_sections = frozenset({section})
        # The same formsets, with the same prefixes, as the page builds for this section.
        formsets, inline_instances = self._create_formsets(request, case, change=True)
        inline_admin_formsets = self.get_inline_formsets(request, formsets, inline_instances, case)
        response = TemplateResponse(
            request,
            "admin/cases/case/_section.html",
            {
                "case": case,
                "section": self.section(request, case, section, inline_admin_formsets),
                "inline_admin_formsets": inline_admin_formsets,
            },
        )
        self._audit_inline_rows(request, response)
        response.audit_detail = {"section": section}
        return response

    def response_change(self, request, obj):
        # "Save and continue editing" comes back with the sections that were open still open.
        response = super().response_change(request, obj)
        shown = [key for key, _title in workplace.TABS if key in self.sections_shown(request)]
        if "_continue" in request.POST and shown and response.status_code == 302:
            url = response["Location"]
            response["Location"] = f"{url}{'&' if '?' in url else '?'}open={','.join(shown)}"
        return response

    def sections_media(self) -> forms.Media:
        """A section opened later brings inlines (and their "add another" rows) into the page, so the
        page carries what inlines need from the start, and the script that loads the sections
        (cases/tests/test_case_sections.py checks that each section's own media is in the page's)."""
        extra = "" if settings.DEBUG else ".min"
        inlines = [f"admin/js/vendor/jquery/jquery{extra}.js", "admin/js/jquery.init.js", "admin/js/inlines.js"]
        return forms.Media(js=[*inlines, "cases/case_sections.js"])

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            place = self.workplace(request, obj)
            shown = self.sections_shown(request)
            inline_tabs: dict[str, list] = {key: [] for key, _title in workplace.TABS}
            for formset in context.get("inline_admin_formsets", []):
                inline_tabs[getattr(formset.opts, "workplace_tab", "overview")].append(formset)
            place["tabs"] = [
                {
                    "key": key,
                    "title": title,
                    "url": reverse("admin:cases_case_section", args=[obj.pk, key]),
                    "body": self.section(request, obj, key, inline_tabs[key]) if key in shown else None,
                }
                for key, title in workplace.TABS
            ]
            context["workplace"] = place
            context["media"] = context["media"] + self.sections_media()
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_inline_formsets(self, request, formsets, inline_instances, obj=None):
        # A row that names its case (a journey: "Outbound (NAV-...)") finds it without a query, and
        # the selects of an inline's rows (a visa's traveller, an admission's centre) list their
        # choices from one query for all the rows, not one query a row.
        for formset in formsets:
            shared: dict[str, list] = {}
            for form in formset.forms:
                if form.instance.pk is not None:
                    setattr(form.instance, formset.fk.name, formset.instance)
                for name, field in form.fields.items():
                    if isinstance(field, forms.ModelChoiceField) and not field.widget.is_hidden:
                        if name not in shared:
                            shared[name] = list(field.choices)
                        field.choices = shared[name]
        return super().get_inline_formsets(request, formsets, inline_instances, obj)

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, ContactInline):
            kwargs["instance"] = obj.patient
        return kwargs

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("coordinator", request.user.pk if is_coordinator(request.user) else None)
        initial.setdefault("indication", Indication.objects.filter(code=services.DEFAULT_INDICATION).first())
        return initial

    def save_model(self, request, obj, form, change):
        if change:
            if "coordinator" in form.changed_data and not is_supervisor(request.user):
                original = Case.objects.get(pk=obj.pk)
                if original.coordinator_id and original.coordinator_id != obj.coordinator_id:
                    obj.coordinator = original.coordinator
                    messages.error(
                        request, "Only a supervising coordinator can reassign a case; the coordinator was not changed."
                    )
            super().save_model(request, obj, form, change)
            return
        case = services.case_create(
            patient=form.cleaned_data["patient"],
            actor=request.user,
            indication=form.cleaned_data.get("indication"),
            coordinator=form.cleaned_data.get("coordinator"),
            priority=form.cleaned_data.get("priority"),
            inquiry_date=form.cleaned_data.get("inquiry_date"),
            summary=form.cleaned_data.get("summary", ""),
        )
        obj.pk = case.pk
        obj.reference = case.reference
        obj._state.adding = False
        obj._state.db = case._state.db

    def save_service(self, *, request, obj, data, change):
        # Only changes reach here (a new case goes through case_create above). Unlike the API,
        # the admin form also corrects the patient and, for supervisors, the coordinator (see
        # save_model): those values are already on ``obj`` and are saved with it.
        editable = {name: value for name, value in data.items() if name in services.CASE_EDITABLE}
        return services.case_update(case=obj, actor=request.user, data=editable)

    # --- actions ----------------------------------------------------------------------
    @admin.action(description="Assign to a coordinator")
    @audited_admin_action("list")  # the form page lists the selected cases
    def action_assign(self, request, queryset):
        if "apply" in request.POST:
            form = AssignForm(request.POST)
            if form.is_valid():
                done = 0
                for case in queryset:
                    try:
                        services.case_assign(case=case, actor=request.user, **form.cleaned_data)
                        done += 1
                    except DomainError as exc:
                        messages.error(request, f"{case.reference}: {exc.message}")
                if done:
                    messages.success(request, f"Assigned {done} case(s) to {form.cleaned_data['coordinator']}.")
                return None
        else:
            form = AssignForm()
        return self._intermediate(request, queryset, form, "Assign to a coordinator", "action_assign")

    @admin.action(description="Change status (with a reason)")
    @audited_admin_action("list")  # the form page lists the selected cases
    def action_transition(self, request, queryset):
        statuses = list(queryset.order_by().values_list("status", flat=True).distinct())
        if "apply" in request.POST:
            form = TransitionForm(request.POST, statuses=statuses)
            if form.is_valid():
                done = 0
                for case in queryset:
                    try:
                        services.case_transition(case=case, actor=request.user, **form.cleaned_data)
                        done += 1
                    except DomainError as exc:
                        messages.error(request, f"{case.reference}: {exc.message}")
                if done:
                    label = workflow.LABELS[form.cleaned_data["to_status"]]
                    messages.success(request, f"Moved {done} case(s) to “{label}”.")
                return None
        else:
            form = TransitionForm(statuses=statuses)
        return self._intermediate(request, queryset, form, "Change status", "action_transition")

    def _intermediate(self, request, queryset, form, title, action):
        return TemplateResponse(
            request,
            "admin/cases/case/action_form.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "opts": self.model._meta,
                "cases": queryset.select_related("patient"),
                "form": form,
                "action": action,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(Patient)
class PatientAdmin(LanguageAndZoneChoices, VisibleAdmin, ServiceSavesAdminMixin, SimpleHistoryAdmin):
    list_display = ("full_name", "native_name", "date_of_birth", "sex", "country", "preferred_language")
    search_fields = ("family_name", "given_name", "native_name")
    list_filter = ("sex", "country")
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    class ContactInlineOnPatient(LanguageAndZoneChoices, VisibleAdmin, admin.TabularInline):
        model = FamilyContact
        extra = 0
        raw_id_fields = ("user",)

    inlines = [ContactInlineOnPatient]

    def get_queryset(self, request):
        return Patient.objects.visible_to(request.user)

    def save_service(self, *, request, obj, data, change):
        if change:
            return services.patient_update(patient=obj, actor=request.user, data=data)
        return services.patient_create(actor=request.user, data=data)


@admin.register(FamilyContact)
class FamilyContactAdmin(LanguageAndZoneChoices, VisibleAdmin, ServiceSavesAdminMixin, SimpleHistoryAdmin):
    list_display = ("name", "relationship", "patient", "language", "email", "phone", "is_primary")
    list_select_related = ("patient",)
    search_fields = ("name", "native_name", "email", "patient__family_name")
    autocomplete_fields = ("patient",)
    raw_id_fields = ("user",)

    def get_queryset(self, request):
        return FamilyContact.objects.visible_to(request.user).select_related("patient")

    def save_service(self, *, request, obj, data, change):
        if change:
            return services.contact_update(contact=obj, actor=request.user, data=data)
        return services.contact_create(actor=request.user, data=data)

    def delete_service(self, *, request, obj):
        services.contact_delete(contact=obj, actor=request.user)


@admin.register(Indication)
class IndicationAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "is_active")
