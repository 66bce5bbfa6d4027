"""The hospital API: a centre's referrals, packets in every format, documents, answers, slots.

Every queryset is narrowed by ``visible_to`` (hospital A never learns of hospital B's
referrals: 404), every read of medical data is audited.
"""

from __future__ import annotations

import datetime as dt
import json

from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import JSONObject
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.roles import is_hospital
from audit.mixins import AuditedViewSetMixin, audited
from cases.models import Case
from messaging.api.serializers import MessageCreateSerializer, MessageSerializer
from messaging.models import Thread
from messaging.services import message_post, thread_get_or_create
from navigator.api import (
    CONFLICT,
    ERROR_STATUSES,
    IsHospitalOrCoordinator,
    IsHospitalStaff,
    VisibleReadOnlyViewSet,
)
from navigator.filters import UPDATED_SINCE, updated_since
from navigator.pagination import paginate

from ..authentication import HospitalApiKeyAuthentication
from ..models import ApiCredential, Hospital, PacketVersion, Referral
from ..packets.render import packet_fhir, packet_json, packet_pdf, packet_zip
from ..services import referrals as referral_services
from ..services.credentials import credential_rotate_own
from ..services.packets import packet_mark_seen
from . import docs
from .serializers import (
    AnswerSerializer,
    ApiKeyRotatedSerializer,
    ApiKeyRotateSerializer,
    ApiKeySerializer,
    PacketVersionSerializer,
    ReferralSerializer,
    SlotProposalSerializer,
    SlotSerializer,
)

AUTHENTICATION = [HospitalApiKeyAuthentication, SessionAuthentication, TokenAuthentication]
ERRORS = {code: OpenApiResponse(description=ERROR_STATUSES[code]) for code in (400, 401, 403, 404, 429)}


# The latest packet's facts a centre triages by (see TriageSerializer), in the list's one query.
TRIAGE = Subquery(
    PacketVersion.objects.filter(referral=OuterRef("pk"))
    .order_by("-version")
    .values(
        t=JSONObject(
            summary=F("snapshot__summary"),
            age_years=F("snapshot__patient__age_years"),
            sex=F("snapshot__patient__sex"),
            country_of_residence=F("snapshot__patient__country_of_residence"),
            eligibility_verdict=F("snapshot__eligibility__verdict"),
            packet_version=F("version"),
        )
    )[:1]
)

# The latest packet's version, from the packets' (referral, version) index. A MAX over a join
# did the same but grouped the page by every column it reads.
LATEST_PACKET_VERSION = Subquery(
    PacketVersion.objects.filter(referral=OuterRef("pk")).order_by("-version").values("version")[:1]
)


def _unlisted() -> list[str]:
    case = [f"case__{f.attname}" for f in Case._meta.concrete_fields if f.attname not in ("id", "reference")]
    centre = [f"hospital__{f.attname}" for f in Hospital._meta.concrete_fields if f.attname not in ("id", "code")]
    return case + centre


_UNLISTED = _unlisted()


