from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from audit.api import AuditEventSerializer
from audit.mixins import audited
from audit.models import AuditEvent
from navigator.api import IsCoordinator, IsCoordinatorOrReadOnly, VisibleModelViewSet

from .. import selectors, services
from ..models import Case, FamilyContact, Patient, StatusChange
from .filters import CaseFilter, ContactFilter, PatientFilter
from .serializers import (
    AssignSerializer,
    CaseDetailSerializer,
    CaseListSerializer,
    CaseWriteSerializer,
    ContactSerializer,
    PatientSerializer,
    StatusChangeSerializer,
    TransitionSerializer,
)


@extend_schema_view(
    list=extend_schema(operation_id="cases_list", summary="List the cases the caller may see"),
    retrieve=extend_schema(operation_id="cases_retrieve", summary="Read one case"),
    create=extend_schema(operation_id="cases_create", summary="Open a case", responses={201: CaseDetailSerializer}),
    update=extend_schema(operation_id="cases_update", responses={200: CaseDetailSerializer}),
    partial_update=extend_schema(operation_id="cases_partial_update", responses={200: CaseDetailSerializer}),
)
class CaseViewSet(VisibleModelViewSet):
    """Cases. Coordinators see and change all; a family reads its own; a hospital reads what was sent to it."""

    queryset = Case.objects.select_related("patient", "coordinator")
    permission_classes = [IsCoordinatorOrReadOnly]
    filterset_class = CaseFilter
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def list(self, request, *args, **kwargs):
        # The caseload is the hottest read: rows come straight from .values() (one query,
        # no model instances) and are shaped by CaseListSerializer.rows, its documented form.
        cases = self.filter_queryset(self.get_queryset())
        # The total counts the cases alone: the page's .values() joins the patient and the
        # coordinator, and COUNT(*) over those joins reads a patient row for every case.
        self.paginator.count_queryset = cases
        if text := request.query_params.get("q"):
            self.paginator.count_rows_sql = selectors.common_name_rows_to_count(queryset=cases, text=text)
        page = self.paginate_queryset(cases.values(*CaseListSerializer.VALUES))
        return self.get_paginated_response(CaseListSerializer.rows(page))

    def audit_row(self, row):
        return (row["id"], row["id"], row["reference"])

    audit_page_columns = ("id", "id", "reference")  # the same, for the page's own query

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action != "list":
            queryset = queryset.select_related("indication").prefetch_related(
                "target_centres", Prefetch("status_changes", StatusChange.objects.select_related("changed_by"))
            )
        return queryset

    def get_serializer_class(self):
        if self.action == "list":
            return CaseListSerializer
        if self.action in ("create", "update", "partial_update"):
            return CaseWriteSerializer
        return CaseDetailSerializer

    # case_create records the opening itself (with the status history); updates are recorded
    # by the audit mixin with the fields changed.
    service_audited_actions = frozenset({"create"})

    def create_service(self, data):
        return services.case_create(
            patient=data["patient"],
            actor=self.request.user,
            indication=data.get("indication"),
            coordinator=data.get("coordinator"),
            priority=data.get("priority", Case.Priority.ROUTINE),
            inquiry_date=data.get("inquiry_date"),
            summary=data.get("summary", ""),
            target_centres=data.get("target_centres", ()),
        )

    def update_service(self, instance, data):
        return services.case_update(case=instance, actor=self.request.user, data=data)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        case = self.get_queryset().get(pk=serializer.instance.pk)
        return Response(
            CaseDetailSerializer(case, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )

    def update(self, request, *args, **kwargs):
        super().update(request, *args, **kwargs)
        case = self.get_queryset().get(pk=kwargs["pk"])
        return Response(CaseDetailSerializer(case, context=self.get_serializer_context()).data)

    @extend_schema(
        operation_id="cases_transition",
        summary="Move the case to another status",
        request=TransitionSerializer,
        responses={200: StatusChangeSerializer},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsCoordinator])
    @audited(post="change")
    def transition(self, request, pk=None):
        case = self.get_object()
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        change = services.case_transition(case=case, actor=request.user, **serializer.validated_data)
        return Response(StatusChangeSerializer(change).data)

    @extend_schema(
        operation_id="cases_assign",
        summary="Assign the case to a coordinator",
        request=AssignSerializer,
        responses={200: CaseDetailSerializer},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsCoordinator])
    @audited(post="change")
    def assign(self, request, pk=None):
        case = self.get_object()
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.case_assign(case=case, actor=request.user, **serializer.validated_data)
        case = self.get_queryset().get(pk=case.pk)
        return Response(CaseDetailSerializer(case, context=self.get_serializer_context()).data)

    @extend_schema(
        operation_id="cases_audit_trail",
        summary="The case's audit trail (coordinators)",
        responses={200: OpenApiResponse(AuditEventSerializer(many=True))},
    )
    @action(detail=True, methods=["get"], permission_classes=[IsCoordinator], pagination_class=None)
    @audited("view")
    def audit(self, request, pk=None):
        case = self.get_object()
        events = AuditEvent.objects.for_case(case.pk).order_by("-at", "-id")[:500]
        return Response(AuditEventSerializer(events, many=True).data)


@extend_schema_view(
    list=extend_schema(operation_id="patients_list"),
    retrieve=extend_schema(operation_id="patients_retrieve"),
    create=extend_schema(operation_id="patients_create"),
    update=extend_schema(operation_id="patients_update"),
    partial_update=extend_schema(operation_id="patients_partial_update"),
)
class PatientViewSet(VisibleModelViewSet):
    """Patients (coordinators only)."""

    queryset = Patient.objects.all()
    serializer_class = PatientSerializer
    permission_classes = [IsCoordinator]
    filterset_class = PatientFilter
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def create_service(self, data):
        return services.patient_create(actor=self.request.user, data=data)

    def update_service(self, instance, data):
        return services.patient_update(patient=instance, actor=self.request.user, data=data)


@extend_schema_view(
    list=extend_schema(operation_id="contacts_list"),
    retrieve=extend_schema(operation_id="contacts_retrieve"),
    create=extend_schema(operation_id="contacts_create"),
    update=extend_schema(operation_id="contacts_update"),
    partial_update=extend_schema(operation_id="contacts_partial_update"),
    destroy=extend_schema(operation_id="contacts_destroy"),
)
class ContactViewSet(VisibleModelViewSet):
    """Family contacts (coordinators only)."""

    queryset = FamilyContact.objects.select_related("patient")
    serializer_class = ContactSerializer
    permission_classes = [IsCoordinator]
    filterset_class = ContactFilter

    def create_service(self, data):
        return services.contact_create(actor=self.request.user, data=data)

    def update_service(self, instance, data):
        return services.contact_update(contact=instance, actor=self.request.user, data=data)

    def destroy_service(self, instance):
        services.contact_delete(contact=instance, actor=self.request.user)
