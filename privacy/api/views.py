from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from audit.mixins import AuditedViewMixin, audited
from cases.models import Case
from navigator.api import IsCoordinator

from .. import services


def export_response(*, case, actor) -> StreamingHttpResponse:
    """The export as a streamed ZIP; the API view or admin page that serves it records it,
    with ``audit_detail`` (what the archive holds)."""
    filename, stream, summary = services.case_export(case=case, actor=actor)
    response = StreamingHttpResponse(stream, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Content-Length"] = str(len(stream))
    response["Cache-Control"] = "no-store"
    response.audit_detail = summary
    return response


class CaseExportView(AuditedViewMixin, APIView):
    """Everything held about one case, for the family's request: ``data.json`` and every file, as a ZIP.

    Coordinators only; audited as an export. Streamed with bounded memory."""

    permission_classes = [IsCoordinator]
    visibility = "Case.objects.visible_to(request.user); coordinators only"

    @extend_schema(
        operation_id="case_export",
        responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The ZIP archive.")},
    )
    @audited("export")
    def get(self, request, pk: int):
        case = get_object_or_404(Case.objects.visible_to(request.user), pk=pk)
        self.audit_shown(case)
        return export_response(case=case, actor=request.user)
