from __future__ import annotations

from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from audit.mixins import AuditedViewMixin, audited
from cases.models import Case
from navigator.api import IsCoordinator, IsCoordinatorOrReadOnly, VisibleReadOnlyViewSet
from navigator.filters import FilterSet

from .. import services
from ..calendar import milestones_ics
from ..feed_tokens import CalendarFeedTokenAuthentication, calendar_link_issue, calendar_link_url
from ..models import CoordinatorTask, Milestone, MRDResult, TransplantDecision, TreatmentEvent
from .serializers import (
    CoordinatorTaskSerializer,
    MilestoneSerializer,
    MRDResultSerializer,
    TransplantDecisionSerializer,
    TreatmentEventResultSerializer,
    TreatmentEventSerializer,
)


class MilestoneFilter(FilterSet):
    due_after = filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="gte")
    due_before = filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = Milestone
        fields = ["case", "kind", "status", "concerns_family"]


@extend_schema_view(
    list=extend_schema(summary="Milestones of the cases the caller may see (families: those that concern them)"),
    retrieve=extend_schema(summary="One milestone"),
)
class MilestoneViewSet(VisibleReadOnlyViewSet):
    """Milestones are derived from events and other apps' deadlines: read-only here."""

    queryset = Milestone.objects.select_related("case")
    serializer_class = MilestoneSerializer
    filterset_class = MilestoneFilter
    ordering = ["due_at", "id"]


@extend_schema_view(
    list=extend_schema(summary="Treatment events (apheresis, lymphodepletion, infusion...)"),
    retrieve=extend_schema(summary="One treatment event"),
    create=extend_schema(
        summary="Record or move a treatment event; every dependent milestone moves with it",
        request=TreatmentEventSerializer,
        responses={201: TreatmentEventResultSerializer},
    ),
)
class TreatmentEventViewSet(VisibleReadOnlyViewSet, mixins.CreateModelMixin):
    queryset = TreatmentEvent.objects.select_related("case")
    serializer_class = TreatmentEventSerializer
    permission_classes = [IsCoordinatorOrReadOnly]
    filterset_fields = ["case", "kind", "status"]
    ordering = ["occurred_on", "id"]

    service_audited_actions = frozenset({"create"})  # event_record records the event and its moves

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        body = {"event": TreatmentEventSerializer(serializer.instance).data, "changes": self.changes.as_dict()}
        return Response(body, status=status.HTTP_201_CREATED)

    def create_service(self, data):
        event, self.changes = services.event_record(
            case=data["case"],
            kind=data["kind"],
            occurred_on=data["occurred_on"],
            status=data.get("status", TreatmentEvent.Status.PLANNED),
            hospital=data.get("hospital"),
            notes=data.get("notes", ""),
            actor=self.request.user,
        )
        return event


@extend_schema_view(
    list=extend_schema(summary="MRD results"),
    retrieve=extend_schema(summary="One MRD result"),
    create=extend_schema(summary="Record an MRD result (any positive result or conversion opens an urgent task)"),
)
class MRDResultViewSet(VisibleReadOnlyViewSet, mixins.CreateModelMixin):
    queryset = MRDResult.objects.select_related("case")
    serializer_class = MRDResultSerializer
    permission_classes = [IsCoordinatorOrReadOnly]
    filterset_fields = ["case", "checkpoint", "result"]
    ordering = ["-sample_date", "-id"]

    service_audited_actions = frozenset({"create"})  # mrd_result_record records the result

    def create_service(self, data):
        with transaction.atomic():
            return services.mrd_result_record(actor=self.request.user, **data)


