"""Travel serializers. Writes go through ``travel.services`` (``travel_create``, ``travel_update``,
which call ``travel_save``) so the API and the admin validate, audit and schedule alike; a refused
write answers 400 naming the field."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django_countries.serializer_fields import CountryField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from documents.models import Document
from hospitals.models import Hospital
from navigator.api import ModelSerializer, VisibleRelationsMixin

from ..airports import get_airport, to_instant
from ..models import (
    Accommodation,
    Admission,
    AirportPickup,
    InterpreterNeed,
    Journey,
    Leg,
    Traveller,
    VisaApplication,
)


@extend_schema_field(
    {
        "type": "string",
        "example": "2026-05-01T23:55",
        "description": "Local wall time at the airport, as printed on the ticket (no offset needed). "
        "An offset may be given to settle a time that occurs twice when clocks go back.",
    }
)
class LocalDateTimeField(serializers.Field):
    """A wall time at an airport: naive ISO 8601 (or with an offset); answered with the offset."""

    default_error_messages = {
        "invalid": _("Give a date and time like 2026-05-01T23:55 (local time at the airport)."),
    }

    def to_internal_value(self, data):
        if isinstance(data, dt.datetime):
            return data
        try:
            value = parse_datetime(str(data).strip())
        except ValueError:
            value = None
        if value is None:
            self.fail("invalid")
        return value

    def to_representation(self, value):
        return value.isoformat() if value else None


def _django_errors(exc: DjangoValidationError, rename: dict | None = None) -> serializers.ValidationError:
    rename = rename or {}
    if hasattr(exc, "error_dict"):
        return serializers.ValidationError({rename.get(k, k): v for k, v in exc.message_dict.items()})
    return serializers.ValidationError({"non_field_errors": exc.messages})


class TravelSerializer(VisibleRelationsMixin, ModelSerializer):
    """Validates travel data; the ViewSet hands it to ``travel_create`` / ``travel_update``."""

    visible_relations: tuple[str, ...] = ("case",)
    error_names: dict[str, str] = {}

    def validate_case(self, case):
        if self.instance is not None and case.pk != self.instance.case_id:
            raise serializers.ValidationError(_("Travel data cannot be moved to another case."))
        return case

    @classmethod
    def service_errors(cls, exc: DjangoValidationError) -> serializers.ValidationError:
        """The model's validation errors (raised by the travel service) under this API's field names."""
        return _django_errors(exc, cls.error_names)


class TravellerSerializer(TravelSerializer):
    nationality = CountryField()
    passport_number = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="Masked (last three characters) in lists; in full on a single traveller.",
    )

    class Meta:
        model = Traveller
        fields = [
            "id",
            "case",
            "role",
            "surname",
            "given_names",
            "nationality",
            "date_of_birth",
            "passport_number",
            "passport_expiry",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("reveal_passport"):
            data["passport_number"] = instance.masked_passport
        return data


class VisaApplicationSerializer(TravelSerializer):
    visible_relations = ("case", "traveller", "documents")
    country = CountryField(required=False)
    documents = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=Document.objects.all())

    class Meta:
        model = VisaApplication
        fields = [
            "id",
            "case",
            "traveller",
            "status",
            "country",
            "visa_type",
            "invitation_requested_on",
            "invitation_received_on",
            "submitted_on",
            "decided_on",
            "valid_until",
            "documents",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate(self, attrs):
        case = attrs.get("case") or getattr(self.instance, "case", None)
        for document in attrs.get("documents", []):
            if case is not None and document.case_id != case.pk:
                raise serializers.ValidationError(
                    {"documents": [_("Document %s belongs to another case.") % document.pk]}
                )
        return attrs


class LegSerializer(TravelSerializer):
    visible_relations = ("journey",)
    error_names = {"departure_at": "departure_local", "arrival_at": "arrival_local"}
    departure_local = LocalDateTimeField(help_text="Local time at the origin airport.")
    arrival_local = LocalDateTimeField(help_text="Local time at the destination airport.")
    departure_utc = serializers.DateTimeField(source="departure_at", read_only=True)
    arrival_utc = serializers.DateTimeField(source="arrival_at", read_only=True)
    case = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Leg
        fields = [
            "id",
            "case",
            "journey",
            "position",
            "origin",
            "destination",
            "carrier",
            "flight_number",
            "booking_reference",
            "departure_local",
            "departure_tz",
            "departure_utc",
            "arrival_local",
            "arrival_tz",
            "arrival_utc",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["departure_tz", "arrival_tz", "created_at", "updated_at"]

    def validate(self, attrs):
        """Turn the local wall times into instants using each airport's zone."""
        errors: dict = {}
        for side, code_field in (("departure", "origin"), ("arrival", "destination")):
            local = attrs.pop(f"{side}_local", None)
            code = (attrs.get(code_field) or getattr(self.instance, code_field, "") or "").strip().upper()
            if local is None:
                if self.instance is not None and code_field in attrs:
                    # The airport changed but not the time: keep the wall time, in the new zone.
                    local = getattr(self.instance, f"{side}_local").replace(tzinfo=None)
                else:
                    continue
            airport = get_airport(code)
            if airport is None:
                errors.setdefault(code_field, [_("Give a known IATA airport code, e.g. PEK.")])
                continue
            try:
                attrs[f"{side}_at"] = to_instant(local, airport.time_zone)
            except DjangoValidationError as exc:
                errors[f"{side}_local"] = exc.messages
        journey = attrs.get("journey")
        if journey is not None and self.instance is not None and journey.case_id != self.instance.case_id:
            errors["journey"] = [_("A flight cannot be moved to another case's journey.")]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class JourneySerializer(TravelSerializer):
    visible_relations = ("case", "travellers")
    travellers = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=Traveller.objects.all())
    legs = LegSerializer(many=True, read_only=True)

    class Meta:
        model = Journey
        fields = ["id", "case", "direction", "travellers", "notes", "legs", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate(self, attrs):
        case = attrs.get("case") or getattr(self.instance, "case", None)
        for traveller in attrs.get("travellers", []):
            if case is not None and traveller.case_id != case.pk:
                raise serializers.ValidationError({"travellers": [_("A traveller belongs to another case.")]})
        return attrs


class AccommodationSerializer(TravelSerializer):
    class Meta:
        model = Accommodation
        fields = [
            "id",
            "case",
            "name",
            "address",
            "city",
            "near_hospital",
            "check_in",
            "check_out",
            "phone",
            "booking_reference",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class AirportPickupSerializer(TravelSerializer):
    visible_relations = ("case", "leg")
    airport = serializers.CharField(read_only=True)
    meet_local = serializers.SerializerMethodField()

    class Meta:
        model = AirportPickup
        fields = [
            "id",
            "case",
            "leg",
            "airport",
            "meet_at",
            "meet_local",
            "driver_name",
            "driver_phone",
            "destination",
            "confirmed",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_meet_local(self, obj) -> str | None:
        local = obj.meets_at_local
        return local.isoformat() if local else None


class InterpreterNeedSerializer(TravelSerializer):
    language_name = serializers.CharField(read_only=True)

    class Meta:
        model = InterpreterNeed
        fields = [
            "id",
            "case",
            "language",
            "language_name",
            "occasion",
            "starts_on",
            "ends_on",
            "arranged",
            "interpreter_name",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class AdmissionSerializer(TravelSerializer):
    hospital_name = serializers.CharField(source="hospital.name_en", read_only=True)
    estimated_infusion_date = serializers.DateField(read_only=True)
    what_to_bring_list = serializers.ListField(source="bring_list", child=serializers.CharField(), read_only=True)

    class Meta:
        model = Admission
        fields = [
            "id",
            "case",
            "hospital",
            "hospital_name",
            "status",
            "admission_date",
            "ward",
            "currency",
            "deposit_amount",
            "cost_estimate",
            "what_to_bring",
            "what_to_bring_list",
            "infusion_estimate_days",
            "estimated_infusion_date",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"hospital": {"queryset": Hospital.objects.filter(is_active=True)}}


class WarningSerializer(serializers.Serializer):
    code = serializers.CharField()
    level = serializers.ChoiceField(choices=["warning", "danger"])
    subject = serializers.CharField()
    text = serializers.CharField(help_text="For a family member: in plain words; for a coordinator: what to fix.")


class ItinerarySerializer(serializers.Serializer):
    """Documentation of ``travel.selectors.itinerary_for``'s shape."""

    case = serializers.DictField()
    travellers = serializers.ListField(child=serializers.DictField())
    visas = serializers.ListField(child=serializers.DictField())
    journeys = serializers.ListField(child=serializers.DictField())
    accommodations = serializers.ListField(child=serializers.DictField())
    pickups = serializers.ListField(child=serializers.DictField())
    interpreter_needs = serializers.ListField(child=serializers.DictField())
    admissions = serializers.ListField(child=serializers.DictField())
    warnings = WarningSerializer(many=True)
