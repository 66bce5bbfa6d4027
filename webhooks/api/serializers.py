from __future__ import annotations

from rest_framework import serializers

from navigator.api import ModelSerializer

from ..models import EVENT_TYPE_VALUES, WebhookEndpoint, validate_endpoint_url


class WebhookEndpointSerializer(ModelSerializer):
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


class WebhookTestSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=EVENT_TYPE_VALUES, help_text="The event type to send a made-up example of.")


class WebhookTestSentSerializer(serializers.Serializer):
    event_id = serializers.CharField(help_text="The `webhook-id` the delivery carries.")
    delivery_id = serializers.IntegerField()
    type = serializers.CharField()
    payload = serializers.DictField(help_text='The body as it will be sent (with `"test": true`).')


class WebhookSecretRotateSerializer(serializers.Serializer):
    grace_hours = serializers.IntegerField(
        min_value=0,
        max_value=168,
        default=24,
        help_text="How long the old secret keeps signing beside the new one (0-168 hours).",
    )


class WebhookSecretRotatedSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret, shown once.")
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="Until then every delivery carries a signature with each secret."
    )