@extend_schema_view(
    list=extend_schema(summary="MDT transplant decisions (coordinators only)"),
    retrieve=extend_schema(summary="One case's MDT transplant decision"),
    create=extend_schema(summary="Record the MDT transplant decision (the transplant milestones follow it)"),
)
class TransplantDecisionViewSet(VisibleReadOnlyViewSet, mixins.CreateModelMixin):
    queryset = TransplantDecision.objects.select_related("case")
    serializer_class = TransplantDecisionSerializer
    permission_classes = [IsCoordinator]
    filterset_fields = ["case", "decision"]
    ordering = ["-updated_at", "-id"]

    service_audited_actions = frozenset({"create"})  # transplant_decision_record records the decision

    def create_service(self, data):
        decision, _changes = services.transplant_decision_record(
            case=data["case"],
            actor=self.request.user,
            decision=data.get("decision", TransplantDecision.Decision.UNDECIDED),
            reason=data.get("reason", ""),
            decided_on=data.get("decided_on"),
        )
        return decision


@extend_schema_view(
    list=extend_schema(summary="Coordinator tasks (coordinators only)"),
    retrieve=extend_schema(summary="One coordinator task"),
)
class CoordinatorTaskViewSet(VisibleReadOnlyViewSet):
    queryset = CoordinatorTask.objects.select_related("case")
    serializer_class = CoordinatorTaskSerializer
    permission_classes = [IsCoordinator]
    filterset_fields = ["case", "status", "priority", "assignee"]
    ordering = ["-priority", "created_at", "id"]

    @extend_schema(
        request=None, responses={200: CoordinatorTaskSerializer, 409: OpenApiResponse(description="Already done")}
    )
    @action(detail=True, methods=["post"])
    @audited(post="change")
    def complete(self, request, pk=None):
        task = self.get_object()
        if not services.task_complete(task=task, actor=request.user):
            from navigator.errors import ConflictError

            raise ConflictError("This task is already done.", field="status")
        task.refresh_from_db()
        return Response(CoordinatorTaskSerializer(task).data)


class CaseCalendarView(AuditedViewMixin, APIView):
    """GET a case's milestones as iCalendar. Same rule as everything else: a case the caller
    may not see does not exist (404). Families get the milestones that concern them. Audited."""

    permission_classes = [IsAuthenticated]
    authentication_classes = [CalendarFeedTokenAuthentication, *api_settings.DEFAULT_AUTHENTICATION_CLASSES]
    visibility = "Case.objects.visible_to(user) and Milestone.objects.visible_to(user)"

    @extend_schema(
        summary="The case's milestones as an iCalendar (.ics) feed",
        parameters=[OpenApiParameter("token", str, description="Private subscription token (see calendar-link).")],
        responses={(200, "text/calendar"): OpenApiTypes.BINARY, 404: OpenApiResponse(description="No such case")},
    )
    @audited("download", detail={"what": "milestones.ics"})
    def get(self, request, case_id: int):
        case = get_object_or_404(Case.objects.visible_to(request.user), pk=case_id)
        milestones = (
            Milestone.objects.visible_to(request.user)
            .filter(case=case)
            .select_related("hospital")
            .order_by("due_at", "id")
        )
        body = milestones_ics(case=case, milestones=milestones)
        self.audit_shown(case)
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{case.reference}-milestones.ics"'
        response["Cache-Control"] = "private, no-store"
        return response


class CaseCalendarLinkView(AuditedViewMixin, APIView):
    """The caller's private subscription link to a case's calendar feed (for calendar apps)."""

    permission_classes = [IsAuthenticated]
    visibility = "Case.objects.visible_to(user)"

    @extend_schema(
        operation_id="cases_calendar_link",
        summary="A private link to subscribe to the case's milestones in a calendar app",
        responses={
            200: inline_serializer(
                "CalendarLink",
                {
                    "id": serializers.IntegerField(),
                    "url": serializers.URLField(),
                    "expires_at": serializers.DateTimeField(),
                },
            )
        },
    )
    @audited("view", detail={"what": "calendar link"})
    def get(self, request, case_id: int):
        case = get_object_or_404(Case.objects.visible_to(request.user), pk=case_id)
        self.audit_shown(case)
        link = calendar_link_issue(user=request.user, case=case)
        return Response(
            {
                "id": link.pk,
                "url": calendar_link_url(request=request, link=link),
                "expires_at": link.expires_at,
            }
        )
