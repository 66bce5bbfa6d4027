from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.roles import is_coordinator
from audit.mixins import audited
from cases.models import Case
from navigator.api import ErrorSerializer, IsCoordinatorOrFamily, IsCoordinatorOrReadOnly, VisibleModelViewSet
from navigator.filters import query_boolean, query_integer
from navigator.input import StrictJSONParser

from .. import selectors, services
from ..models import Document, DocumentRequest
from ..storage import document_response
from .filters import DocumentFilter, DocumentRequestFilter
from .serializers import (
    AcceptSerializer,
    BetterCopySerializer,
    CancelSerializer,
    ChecklistItemSerializer,
    DocumentRequestSerializer,
    DocumentSerializer,
    DocumentUpdateSerializer,
    DocumentUploadSerializer,
    RejectSerializer,
)

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input; `fields` names each field and the fix."),
    403: OpenApiResponse(ErrorSerializer, description="This role may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such document, or not visible to the caller."),
}


@extend_schema_view(
    list=extend_schema(operation_id="documents_list", summary="List the documents the caller may see"),
    retrieve=extend_schema(operation_id="documents_retrieve", summary="Read one document's description"),
    partial_update=extend_schema(
        operation_id="documents_partial_update",
        summary="Correct type, date, language, title, packet flag or notes",
        request=DocumentUpdateSerializer,
        responses={200: DocumentSerializer, **ERRORS},
    ),
)
class DocumentViewSet(VisibleModelViewSet):
    """Medical records. Families read and upload their own case's; centres read what goes into
    packets of the cases shared with them; coordinators everything, and they review."""

    queryset = Document.objects.select_related("case", "uploaded_by", "superseded_by")
    serializer_class = DocumentSerializer
    filterset_class = DocumentFilter
    permission_classes = [IsCoordinatorOrReadOnly]
    parser_classes = [StrictJSONParser, MultiPartParser, FormParser]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_permissions(self):
        # Families upload to their own case too; describing and reviewing stay with coordinators.
        if self.action == "create":
            return [IsCoordinatorOrFamily()]
        return super().get_permissions()

    def get_serializer_class(self):
        if self.action == "partial_update":
            return DocumentUpdateSerializer
        return super().get_serializer_class()

    def _out(self, document, code=status.HTTP_200_OK):
        document = self.get_queryset().get(pk=document.pk) if is_coordinator(self.request.user) else document
        return Response(DocumentSerializer(document, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        operation_id="documents_upload",
        summary="Upload a document (multipart)",
        description="For files over a few hundred MB, or on poor connections, use the resumable /uploads/.",
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={
            201: DocumentSerializer,
            409: OpenApiResponse(ErrorSerializer, description="The same file is already in this case."),
            **ERRORS,
        },
    )
    def create(self, request, *args, **kwargs):
        serializer = DocumentUploadSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        try:
            self.perform_create(serializer)
        finally:
            serializer.validated_data["file"].close()
        return Response(DocumentSerializer(serializer.instance, context=self.get_serializer_context()).data, status=201)

    # document_create and document_update record the change themselves (with the file's hash,
    # the fields changed).
    service_audited_actions = frozenset({"create", "partial_update"})

    def create_service(self, data):
        upload = data["file"]
        return services.document_create(
            case=data["case"],
            file=upload,
            filename=data.get("filename") or upload.name,
            doc_type=data["doc_type"],
            clinical_date=data.get("clinical_date"),
            language=data.get("language", ""),
            title=data.get("title", ""),
            supersedes=data.get("supersedes"),
            translation_of=data.get("translation_of"),
            translator=data.get("translator", ""),
            request=data.get("request"),
            include_in_packets=data.get("include_in_packets", False) and is_coordinator(self.request.user),
            actor=self.request.user,
            via="api",
        )

    def update_service(self, instance, data):
        return services.document_update(document=instance, actor=self.request.user, **data)

    def update(self, request, *args, **kwargs):
        super().update(request, *args, **kwargs)
        return self._out(self.get_object())

    @extend_schema(
        operation_id="documents_download",
        summary="Download the file (audited)",
        parameters=[
            OpenApiParameter("inline", OpenApiTypes.BOOL, description="Show in the browser instead of saving.")
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: ERRORS[404]},
    )
    @action(detail=True, methods=["get"])
    @audited(lambda view: "view" if view.inline else "download", detail={"content": True})
    def download(self, request, pk=None):
        return document_response(self.get_object(), inline=self.inline)

    @property
    def inline(self) -> bool:
        """Show the content in the browser (a view) rather than save it (a download)."""
        return query_boolean(self.request, "inline")

    @extend_schema(
        operation_id="documents_checklist",
        summary="Records a centre needs for review, and their state in one case",
        parameters=[OpenApiParameter("case", int, required=True)],
        responses={200: ChecklistItemSerializer(many=True), 404: ERRORS[404]},
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    @audited("view", detail={"checklist": True})
    def checklist(self, request):
        case = get_object_or_404(Case.objects.visible_to(request.user), pk=query_integer(request, "case"))
        items = selectors.checklist_for(case)
        self.audit_shown(case)
        return Response(ChecklistItemSerializer(items, many=True).data)

    def _review(self, request, func, serializer_class=None, **extra):
        document = self.get_object()
        data = {}
        if serializer_class is not None:
            serializer = serializer_class(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        return func(document=document, actor=request.user, **data, **extra)

    @extend_schema(
        operation_id="documents_accept", request=AcceptSerializer, responses={200: DocumentSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"])
    @audited(post="change")
    def accept(self, request, pk=None):
        return self._out(self._review(request, services.document_accept, AcceptSerializer))

    @extend_schema(
        operation_id="documents_reject", request=RejectSerializer, responses={200: DocumentSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"])
    @audited(post="change")
    def reject(self, request, pk=None):
        return self._out(self._review(request, services.document_reject, RejectSerializer))

    @extend_schema(operation_id="documents_restore", request=None, responses={200: DocumentSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    @audited(post="change")
    def restore(self, request, pk=None):
        """Make a superseded version current again; the version that replaced it is superseded."""
        return self._out(self._review(request, services.document_restore))

    @extend_schema(operation_id="documents_start_review", request=None, responses={200: DocumentSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="start-review")
    @audited(post="change")
    def start_review(self, request, pk=None):
        return self._out(self._review(request, services.document_start_review))

    @extend_schema(
        operation_id="documents_mark_for_translation", request=None, responses={200: DocumentSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"], url_path="mark-for-translation")
    @audited(post="change")
    def mark_for_translation(self, request, pk=None):
        return self._out(self._review(request, services.document_mark_for_translation))

    @extend_schema(
        operation_id="documents_request_better_copy",
        request=BetterCopySerializer,
        responses={201: DocumentRequestSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="request-better-copy")
    @audited(post="change")
    def request_better_copy(self, request, pk=None):
        req = self._review(request, services.document_request_better_copy, BetterCopySerializer)
        return Response(DocumentRequestSerializer(req, context=self.get_serializer_context()).data, status=201)


@extend_schema_view(
    list=extend_schema(operation_id="document_requests_list", summary="Records requested (families: from them)"),
    retrieve=extend_schema(operation_id="document_requests_retrieve"),
    create=extend_schema(
        operation_id="document_requests_create",
        summary="Request a record from the family",
        responses={201: DocumentRequestSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        operation_id="document_requests_partial_update", responses={200: DocumentRequestSerializer, **ERRORS}
    ),
)
class DocumentRequestViewSet(VisibleModelViewSet):
    queryset = DocumentRequest.objects.select_related("case", "asked_contact", "asked_user")
    serializer_class = DocumentRequestSerializer
    filterset_class = DocumentRequestFilter
    permission_classes = [IsCoordinatorOrReadOnly]
    http_method_names = ["get", "post", "patch", "head", "options"]

    service_audited_actions = frozenset({"create", "partial_update"})

    def create_service(self, data):
        return services.document_request_create(actor=self.request.user, **data)

    def update_service(self, instance, data):
        return services.document_request_update(request=instance, actor=self.request.user, **data)

    @extend_schema(
        operation_id="document_requests_cancel",
        request=CancelSerializer,
        responses={200: DocumentRequestSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    @audited(post="change")
    def cancel(self, request, pk=None):
        req = self.get_object()
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.document_request_cancel(request=req, actor=request.user, **serializer.validated_data)
        req.refresh_from_db()
        return Response(DocumentRequestSerializer(req, context=self.get_serializer_context()).data)
