from __future__ import annotations

from rest_framework import serializers

from ..models import EVENT_TYPE_VALUES, WebhookEndpoint, validate_endpoint_url


class WebhookEndpointSerializer(serializers.ModelSerializer):
    url = serializers.URLField(max_length=500, validators=[validate_endpoint_url])
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPE_VALUES), required=False, default=list
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "event_types", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret, shown once.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
