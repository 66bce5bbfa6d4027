"""The hospital API: a centre's referrals, packets in every format, documents, answers, slots.

Every queryset is narrowed by ``visible_to`` (hospital A never learns of hospital B's
referrals: 404), every read of medical data is audited.
"""

from __future__ import annotations

import json

from django.db.models import Max
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.roles import is_hospital
from audit.mixins import audited
from navigator.api import ERROR_STATUSES, IsHospitalOrCoordinator, IsHospitalStaff, VisibleReadOnlyViewSet

from ..authentication import HospitalApiKeyAuthentication
from ..models import PacketVersion, Referral
from ..packets.render import packet_fhir, packet_json, packet_pdf, packet_zip
from ..services import referrals as referral_services
from ..services.packets import packet_mark_seen
from .serializers import (
    AnswerSerializer,
    PacketVersionSerializer,
    ReferralSerializer,
    SlotProposalSerializer,
    SlotSerializer,
)

AUTHENTICATION = [HospitalApiKeyAuthentication, SessionAuthentication, TokenAuthentication]
ERRORS = {code: OpenApiResponse(description=text) for code, text in ERROR_STATUSES.items()}


@extend_schema_view(
    list=extend_schema(summary="My centre's referrals", responses={200: ReferralSerializer, **ERRORS}),
    retrieve=extend_schema(summary="One referral", responses={200: ReferralSerializer, **ERRORS}),
)
class ReferralViewSet(VisibleReadOnlyViewSet):
    """Referrals shared with the caller's centre (coordinators see all)."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsHospitalOrCoordinator]
    serializer_class = ReferralSerializer
    queryset = Referral.objects.select_related("case", "hospital").annotate(
        latest_packet_version=Max("packets__version")
    )
    filterset_fields = ["status"]
    ordering = "-created_at"

    def _referral(self) -> Referral:
        # The lookup goes through visible_to: another centre's referral is a 404. The referral
        # is what an action's audit event names unless the action names what it showed.
        referral = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        self._audit_subject = referral
        return referral

    # --- the centre's answers ---------------------------------------------------------------

    @extend_schema(summary="Acknowledge receipt", request=None, responses={200: ReferralSerializer, **ERRORS})
    @action(detail=True, methods=["post"], permission_classes=[IsHospitalStaff])
    @audited(post="change")
    def acknowledge(self, request, pk=None):
        referral = referral_services.referral_acknowledge(referral=self._referral(), actor=request.user)
        return Response(ReferralSerializer(self._reload(referral)).data)

    @extend_schema(summary="Start the medical review", request=None, responses={200: ReferralSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="start-review", permission_classes=[IsHospitalStaff])
    @audited(post="change")
    def start_review(self, request, pk=None):
        referral = referral_services.referral_start_review(referral=self._referral(), actor=request.user)
        return Response(ReferralSerializer(self._reload(referral)).data)

    @extend_schema(
        summary="Answer: accept for screening, ask for more information, or decline",
        request=AnswerSerializer,
        responses={200: ReferralSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsHospitalStaff])
    @audited(post="change")
    def answer(self, request, pk=None):
        referral = self._referral()
        data = AnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        referral_services.referral_answer(referral=referral, actor=request.user, **data.validated_data)
        return Response(ReferralSerializer(self._reload(referral)).data)

    @extend_schema(
        summary="Propose appointment slots (tele-consultation or admission)",
        request=SlotProposalSerializer,
        responses={201: SlotSerializer(many=True), **ERRORS},
        methods=["POST"],
    )
    @extend_schema(
        summary="Slots proposed for this referral", responses={200: SlotSerializer(many=True)}, methods=["GET"]
    )
    @action(detail=True, methods=["get", "post"])
    @audited("list", post="change")
    def slots(self, request, pk=None):
        referral = self._referral()
        if request.method == "GET":
            slots = list(referral.slots.select_related("referral__case"))
            self.audit_shown(slots)
            return Response(SlotSerializer(slots, many=True).data)
        if not is_hospital(request.user):
            self.permission_denied(request, message=IsHospitalStaff.message)
        data = SlotProposalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = referral_services.slots_propose(referral=referral, actor=request.user, **data.validated_data)
        return Response(SlotSerializer(created, many=True).data, status=status.HTTP_201_CREATED)

    # --- packets ----------------------------------------------------------------------------

    @extend_schema(summary="Packet versions sent to the centre", responses={200: PacketVersionSerializer(many=True)})
    @action(detail=True, methods=["get"])
    @audited("list", detail={"packets": True})
    def packets(self, request, pk=None):
        referral = self._referral()
        packets = referral.packets.select_related("first_view").order_by("-version")
        return Response(PacketVersionSerializer(packets, many=True).data)

    @extend_schema(
        summary="Fetch a packet version: json, pdf, zip (streamed, with a checksum manifest) or fhir",
        description=(
            "One immutable version in four renderings; each is byte-identical on every download. The JSON "
            "document (and `packet.json` in the ZIP) follows the JSON Schema at `/api/schemas/packet.schema.json`, "
            "the ZIP's `manifest.json` the one at `/api/schemas/manifest.schema.json`. `packet.content_hash` is "
            "SHA-256 over the RFC 8785 canonical form of the document without `packet` and `changes_since`; "
            "the format, the hash and how changes are counted are described in docs/packet-format.md."
        ),
        external_docs={"url": "/api/schemas/packet.schema.json", "description": "Packet JSON Schema (2020-12)"},
        parameters=[
            OpenApiParameter("version", str, OpenApiParameter.PATH, description="A version number or 'latest'."),
            OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=["json", "pdf", "zip", "fhir"]),
        ],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "application/zip"): OpenApiTypes.BINARY,
            (200, "application/fhir+json"): OpenApiTypes.OBJECT,
            **ERRORS,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"packets/(?P<version>latest|\d+)/(?P<fmt>json|pdf|zip|fhir)",
        url_name="packet-render",
    )
    @audited(
        lambda view: "download" if view.kwargs["fmt"] in ("pdf", "zip") else "view",
        detail=lambda view: {"format": view.kwargs["fmt"], "version": view.kwargs["version"]},
    )
    def packet(self, request, pk=None, version=None, fmt=None):
        referral = self._referral()
        packets = PacketVersion.objects.filter(referral=referral).select_related("referral__case", "referral__hospital")
        packet = (
            packets.order_by("-version").first() if version == "latest" else packets.filter(version=version).first()
        )
        if packet is None:
            _not_found()
        name = f"{referral.case.reference}-{referral.hospital.code}-v{packet.version}"
        self.audit_shown(packet)
        if fmt == "zip":
            stream = packet_zip(packet)  # refuses before anything is sent
            packet_mark_seen(packet=packet, user=request.user)
            response = StreamingHttpResponse(iter(stream), content_type="application/zip")
            response["Content-Length"] = str(len(stream))
            response["Content-Disposition"] = f'attachment; filename="{name}.zip"'
            return response
        packet_mark_seen(packet=packet, user=request.user)
        if fmt == "pdf":
            response = HttpResponse(packet_pdf(packet), content_type="application/pdf")
            response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
            return response
        if fmt == "fhir":
            body = json.dumps(packet_fhir(packet), ensure_ascii=False)
            return HttpResponse(body, content_type="application/fhir+json; charset=utf-8")
        return Response(packet_json(packet))

    @extend_schema(
        summary="Download a document of a packet sent to the centre",
        parameters=[OpenApiParameter("document_id", int, OpenApiParameter.PATH)],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **ERRORS},
    )
    @action(detail=True, methods=["get"], url_path=r"documents/(?P<document_id>\d+)", url_name="document-download")
    @audited("download", detail=lambda view: {"via": "hospital-api", "referral": int(view.kwargs["pk"])})
    def document(self, request, pk=None, document_id=None):
        from documents.models import Document

        referral = self._referral()
        document_id = int(document_id)
        in_packets = any(document_id in p.document_ids for p in referral.packets.only("snapshot"))
        if not in_packets:
            return _not_found()
        doc = Document.objects.filter(pk=document_id, case_id=referral.case_id).first()
        if doc is None:
            return _not_found()
        self.audit_shown(doc)
        response = FileResponse(
            doc.file.storage.open(doc.file.name, "rb"),
            content_type=doc.content_type or "application/octet-stream",
            as_attachment=True,
            filename=doc.original_name,
        )
        response["Content-Length"] = str(doc.size)
        response["X-Content-SHA256"] = doc.sha256
        return response

    # --- messages ---------------------------------------------------------------------------

    @extend_schema(
        summary="Messages with the coordinator on this referral's case",
        responses={200: OpenApiTypes.OBJECT},
        methods=["GET"],
    )
    @extend_schema(summary="Post a message to the coordinator", methods=["POST"], responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get", "post"])
    @audited("view", post="change")
    def messages(self, request, pk=None):
        from messaging.api.serializers import MessageCreateSerializer, MessageSerializer
        from messaging.models import Thread
        from messaging.services import message_post, thread_get_or_create

        referral = self._referral()
        thread = thread_get_or_create(case=referral.case, kind=Thread.Kind.HOSPITAL, hospital=referral.hospital)
        if request.method == "GET":
            messages = list(thread.messages.select_related("thread").prefetch_related("attachments"))
            self.audit_shown(messages)
            return Response(MessageSerializer(messages, many=True).data)
        data = MessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = message_post(author=request.user, thread=thread, **data.validated_data)
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    def _reload(self, referral):
        return self.get_queryset().get(pk=referral.pk)


def _not_found():
    from rest_framework.exceptions import NotFound

    raise NotFound()
