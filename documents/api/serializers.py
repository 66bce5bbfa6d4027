from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from accounts.roles import is_coordinator
from cases.models import Case, FamilyContact
from navigator.api import ChoiceLabelField, ModelSerializer, StrictBooleanField

from ..models import DocType, Document, DocumentRequest
from ..selectors import ChecklistState


class DocumentSerializer(ModelSerializer):
    """A document as listed and read. ``notes`` are the coordinators' own and shown only to them."""

    case_reference = serializers.CharField(source="case.reference", read_only=True)
    doc_type_label = ChoiceLabelField(DocType.choices, source="doc_type")
    uploaded_by = serializers.SerializerMethodField()
    superseded_by = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "case",
            "case_reference",
            "doc_type",
            "doc_type_label",
            "title",
            "clinical_date",
            "language",
            "source",
            "uploaded_by",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "review_status",
            "rejection_reason",
            "reviewed_at",
            "supersedes",
            "superseded_by",
            "translation_of",
            "translator",
            "translation_status",
            "request",
            "include_in_packets",
            "notes",
            "created_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_uploaded_by(self, obj) -> str | None:
        return obj.uploaded_by.get_username() if obj.uploaded_by_id else None

    def get_superseded_by(self, obj) -> int | None:
        successor = getattr(obj, "superseded_by", None)
        return successor.pk if successor is not None else None

    def get_download_url(self, obj) -> str:
        request = self.context.get("request")
        url = reverse("document-download", args=[obj.pk])
        return request.build_absolute_uri(url) if request else url

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if not (request and is_coordinator(request.user)):
            data["notes"] = ""  # coordinators' own notes: always empty for anyone else
        return data


class DocumentUploadSerializer(serializers.Serializer):
    """A multipart upload: the file and what it is."""

    file = serializers.FileField(allow_empty_file=True, use_url=False)
    case = serializers.PrimaryKeyRelatedField(queryset=Case.objects.none())
    doc_type = serializers.ChoiceField(choices=DocType.choices)
    clinical_date = serializers.DateField(required=False, allow_null=True)
    language = serializers.CharField(required=False, allow_blank=True, max_length=16)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    filename = serializers.CharField(
        required=False, max_length=255, help_text="The file's name, if different from the multipart part's name."
    )
    supersedes = serializers.PrimaryKeyRelatedField(queryset=Document.objects.none(), required=False, allow_null=True)
    translation_of = serializers.PrimaryKeyRelatedField(
        queryset=Document.objects.none(), required=False, allow_null=True
    )
    translator = serializers.CharField(required=False, allow_blank=True, max_length=200)
    request = serializers.PrimaryKeyRelatedField(
        queryset=DocumentRequest.objects.none(), required=False, allow_null=True
    )
    include_in_packets = StrictBooleanField(required=False, default=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is None:  # schema generation
            return
        user = request.user
        self.fields["case"].queryset = Case.objects.visible_to(user)
        self.fields["supersedes"].queryset = Document.objects.visible_to(user)
        self.fields["translation_of"].queryset = Document.objects.visible_to(user)
        self.fields["request"].queryset = DocumentRequest.objects.visible_to(user)


class DocumentUpdateSerializer(ModelSerializer):
    class Meta:
        model = Document
        fields = ["doc_type", "clinical_date", "language", "title", "include_in_packets", "notes", "translator"]


class AcceptSerializer(serializers.Serializer):
    include_in_packets = StrictBooleanField(
        required=False,
        allow_null=True,
        default=True,
        help_text="Send it to centres in case packets (default: yes; null keeps the current choice).",
    )


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why, in words the family can act on.")


class BetterCopySerializer(serializers.Serializer):
    description = serializers.CharField()
    due_date = serializers.DateField(required=False, allow_null=True)
    asked_contact = serializers.PrimaryKeyRelatedField(
        queryset=FamilyContact.objects.all(), required=False, allow_null=True
    )


class DocumentRequestSerializer(ModelSerializer):
    case = serializers.PrimaryKeyRelatedField(queryset=Case.objects.none())
    asked_contact = serializers.PrimaryKeyRelatedField(
        queryset=FamilyContact.objects.all(), required=False, allow_null=True
    )
    doc_type_label = ChoiceLabelField(DocType.choices, source="doc_type")
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = DocumentRequest
        fields = [
            "id",
            "case",
            "doc_type",
            "doc_type_label",
            "description",
            "due_date",
            "asked_contact",
            "asked_user",
            "replaces_document",
            "status",
            "is_overdue",
            "created_at",
            "closed_at",
            "closed_reason",
        ]
        read_only_fields = ["replaces_document", "status", "created_at", "closed_at", "closed_reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["case"].queryset = Case.objects.visible_to(request.user)
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            self.fields["case"].read_only = True


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class ChecklistItemSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    doc_types = serializers.ListField(child=serializers.CharField())
    required = StrictBooleanField()
    note = serializers.CharField()
    state = serializers.ChoiceField(
        choices=[
            ChecklistState.SATISFIED,
            ChecklistState.IN_REVIEW,
            ChecklistState.REQUESTED,
            ChecklistState.OVERDUE,
            ChecklistState.REJECTED,
            ChecklistState.TOO_OLD,
            ChecklistState.MISSING,
        ]
    )
    needed = StrictBooleanField(help_text="Still to be supplied: not accepted and not waiting for review.")
    accepted = serializers.IntegerField(help_text="Accepted current documents of this kind.")
    in_review = serializers.IntegerField(help_text="Files received or in review, not yet counted as accepted.")
    documents = serializers.ListField(child=serializers.IntegerField())
    request_id = serializers.IntegerField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    rejection_reason = serializers.CharField()
