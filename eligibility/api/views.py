"""Eligibility API: the clinical profile and its facts, assessments, overrides, family summaries.

Visibility is the models' ``visible_to`` (applied by the base ViewSets): coordinators see
everything, hospitals the cases shared with them (their own centre's assessments and the
base ones), families only the published summary of their own case.
"""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.roles import is_coordinator, is_family
from audit.mixins import AuditedViewSetMixin, audited
from cases.models import Case
from navigator.api import (
    ERROR_STATUSES,
    ErrorSerializer,
    IsCoordinator,
    IsCoordinatorOrReadOnly,
    ServiceWritesMixin,
    VisibleModelViewSet,
    VisibleReadOnlyViewSet,
)

from .. import services
from ..models import FACT_MODELS, Assessment, ClinicalProfile, FamilySummary
from .serializers import (
    FACT_SERIALIZERS,
    AssessmentDiffSerializer,
    AssessmentRunSerializer,
    AssessmentSerializer,
    ClinicalProfileSerializer,
    FamilySummaryPreviewSerializer,
    FamilySummaryPublishSerializer,
    FamilySummarySerializer,
    OverrideSerializer,
)

ERRORS = {code: OpenApiResponse(ErrorSerializer, description=text) for code, text in ERROR_STATUSES.items()}
FACT_PREFETCH = [f"{m._meta.model_name}_set" for m in FACT_MODELS.values()]


@extend_schema_view(
    list=extend_schema(summary="List clinical profiles", responses={200: ClinicalProfileSerializer, **ERRORS}),
    retrieve=extend_schema(
        summary="A case's clinical profile with every fact and its source document",
        parameters=[OpenApiParameter("case", int, OpenApiParameter.PATH, description="The case id.")],
        responses={200: ClinicalProfileSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change top-level facts (diagnosis, refractory status, Ph, ...); re-runs the pre-screen",
        parameters=[OpenApiParameter("case", int, OpenApiParameter.PATH, description="The case id.")],
        responses={200: ClinicalProfileSerializer, **ERRORS},
    ),
)
class ClinicalProfileViewSet(
    AuditedViewSetMixin,
    ServiceWritesMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = ClinicalProfile.objects.select_related("case").prefetch_related(*FACT_PREFETCH).order_by("-id")
    serializer_class = ClinicalProfileSerializer
    permission_classes = [IsCoordinatorOrReadOnly]
    lookup_field = "case"
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "patch", "head", "options"]
    visibility = "get_queryset applies ClinicalProfile.objects.visible_to(user)"

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)

    def get_object(self):
        # A coordinator opening a case without a profile yet gets an empty one ("not known").
        if is_coordinator(self.request.user):
            case = get_object_or_404(Case.objects.all(), pk=self.kwargs["case"])
            services.profile_for(case)
        return super().get_object()

    service_audited_actions = frozenset({"partial_update"})  # profile_update records the change

    def update_service(self, instance, data):
        services.profile_update(case=instance.case, actor=self.request.user, **data)
        return self.get_queryset().get(pk=instance.pk)  # re-read: the profile and its facts as now


def fact_viewset(kind: str):
    model = FACT_MODELS[kind]
    label = model._meta.verbose_name

    @extend_schema_view(
        list=extend_schema(summary=f"List {label} facts", responses={200: FACT_SERIALIZERS[kind], **ERRORS}),
        retrieve=extend_schema(summary=f"One {label}", responses={200: FACT_SERIALIZERS[kind], **ERRORS}),
        create=extend_schema(
            summary=f"Record a {label} with its source document; re-runs the pre-screen",
            responses={201: FACT_SERIALIZERS[kind], **ERRORS},
        ),
        partial_update=extend_schema(summary=f"Correct a {label}", responses={200: FACT_SERIALIZERS[kind], **ERRORS}),
        destroy=extend_schema(summary=f"Remove a {label}", responses={204: None, **ERRORS}),
    )
    class FactViewSet(VisibleModelViewSet):
        queryset = model.objects.select_related("profile__case", "source_document").order_by("-id")
        serializer_class = FACT_SERIALIZERS[kind]
        permission_classes = [IsCoordinatorOrReadOnly]
        filterset_fields = {"profile__case": ["exact"]}
        http_method_names = ["get", "post", "patch", "delete", "head", "options"]

        # The profile services record each change themselves.
        service_audited_actions = frozenset({"create", "partial_update", "destroy"})

        def create_service(self, data):
            case = data.pop("profile")["case"]
            with transaction.atomic():
                return services.profile_record_fact(case=case, kind=kind, actor=self.request.user, **data)

        def update_service(self, instance, data):
            if "profile" in data and data.pop("profile")["case"].pk != instance.profile.case_id:
                from navigator.errors import DomainError

                raise DomainError("A fact cannot move to another case; record it there instead.", field="case")
            return services.profile_update_fact(fact=instance, actor=self.request.user, **data)

        def destroy_service(self, instance):
            services.profile_delete_fact(fact=instance, actor=self.request.user)

    FactViewSet.__name__ = f"{model.__name__}ViewSet"
    return FactViewSet


