"""The coordinator's travel desk: an admin for each travel model, and inlines for the case
page (``TRAVEL_CASE_INLINES``, registered as sections of the case page).

Every save goes through ``travel.services`` (validation, audit, milestones); every view of
travellers' identity data is audited; passport numbers are masked in lists.
"""

from __future__ import annotations

from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.roles import is_coordinator
from cases.admin import case_section
from navigator.admin import VisibleAdmin

from .forms import LegForm, TravellerInlineForm
from .models import (
    Accommodation,
    Admission,
    AirportPickup,
    InterpreterNeed,
    Journey,
    Leg,
    Traveller,
    VisaApplication,
)
from .selectors import warnings_for
from .services import travel_after_change, travel_delete, travel_save

# --- inlines on the case page --------------------------------------------------------


class TravelInlineFormSet(BaseInlineFormSet):
    """Saves and deletes each row through the travel services, so inline edits are
    validated, audited and move the milestones exactly like the API."""

    request = None

    def save_new(self, form, commit=True):
        # The parent may have been created in this same save (a journey with its first flight):
        # point the row at it now, as Django's own inline formset does.
        setattr(form.instance, self.fk.name, self.instance)
        obj = form.save(commit=False)
        travel_save(obj=obj, actor=self.request.user, via="admin", fields=form.changed_data)
        form.save_m2m()
        return obj

    def save_existing(self, form, obj, commit=True):
        obj = form.save(commit=False)
        travel_save(obj=obj, actor=self.request.user, via="admin", fields=form.changed_data)
        form.save_m2m()
        return obj

    def delete_existing(self, obj, commit=True):
        if commit:
            travel_delete(obj=obj, actor=self.request.user, via="admin")


class CaseTravelInline(VisibleAdmin, admin.TabularInline):
    formset = TravelInlineFormSet
    extra = 0
    show_change_link = True

    def get_formset(self, request, obj=None, **kwargs):
        # The parent case, for narrowing foreign-key choices to this case's rows.
        request._travel_case = obj
        formset = super().get_formset(request, obj, **kwargs)
        formset.request = request
        return formset

    def _case_rows(self, request, model):
        case = getattr(request, "_travel_case", None)
        return model.objects.filter(case=case) if case is not None else model.objects.none()


class TravellerInline(CaseTravelInline):
    model = Traveller
    form = TravellerInlineForm
    fields = ["role", "surname", "given_names", "nationality", "date_of_birth", "passport_number", "passport_expiry"]
    # Identity data shown on the case page: the case admin records each traveller shown.
    audit_rows = True