@extend_schema_view(
    list=extend_schema(
        summary="My centre's referrals",
        description=(
            "Referrals shared with the caller's centre, newest first, each with a triage summary "
            "from its latest packet and links to everything about it. Poll with `updated_since`: "
            "a referral is updated by any change a centre can see (status, deadline, answer, new packet)."
        ),
        parameters=[UPDATED_SINCE],
        responses={200: ReferralSerializer, **ERRORS},
    ),
    retrieve=extend_schema(summary="One referral", responses={200: ReferralSerializer, **ERRORS}),
)
class ReferralViewSet(VisibleReadOnlyViewSet):
    """Referrals shared with the caller's centre (coordinators see all)."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsHospitalOrCoordinator]
    serializer_class = ReferralSerializer
    queryset = Referral.objects.select_related("case", "hospital").annotate(
        latest_packet_version=LATEST_PACKET_VERSION, triage=TRIAGE
    )
    filterset_fields = ["status"]
    list_query_parameters = ("updated_since",)  # applied in filter_queryset
    ordering = "-created_at"

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.action == "list":
            queryset = updated_since(self.request, queryset, "updated_at")
            # A row names its case and centre by reference and code: their other columns (a
            # case's summary among them) are not read for a page.
            queryset = queryset.defer(*_UNLISTED)
        return queryset

    def _referral(self) -> Referral:
        # The lookup goes through visible_to: another centre's referral is a 404. The referral
        # is what an action's audit event names unless the action names what it showed.
        referral = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        self._audit_subject = referral
        return referral

    def _answer(self, referral: Referral) -> Response:
        return Response(ReferralSerializer(self._reload(referral), context=self.get_serializer_context()).data)

    # --- the centre's answers ---------------------------------------------------------------

    @extend_schema(
        summary="Acknowledge receipt",
        description=docs.ACKNOWLEDGE,
        request=None,
        responses={200: ReferralSerializer, 409: CONFLICT, **ERRORS},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsHospitalStaff])
    @audited(post="change")
    def acknowledge(self, request, pk=None):
        referral = referral_services.referral_acknowledge(referral=self._referral(), actor=request.user)
        return self._answer(referral)

    @extend_schema(
        summary="Start the medical review",
        description=docs.START_REVIEW,
        request=None,
        responses={200: ReferralSerializer, 409: CONFLICT, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="start-review", permission_classes=[IsHospitalStaff])
    @audited(post="change")
    def start_review(self, request, pk=None):
        referral = referral_services.referral_start_review(referral=self._referral(), actor=request.user)
        return self._answer(referral)

    @extend_schema(
        summary="Answer: accept for screening, ask for more information, or decline",
        description=docs.ANSWER,
        request=AnswerSerializer,
        responses={200: ReferralSerializer, 409: CONFLICT, **ERRORS},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsHospitalStaff])
    @audited(post="change")
    def answer(self, request, pk=None):
        referral = self._referral()
        data = AnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        referral_services.referral_answer(referral=referral, actor=request.user, **data.validated_data)
        return self._answer(referral)

    @extend_schema(
        summary="Propose appointment slots (tele-consultation or admission)",
        description=docs.SLOTS_POST,
        request=SlotProposalSerializer,
        responses={201: SlotSerializer(many=True), 409: CONFLICT, **ERRORS},
        methods=["POST"],
    )
    @extend_schema(
        summary="Slots proposed for this referral",
        description="Oldest first. Poll with `updated_since` (a slot is updated when proposed and when decided).",
        parameters=[UPDATED_SINCE],
        responses={200: SlotSerializer(many=True)},
        filters=False,
        methods=["GET"],
    )
    @action(detail=True, methods=["get", "post"])
    @audited("list", post="change")
    def slots(self, request, pk=None):
        referral = self._referral()
        if request.method == "GET":
            slots = updated_since(request, referral.slots.select_related("referral__case"), "created_at", "decided_at")
            return paginate(self, slots, SlotSerializer, ordering="id", query_parameters=("updated_since",))
        if not is_hospital(request.user):
            self.permission_denied(request, message=IsHospitalStaff.message)
        data = SlotProposalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = referral_services.slots_propose(referral=referral, actor=request.user, **data.validated_data)
        return Response(SlotSerializer(created, many=True).data, status=status.HTTP_201_CREATED)

    # --- packets ----------------------------------------------------------------------------

    @extend_schema(
        summary="Packet versions sent to the centre",
        description="Newest first, each with its download links. Poll with `updated_since` (a version's creation).",
        parameters=[UPDATED_SINCE],
        responses={200: PacketVersionSerializer(many=True)},
        filters=False,
    )
    @action(detail=True, methods=["get"])
    @audited("list", detail={"packets": True})
    def packets(self, request, pk=None):
        referral = self._referral()
        packets = updated_since(request, referral.packets.select_related("first_view"), "created_at")
        return paginate(
            self, packets, PacketVersionSerializer, ordering="-version", query_parameters=("updated_since",)
        )

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
        description="Oldest first. Poll with `updated_since` (a message's posting).",
        parameters=[UPDATED_SINCE],
        responses={200: MessageSerializer(many=True)},
        filters=False,
        methods=["GET"],
    )
    @extend_schema(
        summary="Post a message to the coordinator",
        request=MessageCreateSerializer,
        methods=["POST"],
        responses={201: MessageSerializer, **ERRORS},
    )
    @action(detail=True, methods=["get", "post"])
    @audited("list", post="change")
    def messages(self, request, pk=None):
        referral = self._referral()
        thread = thread_get_or_create(case=referral.case, kind=Thread.Kind.HOSPITAL, hospital=referral.hospital)
        if request.method == "GET":
            messages = updated_since(
                request,
                thread.messages.select_related("thread__case").prefetch_related("attachments"),
                "created_at",
            )
            return paginate(self, messages, MessageSerializer, ordering="id", query_parameters=("updated_since",))
        data = MessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = message_post(author=request.user, thread=thread, **data.validated_data)
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    def _reload(self, referral):
        return self.get_queryset().get(pk=referral.pk)


def _not_found():
    from rest_framework.exceptions import NotFound

    raise NotFound()


@extend_schema_view(
    list=extend_schema(
        summary="My centre's API keys",
        description="Every key issued to the caller's centre (never the secret): when each was made, "
        "when it expires, whether it was revoked, and which one this request used (`current`).",
        responses={200: ApiKeySerializer, **ERRORS},
    ),
)
class ApiKeyViewSet(AuditedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """A centre's own API keys (listed, never a secret), and rotating the one it calls with."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsHospitalStaff]
    serializer_class = ApiKeySerializer
    queryset = ApiCredential.objects.select_related("rotated_from")
    visibility = "get_queryset applies ApiCredential.objects.visible_to(user): the caller's centre's keys"

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)

    @audited("none")  # key names and dates: no case data to record
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    service_audited_actions = frozenset({"rotate"})

    @extend_schema(
        summary="Rotate the API key this request is made with",
        description=(
            "Issues a new key for the same centre and account, shown once in the answer. The key "
            "used for this request keeps working for `grace_hours` (24 by default, at most 168); "
            "until then every answer to a request made with it carries `Deprecation` "
            "(RFC 9745, the time of the rotation) and `Sunset` (RFC 8594, when it stops). A key "
            "already rotated answers 409; rotate its replacement. Only a request authenticated "
            "with a key (`Authorization: Bearer nvk_…`) can rotate it."
        ),
        request=ApiKeyRotateSerializer,
        responses={201: ApiKeyRotatedSerializer, 409: CONFLICT, **ERRORS},
    )
    @action(detail=False, methods=["post"])
    @audited(post="change")
    def rotate(self, request):
        credential = request.auth
        if not isinstance(credential, ApiCredential):
            raise ValidationError({"authorization": ["Call with the API key to rotate (Authorization: Bearer nvk_…)."]})
        data = ApiKeyRotateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grace = dt.timedelta(hours=data.validated_data["grace_hours"])
        new, token = credential_rotate_own(credential=credential, actor=request.user, grace=grace)
        credential.refresh_from_db()
        body = {
            "key": token,
            "key_id": new.key_id,
            "previous_key_id": credential.key_id,
            "previous_key_expires_at": credential.expires_at,
        }
        return Response(ApiKeyRotatedSerializer(body).data, status=status.HTTP_201_CREATED)
