"""The options register in the coordinator's admin: entries, their registry versions, and the
shortlists of cases."""

from __future__ import annotations

from django.contrib import admin

from navigator.admin import VisibleAdmin

from .models import Option, OptionVersion


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
