from __future__ import annotations

from rest_framework import serializers

from cases.models import Case
from documents.models import Document
from navigator.api import ModelSerializer

from ..models import CoordinatorTask, Milestone, MRDResult, TransplantDecision, TreatmentEvent


class MilestoneSerializer(ModelSerializer):
    case_reference = serializers.CharField(source="case.reference", read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Milestone
        fields = [
            "id",
            "case",
            "case_reference",
            "key",
            "kind",
            "title",
            "due_at",
            "status",
            "is_overdue",
            "concerns_family",
            "hospital",
            "source_label",
            "completed_at",
            "escalated_at",
        ]
        read_only_fields = fields


class TreatmentEventSerializer(ModelSerializer):
    case = serializers.PrimaryKeyRelatedField(queryset=Case.objects.all())
    # hospital: the field ModelSerializer derives from the nullable foreign key (any centre, optional).

    class Meta:
        model = TreatmentEvent
        fields = ["id", "case", "kind", "occurred_on", "status", "hospital", "notes", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        # Posting the same kind again moves the event (event_record), so no uniqueness check here.
        validators = []

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and "case" in fields:
            # Only cases the caller may see can be named (others answer "does not exist").
            fields["case"].queryset = Case.objects.visible_to(request.user)
        return fields


class MoveSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    from_ = serializers.DateTimeField(source="from")
    to = serializers.DateTimeField()


class PathwayChangesSerializer(serializers.Serializer):
    created = serializers.ListField(child=serializers.CharField())
    moved = serializers.ListField(child=serializers.DictField())
    completed = serializers.ListField(child=serializers.CharField())
    cancelled = serializers.ListField(child=serializers.CharField())
    reminders = serializers.DictField(child=serializers.IntegerField())


class TreatmentEventResultSerializer(serializers.Serializer):
    event = TreatmentEventSerializer()
    changes = PathwayChangesSerializer()


class MRDResultSerializer(ModelSerializer):
    case = serializers.PrimaryKeyRelatedField(queryset=Case.objects.all())
    document = serializers.PrimaryKeyRelatedField(queryset=Document.objects.all(), required=False, allow_null=True)
    value = serializers.DecimalField(
        max_digits=12, decimal_places=10, required=False, allow_null=True, min_value=0, max_value=1
    )

    class Meta:
        model = MRDResult
        fields = [
            "id",
            "case",
            "checkpoint",
            "sample_date",
            "sample",
            "method",
            "value",
            "result",
            "complete_remission",
            "document",
            "notes",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["case"].queryset = Case.objects.visible_to(request.user)
            fields["document"].queryset = Document.objects.visible_to(request.user)
        return fields


class TransplantDecisionSerializer(ModelSerializer):
    """The MDT's transplant decision of a case (one per case; recording it again replaces it)."""

    case = serializers.PrimaryKeyRelatedField(queryset=Case.objects.all())

    class Meta:
        model = TransplantDecision
        fields = ["id", "case", "decision", "reason", "decided_on", "updated_at"]
        read_only_fields = ["id", "updated_at"]
        validators = []  # one row per case: the service updates it

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["case"].queryset = Case.objects.visible_to(request.user)
        return fields


class CoordinatorTaskSerializer(ModelSerializer):
    class Meta:
        model = CoordinatorTask
        fields = [
            "id",
            "case",
            "key",
            "title",
            "detail",
            "priority",
            "status",
            "assignee",
            "milestone",
            "mrd_result",
            "due_at",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields
