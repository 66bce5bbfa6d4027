from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from navigator.api import ChoiceLabelField, Links, ModelSerializer

from ..models import ApiCredential, AppointmentSlot, PacketVersion, Referral


def _absolute(context: dict, name: str, **kwargs) -> str:
    """The absolute URL of a route, from the request's templates (``navigator.api.Links``)."""
    return Links.of(context).url(name, **kwargs)


class TriageSerializer(serializers.Serializer):
    """What a centre looks at first, from the latest packet sent to it (null before one was sent)."""

    age_years = serializers.IntegerField(allow_null=True)
    sex = serializers.CharField(allow_null=True)
    country_of_residence = serializers.CharField(allow_null=True)
    lineage = serializers.CharField(allow_null=True)
    cd19_status = serializers.CharField(allow_null=True, help_text="Latest CD19 result: positive, dim, negative…")
    cd19_date = serializers.DateField(allow_null=True)
    cns_status = serializers.CharField(allow_null=True, help_text="Latest CNS status (CNS1, CNS2, CNS3).")
    ph_status = serializers.CharField(allow_null=True, help_text="Philadelphia chromosome status.")
    current_tki = serializers.CharField(allow_null=True)
    latest_mrd = serializers.DictField(allow_null=True, help_text="The latest MRD result (date, result, value).")
    prior_lines = serializers.IntegerField(allow_null=True, help_text="Prior lines of therapy.")
    prior_transplants = serializers.IntegerField(allow_null=True)
    eligibility_verdict = serializers.CharField(
        allow_null=True, help_text="Navigator's pre-screen (not a medical decision: the centre decides)."
    )
    packet_version = serializers.IntegerField(help_text="The packet version these facts come from.")

    @staticmethod
    def from_annotation(raw: dict | None) -> dict | None:
        if not raw:
            return None
        summary = raw.get("summary") or {}
        return {
            "age_years": raw.get("age_years"),
            "sex": raw.get("sex"),
            "country_of_residence": raw.get("country_of_residence"),
            **{
                key: summary.get(key)
                for key in (
                    "lineage",
                    "cd19_status",
                    "cd19_date",
                    "cns_status",
                    "ph_status",
                    "current_tki",
                    "latest_mrd",
                    "prior_lines",
                    "prior_transplants",
                )
            },
            "eligibility_verdict": raw.get("eligibility_verdict"),
            "packet_version": raw.get("packet_version"),
        }


class ReferralLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    packets = serializers.URLField()
    latest_packet = serializers.DictField(
        child=serializers.URLField(), allow_null=True, help_text="json, pdf, zip and fhir of the latest version."
    )
    messages = serializers.URLField()
    slots = serializers.URLField()
    acknowledge = serializers.URLField()
    start_review = serializers.URLField()
    answer = serializers.URLField()


