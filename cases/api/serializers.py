from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers

from accounts.models import User
from navigator.api import ModelSerializer, VisibleRelationsMixin

from .. import workflow
from ..models import Case, FamilyContact, Indication, Patient, StatusChange, age_on


class PatientSerializer(ModelSerializer):
    age = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = [
            "id",
            "given_name",
            "family_name",
            "native_name",
            "date_of_birth",
            "age",
            "sex",
            "country",
            "preferred_language",
            "time_zone",
            "home_haematologist",
            "home_centre",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def get_age(self, obj: Patient) -> int:
        return obj.age()

    def validate_date_of_birth(self, value):
        if value > timezone.localdate():
            raise serializers.ValidationError("The date of birth cannot be in the future.")
        if value.year < 1900:
            raise serializers.ValidationError("The date of birth must be after 1900.")
        return value


class ContactSerializer(VisibleRelationsMixin, ModelSerializer):
    # A caller can only attach contacts to patients it can see.
    visible_relations = ("patient",)
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())

    class Meta:
        model = FamilyContact
        fields = [
            "id",
            "patient",
            "name",
            "native_name",
            "relationship",
            "language",
            "time_zone",
            "email",
            "phone",
            "is_primary",
            "receives_reminders",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate(self, attrs):
        email = attrs.get("email", getattr(self.instance, "email", ""))
        phone = attrs.get("phone", getattr(self.instance, "phone", ""))
        if not email and not phone:
            raise serializers.ValidationError({"email": "Give an email address or a phone number."})
        if attrs.get("is_primary"):
            patient = attrs.get("patient") or self.instance.patient
            others = FamilyContact.objects.filter(patient=patient, is_primary=True)
            if self.instance is not None:
                others = others.exclude(pk=self.instance.pk)
            if others.exists():
                raise serializers.ValidationError(
                    {"is_primary": "This patient already has a primary contact; unset it first."}
                )
        return attrs


class StatusChangeSerializer(ModelSerializer):
    changed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = StatusChange
        fields = ["from_status", "to_status", "changed_by", "changed_at", "reason"]


class CaseListSerializer(ModelSerializer):
    """The caseload row: everything comes from the case row and two joined rows."""

    patient_name = serializers.CharField(source="patient.full_name", read_only=True)
    patient_native_name = serializers.CharField(source="patient.native_name", read_only=True)
    patient_age = serializers.SerializerMethodField()
    country = serializers.CharField(source="patient.country.code", read_only=True)
    coordinator = serializers.SlugRelatedField(slug_field="username", read_only=True)
    status_label = serializers.CharField(read_only=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "patient",
            "patient_name",
            "patient_native_name",
            "patient_age",
            "country",
            "status",
            "status_label",
            "priority",
            "coordinator",
            "inquiry_date",
            "last_activity_at",
            "next_due_at",
            "next_due_title",
        ]

    def get_patient_age(self, obj: Case) -> int:
        return obj.patient.age()

    # The list endpoint's fast path: the same fields, built from one .values() row.
    VALUES = (
        "id",
        "reference",
        "patient_id",
        "patient__given_name",
        "patient__family_name",
        "patient__native_name",
        "patient__date_of_birth",
        "patient__country",
        "status",
        "priority",
        "coordinator__username",
        "inquiry_date",
        "last_activity_at",
        "next_due_at",
        "next_due_title",
    )

    @classmethod
    def rows(cls, page: list[dict]) -> list[dict]:
        """A page of ``.values()`` rows in the list's form (ages on one date: today's)."""
        today = timezone.localdate()
        return [cls.row(values, today=today) for values in page]

    @staticmethod
    def row(values: dict, *, today) -> dict:
        return {
            "id": values["id"],
            "reference": values["reference"],
            "patient": values["patient_id"],
            "patient_name": f"{values['patient__given_name']} {values['patient__family_name']}",
            "patient_native_name": values["patient__native_name"],
            "patient_age": age_on(values["patient__date_of_birth"], today),
            "country": values["patient__country"],
            "status": values["status"],
            "status_label": workflow.LABELS[values["status"]],
            "priority": values["priority"],
            "coordinator": values["coordinator__username"],
            "inquiry_date": values["inquiry_date"],
            "last_activity_at": values["last_activity_at"],
            "next_due_at": values["next_due_at"],
            "next_due_title": values["next_due_title"],
        }


class CaseDetailSerializer(CaseListSerializer):
    status_history = StatusChangeSerializer(source="status_changes", many=True, read_only=True)
    target_centres = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    indication = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta(CaseListSerializer.Meta):
        fields = CaseListSerializer.Meta.fields + [
            "indication",
            "summary",
            "target_centres",
            "created_at",
            "status_history",
        ]


class CaseWriteSerializer(ModelSerializer):
    """Creating or editing a case (coordinators only). Status moves go through /transition/."""

    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    indication = serializers.SlugRelatedField(
        slug_field="code", queryset=Indication.objects.filter(is_active=True), required=False
    )
    coordinator = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(role__in=["coordinator", "supervisor"], is_active=True),
        required=False,
        allow_null=True,
    )
    target_centres = serializers.SlugRelatedField(
        slug_field="code",
        many=True,
        # The centres app is above this one: its model is reached through the field, not imported.
        queryset=Case._meta.get_field("target_centres").related_model.objects.filter(is_active=True),
        required=False,
    )

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "patient",
            "indication",
            "coordinator",
            "priority",
            "inquiry_date",
            "summary",
            "target_centres",
            "status",
        ]
        read_only_fields = ["id", "reference", "status"]

    def validate_inquiry_date(self, value):
        if value > timezone.localdate():
            raise serializers.ValidationError("The inquiry date cannot be in the future.")
        return value

    def validate(self, attrs):
        if self.instance is not None and "patient" in attrs and attrs["patient"] != self.instance.patient:
            raise serializers.ValidationError({"patient": "A case cannot be moved to another patient."})
        if self.instance is not None and "coordinator" in attrs and attrs["coordinator"] != self.instance.coordinator:
            raise serializers.ValidationError({"coordinator": "Use the assign action to change the coordinator."})
        return attrs


class TransitionSerializer(serializers.Serializer):
    to_status = serializers.ChoiceField(choices=[(s, workflow.LABELS[s]) for s in workflow.TRANSITIONS])
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class AssignSerializer(serializers.Serializer):
    coordinator = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(role__in=["coordinator", "supervisor"], is_active=True)
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
