from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import AppointmentSlot, PacketVersion, Referral


class ReferralSerializer(serializers.ModelSerializer):
    case_reference = serializers.CharField(source="case.reference", read_only=True)
    hospital = serializers.CharField(source="hospital.code", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    latest_packet_version = serializers.IntegerField(read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)

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
            "response_due_at",
            "is_overdue",
            "information_requested",
            "decline_reason",
            "withdraw_reason",
            "answer_note",
            "latest_packet_version",
        ]
        read_only_fields = fields


class PacketVersionSerializer(serializers.ModelSerializer):
    documents = serializers.SerializerMethodField()
    seen = serializers.SerializerMethodField()

    class Meta:
        model = PacketVersion
        fields = ["version", "content_hash", "created_at", "compared_to", "changes", "documents", "seen"]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField())
    def get_documents(self, obj) -> int:
        return len(obj.document_ids)

    @extend_schema_field(serializers.BooleanField())
    def get_seen(self, obj) -> bool:
        return hasattr(obj, "first_view")


class AnswerSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["accept", "more_info", "decline"])
    reason = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
    items = serializers.ListField(
        child=serializers.CharField(max_length=500), required=False, default=list, max_length=50
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")

    def validate(self, attrs):
        if attrs["decision"] == "decline" and not attrs.get("reason", "").strip():
            raise serializers.ValidationError({"reason": "Give the reason for declining; the family will be told."})
        if attrs["decision"] == "more_info" and not [i for i in attrs.get("items", []) if i.strip()]:
            raise serializers.ValidationError({"items": "List what information the centre needs, one item per entry."})
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


class SlotSerializer(serializers.ModelSerializer):
    class Meta:
        model = AppointmentSlot
        fields = ["id", "kind", "starts_at", "ends_at", "location", "note", "status", "created_at", "decided_at"]
        read_only_fields = fields
