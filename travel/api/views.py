"""Travel API: coordinators edit; a family reads its own case's travel; a hospital reads
the admissions at its centre for cases shared with it. Visibility is each model's
``visible_to``; objects a caller may not see answer 404."""

from __future__ import annotations

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from audit.mixins import AuditedViewMixin, audited
from navigator.api import ERROR_STATUSES, IsCoordinatorOrReadOnly, VisibleModelViewSet

from ..ics import itinerary_calendar
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
from ..selectors import itinerary_for, travel_case_for, warnings_view_for
from ..services import travel_create, travel_delete, travel_update
from . import serializers as s


class TravelViewSet(VisibleModelViewSet):
    """Writes go through ``travel_create`` / ``travel_update`` / ``travel_delete``, which record
    the change themselves; reads are audited by the base ViewSet."""

    permission_classes = [IsCoordinatorOrReadOnly]
    filterset_fields = ["case"]
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    service_audited_actions = frozenset({"create", "update", "partial_update", "destroy"})

    def create_service(self, data):
        model = self.get_serializer_class().Meta.model
        with self._model_errors():
            return travel_create(model=model, actor=self.request.user, data=data, via="api")

    def update_service(self, instance, data):
        with self._model_errors():
            return travel_update(obj=instance, actor=self.request.user, data=data, via="api")

    def destroy_service(self, instance):
        travel_delete(obj=instance, actor=self.request.user, via="api")

    @contextmanager
    def _model_errors(self):
        # The row is validated as a whole by the service (full_clean); its errors name the
        # API's fields (e.g. a flight's local times), as a 400.
        try:
            yield
        except DjangoValidationError as exc:
            raise self.get_serializer_class().service_errors(exc) from exc


def _docs(name: str, plural: str, serializer, extra: str = ""):
    tags = ["travel"]
    errors = {code: OpenApiResponse(description=text) for code, text in ERROR_STATUSES.items()}
    return extend_schema_view(
        list=extend_schema(summary=f"List {plural}", description=f"Filter by `case`. {extra}".strip(), tags=tags),
        retrieve=extend_schema(summary=f"Read one {name}", tags=tags, responses={200: serializer, **errors}),
        create=extend_schema(summary=f"Add a {name} (coordinators)", tags=tags, responses={201: serializer, **errors}),
        update=extend_schema(
            summary=f"Replace a {name} (coordinators)", tags=tags, responses={200: serializer, **errors}
        ),
        partial_update=extend_schema(
            summary=f"Change a {name} (coordinators)", tags=tags, responses={200: serializer, **errors}
        ),
        destroy=extend_schema(summary=f"Delete a {name} (coordinators)", tags=tags, responses={204: None, **errors}),
    )


@_docs(
    "traveller",
    "travellers",
    s.TravellerSerializer,
    "Passport numbers are masked in lists and shown in full on one traveller.",
)
class TravellerViewSet(TravelViewSet):
    queryset = Traveller.objects.select_related("case")
    serializer_class = s.TravellerSerializer

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["reveal_passport"] = self.action != "list"
        return context


@_docs("visa application", "visa applications", s.VisaApplicationSerializer)
class VisaApplicationViewSet(TravelViewSet):
    queryset = VisaApplication.objects.select_related("case", "traveller").prefetch_related("documents")
    serializer_class = s.VisaApplicationSerializer


@_docs("journey", "journeys", s.JourneySerializer, "Each journey lists its flights in order.")
class JourneyViewSet(TravelViewSet):
    queryset = Journey.objects.select_related("case").prefetch_related("legs", "travellers")
    serializer_class = s.JourneySerializer


@_docs(
    "flight",
    "flights",
    s.LegSerializer,
    "Times are given and shown as local wall times at each airport; the UTC instants are shown alongside.",
)
class LegViewSet(TravelViewSet):
    queryset = Leg.objects.select_related("case", "journey")
    serializer_class = s.LegSerializer
    filterset_fields = ["case", "journey"]


@_docs("accommodation", "accommodations", s.AccommodationSerializer)
class AccommodationViewSet(TravelViewSet):
    queryset = Accommodation.objects.select_related("case")
    serializer_class = s.AccommodationSerializer


@_docs("airport pickup", "airport pickups", s.AirportPickupSerializer)
class AirportPickupViewSet(TravelViewSet):
    queryset = AirportPickup.objects.select_related("case", "leg")
    serializer_class = s.AirportPickupSerializer


@_docs("interpreter need", "interpreter needs", s.InterpreterNeedSerializer)
class InterpreterNeedViewSet(TravelViewSet):
    queryset = InterpreterNeed.objects.select_related("case")
    serializer_class = s.InterpreterNeedSerializer


@_docs(
    "admission",
    "admissions",
    s.AdmissionSerializer,
    "Hospital staff see the admissions at their own centre for cases shared with them.",
)
class AdmissionViewSet(TravelViewSet):
    queryset = Admission.objects.select_related("case", "hospital")
    serializer_class = s.AdmissionSerializer


CASE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The case's id.")


class ItineraryViewSet(AuditedViewMixin, viewsets.ViewSet):
    """A case's whole itinerary, its warnings, and an .ics of the journey: for the family
    and coordinators (404 for everyone else)."""

    permission_classes = [permissions.IsAuthenticated]
    visibility = "travel.selectors.itinerary_for resolves the case through Case.objects.visible_to(user)"
    lookup_value_regex = r"\d+"

    @extend_schema(
        tags=["travel"],
        summary="A case's itinerary",
        parameters=[CASE_ID],
        responses={200: s.ItinerarySerializer, 404: OpenApiResponse(description=ERROR_STATUSES[404])},
    )
    def retrieve(self, request, pk=None):
        data = itinerary_for(int(pk), request.user)
        # The travellers' identity data, and the itinerary as a whole.
        case_id, reference = data["case"]["id"], data["case"]["reference"]
        self.audit_shown_rows("travel.Traveller", [(t["id"], case_id, reference) for t in data["travellers"]])
        self.audit_shown_rows("travel.Itinerary", [(case_id, case_id, reference)])
        return Response(data)

    @extend_schema(
        tags=["travel"],
        summary="Travel warnings on a case",
        parameters=[CASE_ID],
        responses={200: s.WarningSerializer(many=True), 404: OpenApiResponse(description=ERROR_STATUSES[404])},
    )
    @action(detail=True, methods=["get"])
    @audited("view", detail={"what": "travel warnings"})
    def warnings(self, request, pk=None):
        case = travel_case_for(int(pk), request.user)
        self.audit_shown(case)
        return Response(warnings_view_for(case, request.user))

    @extend_schema(
        tags=["travel"],
        summary="The journey as an iCalendar file",
        description="Flights with their airports' time zones (TZID + VTIMEZONE), accommodation and admission.",
        parameters=[CASE_ID],
        responses={
            (200, "text/calendar"): OpenApiResponse(response=OpenApiTypes.BINARY),
            404: OpenApiResponse(description=ERROR_STATUSES[404]),
        },
    )
    @action(detail=True, methods=["get"], url_path="ics")
    @audited("download", detail={"via": "ics"})
    def ics(self, request, pk=None):
        case = travel_case_for(int(pk), request.user)
        body = itinerary_calendar(
            case=case,
            legs=Leg.objects.filter(case=case).order_by("departure_at"),
            stays=Accommodation.objects.filter(case=case),
            admissions=Admission.objects.filter(case=case).current().select_related("hospital"),
        )
        self.audit_shown_rows("travel.Itinerary", [(case.pk, case.pk, case.reference)])
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="travel-{case.reference}.ics"'
        response["Cache-Control"] = "private, no-store"
        return response
