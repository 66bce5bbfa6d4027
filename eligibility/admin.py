"""The coordinator's workplace for eligibility: the clinical profile with its facts, the
history of assessments with what changed between them, centre criteria, family summaries.

``AssessmentInline`` is a read-only inline for the case admin (``CaseAdmin.inlines``).
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin

from accounts.roles import is_coordinator
from cases.admin import case_page_url, case_section
from cases.models import Case
from cases.workplace import case_action, case_panel
from navigator import queue
from navigator.admin import VisibleAdmin
from navigator.errors import DomainError

from . import services
from .models import (
    FACT_FIELDS,
    FACT_MODELS,
    PROFILE_FIELDS,
    PROFILE_SOURCE_FIELDS,
    Assessment,
    CentreCriteria,
    ClinicalProfile,
    CriterionOverride,
    FamilySummary,
)
from .selectors import first_per, latest_assessments
from .summary import STAFF_NOTICE


def _outcome_badge(outcome: str) -> str:
    # Colours come from the admin stylesheet (cases/static/cases/admin.css): the CSP refuses inline styles.
    return format_html('<strong class="nav-outcome-{}">{}</strong>', outcome, outcome.replace("_", " "))


def _facts_text(criterion: dict) -> str:
    """The deciding facts: kind, date and the document that proves each."""
    parts = []
    for f in criterion.get("facts") or []:
        doc = f" (document {f['source_document']})" if f.get("source_document") else ""
        parts.append(f"{f['kind'].replace('_', ' ')} {f.get('date') or ''}{doc}".strip())
    return "; ".join(parts)


def criteria_table(assessment: Assessment):
    from .wording import KIND_LABELS, blocker_kind, coordinator_text

    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                c["criterion"],
                _outcome_badge(c["outcome"]),
                c["explanation"],
                format_html(
                    "{}{}",
                    f"{KIND_LABELS[blocker_kind(c)]}: " if blocker_kind(c) else "",
                    coordinator_text(c),
                ),
                _facts_text(c),
                format_html(
                    "overridden from {} by {}: {}", c["override"]["from"], c["override"]["by"], c["override"]["reason"]
                )
                if c.get("override")
                else "",
            )
            for c in assessment.criteria
        ),
    )
    return format_html(
        "<table><tr><th>Criterion</th><th>Outcome</th><th>Explanation</th><th>What it means</th>"
        "<th>Decided by</th><th>Override</th></tr>{}</table>",
        rows,
    )


# --- Profile with its facts ---------------------------------------------------------------------


class FactFormSet(BaseInlineFormSet):
    """Inline rows of one kind of fact. The last formset checks the whole profile (all inlines
    together) against ``rules.validate`` and puts each problem on the row and field at fault."""

    kind = ""
    cross_check = None

    def clean(self):
        super().clean()
        if self.cross_check is not None:
            self.cross_check()


def fact_inline(kind: str):
    model = FACT_MODELS[kind]

    class Inline(VisibleAdmin, admin.TabularInline):
        extra = 0
        fields = (*FACT_FIELDS[kind], "source_document")
        raw_id_fields = ("source_document",)
        formset = type(f"{model.__name__}FormSet", (FactFormSet,), {"kind": kind})

    Inline.model = model
    Inline.__name__ = f"{model.__name__}Inline"
    return Inline


class ClinicalProfileForm(forms.ModelForm):
    class Meta:
        model = ClinicalProfile
        fields = ("case", *PROFILE_FIELDS, *PROFILE_SOURCE_FIELDS)

    def clean_reported_prior_lines(self):
        value = self.cleaned_data.get("reported_prior_lines")
        if value is not None and value < 0:
            raise forms.ValidationError("The number of prior lines cannot be negative.")
        return value


@admin.register(ClinicalProfile)
class ClinicalProfileAdmin(VisibleAdmin, SimpleHistoryAdmin):
    form = ClinicalProfileForm
    list_display = ("case", "diagnosis_lineage", "philadelphia_status", "latest_verdict", "updated_at")
    list_select_related = ("case",)
    search_fields = ("case__reference", "case__patient__family_name")
    raw_id_fields = ("case", "diagnosis_source", "primary_refractory_source", "philadelphia_source")
    inlines = [fact_inline(kind) for kind in FACT_MODELS]
    fieldsets = (
        (None, {"fields": ("case",)}),
        ("Diagnosis", {"fields": ("diagnosis_lineage", "diagnosis_method", "diagnosis_date", "diagnosis_source")}),
        (
            "Disease status and transplant",
            {
                "fields": (
                    "primary_refractory",
                    "primary_refractory_source",
                    "first_remission_date",
                    "reported_prior_lines",
                    "prior_transplant",
                )
            },
        ),
        ("Infection", {"fields": ("infections_reviewed_on",)}),
        (
            "Philadelphia chromosome",
            {
                "fields": (
                    "philadelphia_status",
                    "philadelphia_method",
                    "philadelphia_date",
                    "current_tki",
                    "philadelphia_source",
                )
            },
        ),
        ("Pre-screen", {"fields": ("latest_assessments",)}),
    )
    readonly_fields = ("latest_assessments",)

    @admin.display(description="Latest verdict (base rules)")
    def latest_verdict(self, obj):
        # One query per page row would grow with the page: read from the annotated list instead.
        return getattr(obj, "_latest_verdict", "")

    def get_changelist_instance(self, request):
        cl = super().get_changelist_instance(request)
        ids = [p.case_id for p in cl.result_list]
        verdicts = {
            a.case_id: a.get_verdict_display()
            for a in first_per(
                Assessment.objects.filter(case_id__in=ids, centre__isnull=True).order_by(
                    "case_id", "-created_at", "-id"
                ),
                "case_id",
            )
        }
        for p in cl.result_list:
            p._latest_verdict = verdicts.get(p.case_id, "")
        return cl

    @admin.display(description="Latest assessments")
    def latest_assessments(self, obj):
        from .selectors import latest_assessments

        if not obj.pk:
            return "-"
        parts = []
        for a in latest_assessments(obj.case):
            url = reverse("admin:eligibility_assessment_change", args=[a.pk])
            parts.append(
                format_html(
                    '<p><a href="{}">{}</a>: <strong>{}</strong></p>{}',
                    url,
                    a.centre.name_en if a.centre_id else "Base rules",
                    a.get_verdict_display(),
                    criteria_table(a),
                )
            )
        parts.append(format_html("<p><em>{}</em></p>", STAFF_NOTICE))
        return format_html_join("", "{}", ((p,) for p in parts))

    def _create_formsets(self, request, obj, change):
        formsets, inline_instances = super()._create_formsets(request, obj, change)
        if request.method == "POST" and formsets:
            formsets[-1].cross_check = lambda: self._check_whole_profile(obj, formsets)
        return formsets, inline_instances

    def _check_whole_profile(self, obj, formsets):
        """Validate the profile as it would be after this save; put each problem on its field."""
        from django.utils import timezone

        from . import rules

        snapshot = {
            "assessed_on": timezone.localdate().isoformat(),
            "date_of_birth": obj.case.patient.date_of_birth.isoformat() if obj.case_id else None,
            **{f: services._iso(getattr(obj, f)) for f in PROFILE_FIELDS},
        }
        places = {}
        for fs in formsets:
            rows = []
            for form in fs.forms:
                data = getattr(form, "cleaned_data", None)
                if not data or data.get("DELETE") or not form.has_changed() and form.instance.pk is None:
                    continue
                if any(
                    data.get(f) is None and f not in ("end", "on_immunosuppression", "active_gvhd")
                    for f in FACT_FIELDS[fs.kind]
                    if f not in ("site", "best_response", "cd19_directed", "method")
                ):
                    continue  # incomplete rows already carry their own field errors
                places[f"{fs.kind}[{len(rows)}]"] = form
                rows.append({f: services._iso(data.get(f)) for f in FACT_FIELDS[fs.kind]})
            snapshot[fs.kind] = rows
        try:
            rules.validate(services.snapshot_to_rules(snapshot))
        except rules.ProfileInvalid as exc:
            from django.core.exceptions import ValidationError

            for p in exc.problems:
                head, _, field = p.field.partition(".")
                form = places.get(head)
                if form is not None and field in form.fields:
                    form.add_error(field, p.message)
                else:
                    formsets[-1]._non_form_errors = formsets[-1].error_class(
                        [p.message], renderer=formsets[-1].renderer
                    )
            raise ValidationError("The profile contradicts itself; see the fields marked.")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services._rerun_on_commit(form.instance.case, request.user)


# --- Assessments --------------------------------------------------------------------------------------


class OverrideInline(VisibleAdmin, admin.TabularInline):
    model = CriterionOverride
    fk_name = "assessment"
    extra = 0
    can_delete = False
    fields = ("criterion", "base_outcome", "outcome", "reason", "created_by", "created_at", "lapsed_at", "revoked_at")
    readonly_fields = fields
    verbose_name_plural = "Overrides made on this assessment"

    def has_add_permission(self, request, obj=None):
        return False


class OverrideForm(forms.Form):
    criterion = forms.ChoiceField(choices=[(c, c) for c in services.rules.CRITERIA])
    outcome = forms.ChoiceField(choices=[(o, o) for o in services.rules.OUTCOMES])
    reason = forms.CharField(widget=forms.Textarea, min_length=10)


@admin.register(Assessment)
class AssessmentAdmin(VisibleAdmin, admin.ModelAdmin):
    list_display = (
        "case",
        "centre_label",
        "verdict",
        "overridden",
        "ruleset_version",
        "trigger",
        "run_by_label",
        "created_at",
    )
    list_filter = ("verdict", "overridden", "trigger", "centre")
    list_select_related = ("case", "centre")
    search_fields = ("case__reference",)
    date_hierarchy = "created_at"
    inlines = [OverrideInline]
    fields = (
        "case",
        "centre",
        "verdict",
        "criteria_display",
        "notes_display",
        "changes_since_previous",
        "history_display",
        "ruleset_version",
        "variation",
        "assessed_on",
        "trigger",
        "run_by_label",
        "created_at",
        "profile_snapshot",
    )
    readonly_fields = fields
    change_form_template = "admin/eligibility/assessment/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Read-only: the change view is the detail page (and the override form below it).
        return request.method in ("GET", "HEAD") and super().has_view_permission(request, obj)

    @admin.display(description="Centre")
    def centre_label(self, obj):
        return obj.centre.name_en if obj.centre_id else "Base rules"

    @admin.display(description="Criteria")
    def criteria_display(self, obj):
        return criteria_table(obj)

    @admin.display(description="Notes")
    def notes_display(self, obj):
        return format_html_join("", "<p>{}</p>", ((n["text"],) for n in obj.notes)) or "-"

    def _previous(self, obj):
        return (
            Assessment.objects.filter(case_id=obj.case_id, centre_id=obj.centre_id, created_at__lte=obj.created_at)
            .exclude(pk=obj.pk)
            .filter(id__lt=obj.pk)
            .order_by("-created_at", "-id")
            .first()
        )

    @admin.display(description="What changed since the previous assessment")
    def changes_since_previous(self, obj):
        previous = self._previous(obj)
        if previous is None:
            return "First assessment against these rules."
        diff = services.assessment_diff(previous, obj)
        crit = format_html_join(
            "", "<li>{}: {} → {}</li>", ((c["criterion"], c["from"], c["to"]) for c in diff["criteria"])
        )
        prof = format_html_join(
            "", "<li><code>{}</code>: {} → {}</li>", ((p["field"], p["from"], p["to"]) for p in diff["profile"])
        )
        url = reverse("admin:eligibility_assessment_change", args=[previous.pk])
        return format_html(
            '<p>Compared with <a href="{}">{}</a></p><p>Criteria</p><ul>{}</ul><p>Profile</p><ul>{}</ul>',
            url,
            previous.created_at.strftime("%Y-%m-%d %H:%M"),
            crit or format_html("<li>{}</li>", "no change"),
            prof or format_html("<li>{}</li>", "no change"),
        )

    @admin.display(description="History against these rules")
    def history_display(self, obj):
        rows = Assessment.objects.filter(case_id=obj.case_id, centre_id=obj.centre_id).order_by("-created_at", "-id")[
            :50
        ]
        return format_html_join(
            "",
            '<li><a href="{}">{}</a> {} ({}, {})</li>',
            (
                (
                    reverse("admin:eligibility_assessment_change", args=[a.pk]),
                    a.created_at.strftime("%Y-%m-%d %H:%M"),
                    a.get_verdict_display(),
                    a.get_trigger_display(),
                    a.run_by_label,
                )
                for a in rows
            ),
        )

    def get_urls(self):
        return [
            path(
                "run/<int:case_id>/",
                self.admin_site.admin_view(require_POST(self.run_view)),
                name="eligibility_assessment_run",
            ),
            *super().get_urls(),
        ]

    def run_view(self, request, case_id: int):
        """Run the pre-screen from the case page (POST); back to the case's eligibility section."""
        case = get_object_or_404(Case.objects.visible_to(request.user), pk=case_id)
        if request.method != "POST" or not is_coordinator(request.user):
            raise PermissionDenied
        back = case_page_url(case.pk, "eligibility")
        try:
            assessments = services.assessment_run(case=case, actor=request.user, trigger=Assessment.Trigger.MANUAL)
        except ValidationError as exc:
            messages.error(request, "The pre-screen was not run: " + " ".join(exc.messages))
            return HttpResponseRedirect(back)
        base = next((a for a in assessments if a.centre_id is None), None)
        verdict = base.get_verdict_display() if base else "no base assessment"
        messages.success(request, f"Pre-screen run for {case.reference}: {verdict}. {STAFF_NOTICE}")
        return HttpResponseRedirect(back)

    def _summary_post(self, request, obj) -> HttpResponseRedirect | None:
        """Publish or withdraw the family's summary of this assessment (through the services)."""
        here = reverse("admin:eligibility_assessment_change", args=[obj.pk])
        if "_publish_summary" in request.POST:
            language = request.POST.get("summary_language", "")
            try:
                summary = services.family_summary_publish(assessment=obj, language=language, actor=request.user)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request, f"The summary in {summary.get_language_display()} is published on the family's portal."
                )
            return HttpResponseRedirect(here)
        if "_withdraw_summary" in request.POST:
            summary_id = request.GET.get("summary", "")
            summary = FamilySummary.objects.filter(
                case_id=obj.case_id, pk=int(summary_id) if summary_id.isdigit() else 0
            ).first()
            if summary is None or not services.family_summary_withdraw(summary=summary, actor=request.user):
                messages.error(request, "That summary is not published.")
            else:
                messages.success(request, "The summary was withdrawn from the family's portal.")
            return HttpResponseRedirect(here)
        return None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        obj = self.get_object(request, object_id)
        if request.method == "POST" and obj is not None and is_coordinator(request.user):
            done = self._summary_post(request, obj)
            if done is not None:
                return done
        if obj is not None and obj.centre_id is None:
            extra_context["summaries"] = list(
                FamilySummary.objects.published().filter(case_id=obj.case_id).select_related("assessment")
            )
            extra_context["summary_languages"] = settings.LANGUAGES
        form = OverrideForm(request.POST or None, prefix="override")
        if request.method == "POST" and obj is not None and is_coordinator(request.user):
            if form.is_valid():
                try:
                    with transaction.atomic():
                        new = services.assessment_override(assessment=obj, actor=request.user, **form.cleaned_data)
                except (DomainError, ValidationError) as exc:
                    form.add_error(
                        getattr(exc, "field", None) if getattr(exc, "field", None) in form.fields else None,
                        str(getattr(exc, "message", exc)),
                    )
                else:
                    messages.success(request, "Override recorded; the verdict was recomputed in a new assessment.")
                    return HttpResponseRedirect(reverse("admin:eligibility_assessment_change", args=[new.pk]))
            request.method = "GET"  # render the read-only detail with the form's errors
        extra_context["override_form"] = form
        return super().change_view(request, object_id, form_url, extra_context)