FACT_VIEWSETS = {kind: fact_viewset(kind) for kind in FACT_MODELS}


@extend_schema_view(
    list=extend_schema(
        summary="Assessments (newest first); filter by case and centre",
        responses={200: AssessmentSerializer, **ERRORS},
    ),
    retrieve=extend_schema(summary="One assessment", responses={200: AssessmentSerializer, **ERRORS}),
)
class AssessmentViewSet(VisibleReadOnlyViewSet):
    queryset = Assessment.objects.select_related("centre", "case").order_by("-id")
    serializer_class = AssessmentSerializer
    filterset_fields = {"case": ["exact"], "centre": ["exact", "isnull"], "verdict": ["exact"]}

    @extend_schema(
        summary="Run the pre-screen for a case (base rules and each target centre)",
        request=AssessmentRunSerializer,
        responses={200: AssessmentSerializer(many=True), **ERRORS},
    )
    @action(detail=False, methods=["post"], permission_classes=[IsCoordinator])
    @audited(post="change")
    def run(self, request):
        s = AssessmentRunSerializer(data=request.data, context={"request": request})
        s.is_valid(raise_exception=True)
        runs = services.assessment_run(case=s.validated_data["case"], actor=request.user)
        return Response(AssessmentSerializer(runs, many=True).data)

    @extend_schema(
        summary="Override one criterion with a reason; returns the new assessment with the verdict recomputed",
        request=OverrideSerializer,
        responses={201: AssessmentSerializer, **ERRORS, 409: OpenApiResponse(ErrorSerializer, "Not the latest.")},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsCoordinator])
    @audited(post="change")
    def override(self, request, pk=None):
        assessment = get_object_or_404(self.get_queryset(), pk=pk)
        s = OverrideSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        new = services.assessment_override(assessment=assessment, actor=request.user, **s.validated_data)
        return Response(AssessmentSerializer(new).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="What changed between this assessment and another of the same case",
        parameters=[OpenApiParameter("against", int, required=True, description="The other assessment's id.")],
        responses={200: AssessmentDiffSerializer, **ERRORS},
    )
    @action(detail=True, methods=["get"])
    @audited("view")
    def diff(self, request, pk=None):
        newer = self.get_object()
        against = request.query_params.get("against", "")
        if not against.isdigit():
            from navigator.errors import DomainError

            raise DomainError("Give the id of the assessment to compare with.", field="against")
        older = get_object_or_404(self.get_queryset().filter(case_id=newer.case_id), pk=int(against))
        self.audit_shown([newer, older])
        return Response(services.assessment_diff(older, newer))


@extend_schema_view(
    list=extend_schema(
        summary="Family summaries: families see only the published summary of their own case",
        responses={200: FamilySummarySerializer, **ERRORS},
    ),
    retrieve=extend_schema(summary="One family summary", responses={200: FamilySummarySerializer, **ERRORS}),
    create=extend_schema(
        summary="Publish the plain-language summary of a base assessment in one language",
        request=FamilySummaryPublishSerializer,
        responses={201: FamilySummarySerializer, **ERRORS},
    ),
)
class FamilySummaryViewSet(VisibleReadOnlyViewSet, mixins.CreateModelMixin):
    queryset = FamilySummary.objects.select_related("published_by", "case").order_by("-id")
    serializer_class = FamilySummarySerializer
    filterset_fields = {"case": ["exact"], "language": ["exact"]}

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action == "list" and is_family(self.request.user):
            qs = qs.published()
        return qs

    def get_permissions(self):
        if self.action in ("create", "preview"):
            return [IsCoordinator()]
        return super().get_permissions()

    service_audited_actions = frozenset({"create"})  # family_summary_publish records the publication

    def create(self, request, *args, **kwargs):
        s = FamilySummaryPublishSerializer(data=request.data, context={"request": request})
        s.is_valid(raise_exception=True)
        self.perform_create(s)
        return Response(FamilySummarySerializer(s.instance).data, status=status.HTTP_201_CREATED)

    def create_service(self, data):
        return services.family_summary_publish(actor=self.request.user, **data)

    @extend_schema(
        summary="The generated summary text of an assessment, not yet published",
        parameters=[
            OpenApiParameter("assessment", int, required=True),
            OpenApiParameter("language", str, required=True, enum=["en", "zh-hans", "ar", "ru"]),
        ],
        responses={200: FamilySummaryPreviewSerializer, **ERRORS},
    )
    @action(detail=False, methods=["get"])
    @audited("view", detail=lambda view: {"summary": view.request.query_params.get("language", "")})
    def preview(self, request):
        s = FamilySummaryPublishSerializer(data=request.query_params, context={"request": request})
        s.is_valid(raise_exception=True)
        assessment, language = s.validated_data["assessment"], s.validated_data["language"]
        self.audit_shown(assessment)
        text = services.family_summary_render(assessment=assessment, language=language)
        return Response({"language": language, "text": text})
