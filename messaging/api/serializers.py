from __future__ import annotations

from rest_framework import serializers

from navigator.api import ModelSerializer, StrictBooleanField

from ..models import Message, Thread


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    doc_type = serializers.CharField()
    original_name = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()


class MessageSerializer(ModelSerializer):
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "thread",
            "side",
            "author_label",
            "body",
            "language",
            "created_at",
            "needs_translation",
            "translation_language",
            "translation_of",
            "attachments",
        ]
        read_only_fields = fields


class MessageCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)
    language = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    attachments = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)
    needs_translation = StrictBooleanField(required=False, default=False)
    translation_language = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")


class ThreadSerializer(ModelSerializer):
    case_reference = serializers.CharField(source="case.reference", read_only=True)
    hospital = serializers.CharField(source="hospital.code", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Thread
        fields = [
            "id",
            "case_reference",
            "kind",
            "hospital",
            "subject",
            "created_at",
            "last_message_at",
            "message_count",
        ]
        read_only_fields = fields