@case_section(40)
class AssessmentInline(VisibleAdmin, admin.TabularInline):
    """Read-only pre-screen history for the case admin (add it to ``CaseAdmin.inlines``)."""

    model = Assessment
    fk_name = "case"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("centre", "verdict", "overridden", "ruleset_version", "trigger", "run_by_label", "created_at")
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    verbose_name_plural = f"Eligibility pre-screen. {STAFF_NOTICE}"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("centre")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- Centre criteria and summaries ----------------------------------------------------------------------


@admin.register(CentreCriteria)
class CentreCriteriaAdmin(VisibleAdmin, SimpleHistoryAdmin):
    list_display = (
        "hospital",
        "min_age_months",
        "max_age_years",
        "cns2_policy",
        "cns3_policy",
        "min_prior_lines",
        "updated_at",
    )
    list_select_related = ("hospital",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        queue.enqueue("eligibility.tasks.centre_assessments_rerun", obj.hospital_id)  # tasks.py


@admin.register(FamilySummary)
class FamilySummaryAdmin(VisibleAdmin, admin.ModelAdmin):
    list_display = ("case", "language", "published_by", "published_at", "withdrawn_at")
    list_filter = ("language",)
    list_select_related = ("case", "published_by")
    readonly_fields = ("case", "assessment", "language", "text", "published_by", "published_at", "withdrawn_at")

    def has_add_permission(self, request):
        return False


@case_panel("eligibility", order=10)
def prescreen_panel(request, case) -> str:
    """The latest pre-screen verdicts, the family summary's state, and the run button (its form is in
    the case page's header, named by ``form=``)."""
    return render_to_string(
        "admin/eligibility/_prescreen_panel.html",
        {
            "case": case,
            "assessments": latest_assessments(case),
            "summaries": list(FamilySummary.objects.published().filter(case=case)),
            "notice": STAFF_NOTICE,
        },
        request=request,
    )


case_action("prescreen", "Run the pre-screen", "eligibility_assessment_run", order=10)
