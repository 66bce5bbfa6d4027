"""Serializers of the eligibility API. Writes go through ``eligibility.services``."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.models import Case
from documents.models import Document
from navigator.api import ModelSerializer

from .. import rules
from ..models import (
    FACT_FIELDS,
    FACT_MODELS,
    PROFILE_FIELDS,
    Assessment,
    ClinicalProfile,
    FamilySummary,
)
from ..summary import STAFF_NOTICE


class VisiblePrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A related object the caller may see (``visible_to``); others read as "does not exist"."""

    def get_queryset(self):
        request = self.context.get("request")
        qs = super().get_queryset()
        return qs.visible_to(request.user) if request is not None else qs.none()


def fact_serializer(kind: str) -> type[serializers.ModelSerializer]:
    model = FACT_MODELS[kind]

    class Meta:
        fields = ("id", "case", *FACT_FIELDS[kind], "source_document", "created_at")
        read_only_fields = ("id", "created_at")

    Meta.model = model
    attrs = {
        "Meta": Meta,
        "case": VisiblePrimaryKeyField(
            queryset=Case.objects.all(), source="profile.case", help_text="The case this fact belongs to."
        ),
        "source_document": VisiblePrimaryKeyField(
            queryset=Document.objects.all(), required=False, allow_null=True, help_text="The record that proves it."
        ),
    }
    name = "".join(part.capitalize() for part in kind.split("_")) + "FactSerializer"
    return type(name, (serializers.ModelSerializer,), attrs)


FACT_SERIALIZERS = {kind: fact_serializer(kind) for kind in FACT_MODELS}


class ClinicalProfileSerializer(ModelSerializer):
    case = serializers.PrimaryKeyRelatedField(read_only=True)
    diagnosis_source = VisiblePrimaryKeyField(queryset=Document.objects.all(), required=False, allow_null=True)
    primary_refractory_source = VisiblePrimaryKeyField(queryset=Document.objects.all(), required=False, allow_null=True)
    philadelphia_source = VisiblePrimaryKeyField(queryset=Document.objects.all(), required=False, allow_null=True)
    cd19_results = FACT_SERIALIZERS["cd19_results"](many=True, read_only=True, source="cd19result_set")
    relapses = FACT_SERIALIZERS["relapses"](many=True, read_only=True, source="relapse_set")
    therapy_lines = FACT_SERIALIZERS["therapy_lines"](many=True, read_only=True, source="therapyline_set")
    transplants = FACT_SERIALIZERS["transplants"](many=True, read_only=True, source="transplant_set")
    cns_assessments = FACT_SERIALIZERS["cns_assessments"](many=True, read_only=True, source="cnsassessment_set")
    fitness = FACT_SERIALIZERS["fitness"](many=True, read_only=True, source="fitnessassessment_set")
    organ_function = FACT_SERIALIZERS["organ_function"](many=True, read_only=True, source="organfunctionresult_set")
    infections = FACT_SERIALIZERS["infections"](many=True, read_only=True, source="infection_set")
    marrow = FACT_SERIALIZERS["marrow"](many=True, read_only=True, source="marrowassessment_set")
    body_measurements = FACT_SERIALIZERS["body_measurements"](many=True, read_only=True, source="bodymeasurement_set")
    serology = FACT_SERIALIZERS["serology"](many=True, read_only=True, source="serologyresult_set")
    lymphocyte_counts = FACT_SERIALIZERS["lymphocyte_counts"](many=True, read_only=True, source="lymphocytecount_set")

    class Meta:
        model = ClinicalProfile
        fields = (
            "case",
            *PROFILE_FIELDS,
            "diagnosis_source",
            "primary_refractory_source",
            "philadelphia_source",
            "cd19_results",
            "relapses",
            "therapy_lines",
            "transplants",
            "cns_assessments",
            "fitness",
            "organ_function",
            "infections",
            "marrow",
            "body_measurements",
            "serology",
            "lymphocyte_counts",
            "updated_at",
        )
        read_only_fields = ("updated_at",)
        extra_kwargs = {"reported_prior_lines": {"min_value": None}}


class CriterionSerializer(serializers.Serializer):
    criterion = serializers.ChoiceField(choices=rules.CRITERIA)
    outcome = serializers.ChoiceField(choices=rules.OUTCOMES)
    explanation = serializers.CharField()
    override = serializers.DictField(allow_null=True, help_text="{from, reason, by} when a coordinator overrode it.")
    code = serializers.CharField(required=False, help_text="What decided it (the wording reads this).")
    kind = serializers.ChoiceField(
        choices=["", "permanent", "can_change", "review", "missing"],
        required=False,
        help_text="Whether a blocker is permanent or can change, or needs review or information.",
    )
    meaning = serializers.CharField(required=False, help_text="What it means and what would change it.")
    facts = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="The deciding facts: kind, id, date, source_document."
    )


class NoteSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()


class AssessmentSerializer(ModelSerializer):
    criteria = serializers.SerializerMethodField()
    notes = serializers.SerializerMethodField()
    centre_name = serializers.CharField(source="centre.name_en", read_only=True, default=None)
    disclaimer = serializers.SerializerMethodField()

    class Meta:
        model = Assessment
        fields = (
            "id",
            "case",
            "centre",
            "centre_name",
            "verdict",
            "criteria",
            "notes",
            "overridden",
            "ruleset_version",
            "variation",
            "assessed_on",
            "profile_snapshot",
            "trigger",
            "run_by_label",
            "created_at",
            "disclaimer",
        )
        read_only_fields = fields

    @extend_schema_field(CriterionSerializer(many=True))
    def get_criteria(self, obj):
        from ..wording import blocker_kind, coordinator_text

        return [{**c, "kind": blocker_kind(c), "meaning": coordinator_text(c)} for c in obj.criteria]

    @extend_schema_field(NoteSerializer(many=True))
    def get_notes(self, obj):
        return obj.notes

    def get_disclaimer(self, obj) -> str:
        return STAFF_NOTICE


class AssessmentRunSerializer(serializers.Serializer):
    case = VisiblePrimaryKeyField(queryset=Case.objects.all())


class OverrideSerializer(serializers.Serializer):
    criterion = serializers.ChoiceField(choices=rules.CRITERIA)
    outcome = serializers.ChoiceField(choices=rules.OUTCOMES)
    reason = serializers.CharField(min_length=10, help_text="Why the computed outcome does not apply (kept and shown).")


class DiffRowSerializer(serializers.Serializer):
    field = serializers.CharField()
    to = serializers.JSONField()


class AssessmentDiffSerializer(serializers.Serializer):
    criteria = serializers.ListField(child=serializers.DictField())
    profile = serializers.ListField(child=serializers.DictField())
    assessment = serializers.ListField(child=serializers.DictField())


class FamilySummarySerializer(ModelSerializer):
    published_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = FamilySummary
        fields = ("id", "case", "assessment", "language", "text", "published_by", "published_at")
        read_only_fields = fields


class FamilySummaryPublishSerializer(serializers.Serializer):
    assessment = VisiblePrimaryKeyField(queryset=Assessment.objects.all())
    language = serializers.ChoiceField(choices=settings.LANGUAGES)
    text = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Edited text; empty = the generated text. The haematologist statement is always kept.",
    )


class FamilySummaryPreviewSerializer(serializers.Serializer):
    language = serializers.ChoiceField(choices=settings.LANGUAGES)
    text = serializers.CharField()
