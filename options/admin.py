"""The options register in the coordinator's admin: entries, their registry versions, and the
shortlists of cases."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from cases.workplace import case_panel
from navigator.admin import ReadOnlyAdmin, VisibleAdmin
from navigator.errors import DomainError

from .matching import OptionFacts, screen
from .models import CaseOptions, Option, OptionVersion, ShortlistEntry
from .selectors import offer_filter, offer_reasons, options_screened, patient_facts, with_offer_flags
from .services import screening_request_send, shortlist_add, shortlist_remove, shortlist_share


class OptionVersionInline(VisibleAdmin, admin.TabularInline):
    model = OptionVersion
    extra = 0
    can_delete = False
    fields = ("number", "last_update", "imported_at", "imported_by_label", "source_url", "digest")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Option)
class OptionAdmin(VisibleAdmin, admin.ModelAdmin):
    """Treatments and trials a coordinator can propose. ClinicalTrials.gov entries come from
    ``manage.py import_ctgov``; entries of other registries (ChiCTR) and approved treatments
    are entered here by hand."""

    list_display = (
        "short_name",
        "kind",
        "antigens",
        "status",
        "age_bounds",
        "country_list",
        "registry_id",
        "trial_team",
    )
    list_filter = ("status", "kind", "setting", "registry", "is_trial")
    search_fields = ("short_name", "title", "registry_id")
    autocomplete_fields = ("trial_team",)
    inlines = [OptionVersionInline]
    fieldsets = (
        (None, {"fields": ("short_name", "title", "kind", "is_trial", "status", "summary_en")}),
        (
            "Who it is for",
            {
                "fields": (
                    "b_all",
                    "setting",
                    "target_antigens",
                    "min_age_months",
                    "max_age_months",
                    "prior_cd19_car_t",
                    "cns",
                )
            },
        ),
        ("Where and whom to ask", {"fields": ("countries", "locations", "contacts", "trial_team")}),
        (
            "Source",
            {"fields": ("registry", "registry_id", "source", "source_url", "interventions", "eligibility_criteria")},
        ),
    )

    @admin.display(description="antigens")
    def antigens(self, obj):
        return " / ".join(obj.target_antigens) or "-"

    @admin.display(description="ages")
    def age_bounds(self, obj):
        def years(months):
            return f"{months // 12} y" if months % 12 == 0 else f"{months} mo"

        low = years(obj.min_age_months) if obj.min_age_months is not None else "any"
        high = years(obj.max_age_months) if obj.max_age_months is not None else "no limit"
        return f"{low} - {high}"

    @admin.display(description="countries")
    def country_list(self, obj):
        return ", ".join(obj.countries) or "-"


# --- a case's options: why they are offered, the register screened, the shortlist ----------------


class OfferFilter(admin.SimpleListFilter):
    title = "why offer options"
    parameter_name = "offer"

    def lookups(self, request, model_admin):
        return [
            ("any", "Any reason"),
            ("prescreen", "Pre-screen: not eligible or needs review"),
            ("declined", "A centre declined"),
            ("relapse", "Relapse after CAR-T"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "any":
            return queryset.filter(offer_filter())
        if value in ("prescreen", "declined", "relapse"):
            return queryset.filter(**{f"offer_{value}": True})
        return queryset


@admin.register(CaseOptions)
class CaseOptionsAdmin(VisibleAdmin, admin.ModelAdmin):
    """Cases to look at options for, and each case's options page: the register screened against
    the case (a shortlist aid: the treating team decides), the free-text criteria beside each
    result, the shortlist with the coordinator's reasons, screening requests to trial teams."""

    list_display = ("reference", "patient", "status", "why", "shortlisted")
    list_filter = (OfferFilter, "status")
    search_fields = ("reference",)
    list_select_related = ("patient",)
    show_full_result_count = False

    def get_queryset(self, request):
        current = ShortlistEntry.objects.filter(case=OuterRef("pk"), removed_at=None)
        return with_offer_flags(super().get_queryset(request)).annotate(
            shortlisted_count=Coalesce(
                Subquery(current.values("case").annotate(n=Count("pk")).values("n")[:1]), Value(0)
            )
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="why offer options")
    def why(self, obj):
        flags = [
            ("pre-screen", obj.offer_prescreen),
            ("declined", obj.offer_declined),
            ("relapse after CAR-T", obj.offer_relapse),
        ]
        return ", ".join(label for label, on in flags if on) or "-"

    @admin.display(description="shortlisted", ordering="shortlisted_count")
    def shortlisted(self, obj):
        return obj.shortlisted_count

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        case = self.get_object(request, unquote(object_id)) if object_id else None
        if case is None:
            raise Http404("No such case.")
        countries = _countries_param(request.GET.get("countries", ""))
        if request.method == "POST":
            try:
                message = _shortlist_post(request, case)
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, message)
            return redirect(request.get_full_path())
        facts = patient_facts(case, countries=countries)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Options for {case}",
            "opts": self.model._meta,
            "original": case,
            "case": case,
            "facts": facts,
            "countries": ", ".join(sorted(facts.countries or ())),
            "reasons": offer_reasons(case),
            "rows": options_screened(case, facts),
            "shortlist": ShortlistEntry.objects.filter(case=case)
            .select_related("option__trial_team", "screening_referral")
            .order_by("removed_at", "-created_at"),
        }
        return TemplateResponse(request, "admin/options/caseoptions/options.html", context)


def _countries_param(value: str) -> frozenset[str] | None:
    codes = frozenset(code.strip().upper() for code in value.split(",") if code.strip())
    return codes or None


def _shortlist_post(request, case) -> str:
    action = request.POST.get("action", "")
    if action == "shortlist":
        option = Option.objects.filter(pk=request.POST.get("option") or 0).first()
        if option is None:
            raise DomainError("Choose an option of the register.", field="option")
        facts = patient_facts(case, countries=_countries_param(request.POST.get("countries", "")))
        result = screen(OptionFacts.of(option), facts)
        shortlist_add(
            case=case, option=option, actor=request.user, reason=request.POST.get("reason", ""), screen=result.as_dict()
        )
        return f"{option} shortlisted."
    entry = ShortlistEntry.objects.filter(case=case, pk=request.POST.get("entry") or 0).first()
    if entry is None:
        raise DomainError("That shortlist entry is not on this case.", field="entry")
    if action == "remove":
        shortlist_remove(entry=entry, actor=request.user, reason=request.POST.get("reason", ""))
        return f"{entry.option} taken off the shortlist."
    if action in ("share", "unshare"):
        shortlist_share(entry=entry, actor=request.user, shared=action == "share")
        return f"{entry.option} {'shown to' if action == 'share' else 'hidden from'} the family."
    if action == "screening":
        referral = screening_request_send(entry=entry, actor=request.user, cover_note=request.POST.get("note", ""))
        return f"Screening request sent to {referral.hospital} (referral {referral.pk})."
    raise DomainError("Unknown action.", field="action")


@admin.register(ShortlistEntry)
class ShortlistEntryAdmin(ReadOnlyAdmin, VisibleAdmin, admin.ModelAdmin):
    """Every shortlisted option, across cases (changes are made on the case's options page)."""

    list_display = (
        "case",
        "option",
        "created_at",
        "created_by_label",
        "shared_with_family",
        "removed_at",
        "screening_referral",
    )
    list_filter = ("shared_with_family", ("removed_at", admin.EmptyFieldListFilter), "option__kind")
    search_fields = ("case__reference", "option__short_name", "option__registry_id")
    list_select_related = ("case", "option", "screening_referral")
    readonly_fields = [f.name for f in ShortlistEntry._meta.fields]


@case_panel("eligibility", order=30)
def options_panel(request, case) -> str:
    """On the case page: why other treatments and trials should be looked at (if they should),
    how many are shortlisted, and the way to the case's options page."""
    reasons = offer_reasons(case)
    shortlisted = ShortlistEntry.objects.filter(case=case, removed_at__isnull=True).count()
    url = reverse("admin:options_caseoptions_change", args=[case.pk])
    return format_html(
        '<section class="workplace-panel" aria-labelledby="options-panel-title">'
        '<h3 id="options-panel-title">Other treatments and trials</h3>'
        '<p>{}</p><p>{} shortlisted. <a href="{}">Open the options for this case</a></p></section>',
        "; ".join(reasons)
        if reasons
        else "No reason to offer other options yet (pre-screen, a centre's decline, "
        "or a relapse after CAR-T would give one).",
        shortlisted,
        url,
    )