class VisaApplicationInline(CaseTravelInline):
    model = VisaApplication
    fields = [
        "traveller",
        "status",
        "visa_type",
        "invitation_requested_on",
        "invitation_received_on",
        "submitted_on",
        "decided_on",
        "valid_until",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("traveller")  # each row is named by its traveller

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "traveller":
            kwargs["queryset"] = self._case_rows(request, Traveller)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class JourneyInline(CaseTravelInline):
    model = Journey
    fields = ["direction", "travellers", "notes", "flights"]
    readonly_fields = ["flights"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("legs", "travellers")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "travellers":
            kwargs["queryset"] = self._case_rows(request, Traveller)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description=_("Flights (edit on the journey's page)"))
    def flights(self, obj):
        if not obj.pk:
            return "—"
        legs = list(obj.legs.all())
        if not legs:
            return _("No flights yet")
        return format_html_join(
            "",
            "<div>{} {}→{} {} → {}</div>",
            (
                (
                    leg.flight_number,
                    leg.origin,
                    leg.destination,
                    f"{leg.departure_local:%Y-%m-%d %H:%M %Z}",
                    f"{leg.arrival_local:%Y-%m-%d %H:%M %Z}",
                )
                for leg in legs
            ),
        )


class AccommodationInline(CaseTravelInline):
    model = Accommodation
    fields = ["name", "address", "city", "near_hospital", "check_in", "check_out", "phone", "booking_reference"]


class AirportPickupInline(CaseTravelInline):
    model = AirportPickup
    fields = ["leg", "meet_at", "driver_name", "driver_phone", "destination", "confirmed"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("leg")  # each row is named by its flight

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "leg":
            kwargs["queryset"] = self._case_rows(request, Leg)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class InterpreterNeedInline(CaseTravelInline):
    model = InterpreterNeed
    fields = ["language", "occasion", "starts_on", "ends_on", "arranged", "interpreter_name"]


class AdmissionInline(CaseTravelInline):
    model = Admission
    fields = [
        "hospital",
        "status",
        "admission_date",
        "ward",
        "currency",
        "deposit_amount",
        "cost_estimate",
        "infusion_estimate_days",
        "what_to_bring",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("hospital")  # each row is named by its centre


class TravelWarningsInline(VisibleAdmin, admin.TabularInline):
    """A read-only panel on the case page: the travel warnings, as the coordinator reads them
    and as the family sees them."""

    model = Admission  # any row of the case; the panel renders warnings, not rows
    template = "travel/admin/warnings_inline.html"
    verbose_name_plural = _("Travel warnings")
    extra = 0
    max_num = 0
    can_delete = False
    fields: list[str] = []

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return is_coordinator(request.user)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.travel_warnings = self._warnings(request, obj)
        return formset

    @staticmethod
    def _warnings(request, obj) -> list:
        # The admin asks for an inline's formset class more than once per page: the warnings
        # (six queries) are worked out once per request and case.
        if obj is None:
            return []
        worked_out = request.__dict__.setdefault("_travel_warnings", {})
        if obj.pk not in worked_out:
            worked_out[obj.pk] = warnings_for(obj)
        return worked_out[obj.pk]


TRAVEL_CASE_INLINES = [
    TravelWarningsInline,
    TravellerInline,
    VisaApplicationInline,
    JourneyInline,
    AccommodationInline,
    AirportPickupInline,
    InterpreterNeedInline,
    AdmissionInline,
]
# The warnings open on the case page; the travel rows start collapsed.
for _position, _inline in enumerate(TRAVEL_CASE_INLINES):
    case_section(70 + _position, collapsed=_position > 0)(_inline)


# --- an admin per model ----------------------------------------------------------------


class TravelAdmin(VisibleAdmin, admin.ModelAdmin):
    """Coordinator-only; saves and deletes through the travel services."""

    list_select_related = ["case"]
    list_per_page = 50
    raw_id_fields = ["case"]
    ordering = ["-id"]

    def has_module_permission(self, request):
        return is_coordinator(request.user)

    def has_view_permission(self, request, obj=None):
        return is_coordinator(request.user)

    has_add_permission = has_module_permission

    def has_change_permission(self, request, obj=None):
        return is_coordinator(request.user)

    has_delete_permission = has_change_permission

    def save_model(self, request, obj, form, change):
        travel_save(obj=obj, actor=request.user, via="admin", fields=form.changed_data)

    def delete_model(self, request, obj):
        travel_delete(obj=obj, actor=request.user, via="admin")

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("case"):
            travel_delete(obj=obj, actor=request.user, via="admin")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        travel_after_change(case=form.instance.case)


@admin.register(Traveller)
class TravellerAdmin(TravelAdmin):
    list_display = ["full_name", "case", "role", "nationality", "passport_masked", "passport_expiry"]
    list_filter = ["role"]
    search_fields = ["surname", "given_names", "case__reference"]
    fields = [
        "case",
        "role",
        "surname",
        "given_names",
        "nationality",
        "date_of_birth",
        "passport_number",
        "passport_expiry",
    ]

    @admin.display(description=_("passport"))
    def passport_masked(self, obj):
        return obj.masked_passport


@admin.register(VisaApplication)
class VisaApplicationAdmin(TravelAdmin):
    list_display = ["traveller", "case", "status", "submitted_on", "decided_on", "valid_until"]
    list_select_related = ["case", "traveller"]
    list_filter = ["status"]
    search_fields = ["case__reference", "traveller__surname"]
    raw_id_fields = ["case", "traveller"]
    filter_horizontal = ["documents"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "documents":
            from documents.models import Document

            object_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            visa = VisaApplication.objects.filter(pk=object_id).first() if object_id else None
            kwargs["queryset"] = Document.objects.filter(case_id=visa.case_id) if visa else Document.objects.none()
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class LegInline(VisibleAdmin, admin.TabularInline):
    model = Leg
    form = LegForm
    formset = TravelInlineFormSet
    extra = 1
    fields = [
        "position",
        "origin",
        "destination",
        "carrier",
        "flight_number",
        "booking_reference",
        "departure_at",
        "arrival_at",
    ]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.request = request
        return formset


@admin.register(Journey)
class JourneyAdmin(TravelAdmin):
    list_display = ["__str__", "case", "direction", "created_at"]
    list_filter = ["direction"]
    search_fields = ["case__reference"]
    filter_horizontal = ["travellers"]
    inlines = [LegInline]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "travellers":
            object_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            journey = Journey.objects.filter(pk=object_id).first() if object_id else None
            kwargs["queryset"] = (
                Traveller.objects.filter(case_id=journey.case_id) if journey else Traveller.objects.none()
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Leg)
class LegAdmin(TravelAdmin):
    form = LegForm
    list_display = ["__str__", "case", "journey", "departure_local_text", "arrival_local_text", "booking_reference"]
    list_select_related = ["case", "journey"]
    search_fields = ["case__reference", "flight_number", "booking_reference"]
    raw_id_fields = ["journey"]

    @admin.display(description=_("departure (local)"), ordering="departure_at")
    def departure_local_text(self, obj):
        return f"{obj.departure_local:%Y-%m-%d %H:%M %Z} ({obj.origin})"

    @admin.display(description=_("arrival (local)"), ordering="arrival_at")
    def arrival_local_text(self, obj):
        return f"{obj.arrival_local:%Y-%m-%d %H:%M %Z} ({obj.destination})"


@admin.register(Accommodation)
class AccommodationAdmin(TravelAdmin):
    list_display = ["name", "case", "city", "check_in", "check_out"]
    search_fields = ["case__reference", "name", "city"]
    raw_id_fields = ["case", "near_hospital"]


@admin.register(AirportPickup)
class AirportPickupAdmin(TravelAdmin):
    list_display = ["__str__", "case", "leg", "meet_at", "driver_name", "confirmed"]
    list_select_related = ["case", "leg"]
    list_filter = ["confirmed"]
    raw_id_fields = ["case", "leg"]


@admin.register(InterpreterNeed)
class InterpreterNeedAdmin(TravelAdmin):
    list_display = ["__str__", "case", "language", "occasion", "starts_on", "arranged"]
    list_filter = ["occasion", "arranged"]


@admin.register(Admission)
class AdmissionAdmin(TravelAdmin):
    list_display = ["case", "hospital", "admission_date", "status", "ward", "deposit_amount", "currency"]
    list_select_related = ["case", "hospital"]
    list_filter = ["status", "hospital"]
    search_fields = ["case__reference", "ward"]
    raw_id_fields = ["case"]