class ReferralSerializer(ModelSerializer):
    case_reference = serializers.CharField(source="case.reference", read_only=True)
    hospital = serializers.CharField(source="hospital.code", read_only=True)
    status_label = ChoiceLabelField(Referral.Status.choices, source="status")
    latest_packet_version = serializers.IntegerField(read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)
    information_requested = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The centre's open request for more information (cleared by accept and decline).",
    )
    answer_note = serializers.CharField(
        read_only=True, help_text="The centre's latest note; an answer without a note leaves it."
    )
    triage = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Referral
        fields = [
            "id",
            "case_reference",
            "hospital",
            "status",
            "status_label",
            "cover_note",
            "first_sent_at",
            "sent_at",
            "acknowledged_at",
            "review_started_at",
            "answered_at",
            "closed_at",
            "updated_at",
            "response_due_at",
            "is_overdue",
            "information_requested",
            "decline_reason",
            "withdraw_reason",
            "answer_note",
            "latest_packet_version",
            "triage",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field(TriageSerializer(allow_null=True))
    def get_triage(self, obj) -> dict | None:
        return TriageSerializer.from_annotation(getattr(obj, "triage", None))

    @extend_schema_field(ReferralLinksSerializer)
    def get_links(self, obj) -> dict:
        c, pk = self.context, obj.pk
        version = getattr(obj, "latest_packet_version", None)
        latest = (
            {
                fmt: _absolute(c, "referral-packet-render", pk=pk, version=version, fmt=fmt)
                for fmt in ("json", "pdf", "zip", "fhir")
            }
            if version
            else None
        )
        return {
            "self": _absolute(c, "referral-detail", pk=pk),
            "packets": _absolute(c, "referral-packets", pk=pk),
            "latest_packet": latest,
            "messages": _absolute(c, "referral-messages", pk=pk),
            "slots": _absolute(c, "referral-slots", pk=pk),
            "acknowledge": _absolute(c, "referral-acknowledge", pk=pk),
            "start_review": _absolute(c, "referral-start-review", pk=pk),
            "answer": _absolute(c, "referral-answer", pk=pk),
        }


class DocumentLinkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField(help_text="Download (streamed, with X-Content-SHA256).")


class PacketVersionSerializer(ModelSerializer):
    documents = serializers.SerializerMethodField()
    seen = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()
    document_links = serializers.SerializerMethodField()

    class Meta:
        model = PacketVersion
        fields = [
            "version",
            "content_hash",
            "created_at",
            "compared_to",
            "changes",
            "documents",
            "seen",
            "links",
            "document_links",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField())
    def get_documents(self, obj) -> int:
        return len(obj.document_ids)

    @extend_schema_field(serializers.BooleanField())
    def get_seen(self, obj) -> bool:
        return hasattr(obj, "first_view")

    @extend_schema_field(serializers.DictField(child=serializers.URLField()))
    def get_links(self, obj) -> dict:
        return {
            fmt: _absolute(self.context, "referral-packet-render", pk=obj.referral_id, version=obj.version, fmt=fmt)
            for fmt in ("json", "pdf", "zip", "fhir")
        }

    @extend_schema_field(DocumentLinkSerializer(many=True))
    def get_document_links(self, obj) -> list[dict]:
        return [
            {
                "id": doc_id,
                "url": _absolute(self.context, "referral-document-download", pk=obj.referral_id, document_id=doc_id),
            }
            for doc_id in obj.document_ids
        ]


class AnswerSerializer(serializers.Serializer):
    """The centre's answer; which fields each decision requires is in ``docs.DECISIONS``."""

    decision = serializers.ChoiceField(
        choices=["accept", "more_info", "decline"],
        help_text="accept (for screening), more_info (with `items`) or decline (with `reason`).",
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=4000,
        default="",
        help_text="Required for `decline` (the family is told); refused with the other decisions.",
    )
    items = serializers.ListField(
        child=serializers.CharField(max_length=500),
        required=False,
        default=list,
        max_length=50,
        help_text="Required for `more_info`: what the centre needs, one entry each; refused with the others.",
    )
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=4000,
        default="",
        help_text="Optional with every decision: a comment for the coordinator.",
    )

    def validate(self, attrs):
        decision = attrs["decision"]
        reason = attrs.get("reason", "").strip()
        items = [i for i in attrs.get("items", []) if i.strip()]
        errors = {}
        if decision == "decline" and not reason:
            errors["reason"] = "Give the reason for declining; the family will be told."
        if decision != "decline" and reason:
            errors["reason"] = "Only a decline takes a reason; put a comment in `note`."
        if decision == "more_info" and not items:
            errors["items"] = "List what information the centre needs, one item per entry."
        if decision != "more_info" and attrs.get("items"):
            errors["items"] = "Only a request for more information (`more_info`) takes items."
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class SlotInputSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    location = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    def validate(self, attrs):
        if attrs["starts_at"] <= timezone.now():
            raise serializers.ValidationError({"starts_at": "The slot must start in the future."})
        if attrs.get("ends_at") and attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": "The end must come after the start."})
        return attrs


class SlotProposalSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AppointmentSlot.Kind.choices)
    slots = SlotInputSerializer(many=True, allow_empty=False, max_length=20)


class SlotSerializer(ModelSerializer):
    class Meta:
        model = AppointmentSlot
        fields = ["id", "kind", "starts_at", "ends_at", "location", "note", "status", "created_at", "decided_at"]
        read_only_fields = fields


class ApiKeySerializer(ModelSerializer):
    state = serializers.CharField(read_only=True, help_text="active, expired or revoked.")
    rotated_from = serializers.CharField(source="rotated_from.key_id", read_only=True, allow_null=True, default=None)
    current = serializers.SerializerMethodField(help_text="True for the key this request was made with.")

    class Meta:
        model = ApiCredential
        fields = [
            "key_id",
            "label",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "state",
            "rotated_from",
            "current",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_current(self, obj) -> bool:
        request = self.context.get("request")
        return getattr(getattr(request, "auth", None), "pk", None) == obj.pk


class ApiKeyRotateSerializer(serializers.Serializer):
    grace_hours = serializers.IntegerField(
        min_value=0,
        max_value=168,
        default=24,
        help_text="How long the old key keeps working (0-168 hours); its answers carry Deprecation and Sunset.",
    )


class ApiKeyRotatedSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The new key, shown once: store it now.")
    key_id = serializers.CharField()
    previous_key_id = serializers.CharField()
    previous_key_expires_at = serializers.DateTimeField(help_text="When the old key stops working (its Sunset).")
