from rest_framework import serializers

from .models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "at",
            "actor_label",
            "actor_role",
            "action",
            "object_type",
            "object_id",
            "case_reference",
            "client_ip",
            "detail",
        ]
