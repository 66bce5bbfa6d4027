"""The webhooks API: a centre registers, changes and removes the endpoints it is told at.

Authenticated like the rest of the hospital API (a centre's API key, or its staff's session or
token); a centre sees only its own endpoints (404 for another's)."""

from __future__ import annotations

import datetime as dt
from typing import cast

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import User
from audit.mixins import audited
from hospitals.api.views import AUTHENTICATION, ERRORS
from hospitals.models import Hospital
from navigator.api import CONFLICT, IsHospitalStaff, VisibleReadOnlyViewSet

from ..models import WebhookEndpoint
from ..services import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_secret_rotate,
    webhook_send_test,
)
from .serializers import (
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
    WebhookSecretRotatedSerializer,
    WebhookSecretRotateSerializer,
    WebhookTestSentSerializer,
    WebhookTestSerializer,
)


@extend_schema_view(
    list=extend_schema(summary="My centre's webhook endpoints"),
    retrieve=extend_schema(summary="One webhook endpoint"),
    create=extend_schema(
        summary="Register an HTTPS endpoint (the signing secret is returned once)",
        description="A URL the centre already registered answers 409 (`conflict`, naming `url`).",
        responses={201: WebhookEndpointCreatedSerializer, 409: CONFLICT, **ERRORS},
    ),
    destroy=extend_schema(summary="Remove an endpoint"),
    partial_update=extend_schema(
        summary="Change an endpoint (URL, events, active)",
        description="Moving it to a URL another of the centre's endpoints has answers 409 (`conflict`).",
        responses={200: WebhookEndpointSerializer, 409: CONFLICT, **ERRORS},
    ),
    update=extend_schema(
        summary="Change an endpoint",
        description="Moving it to a URL another of the centre's endpoints has answers 409 (`conflict`).",
        responses={200: WebhookEndpointSerializer, 409: CONFLICT, **ERRORS},
    ),
)
class WebhookEndpointViewSet(
    VisibleReadOnlyViewSet,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
):
    """A centre registers where events are sent. The response to the creation shows the
    signing secret ("whsec_…") once."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsHospitalStaff]
    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.select_related("hospital")
    ordering = "id"

    service_audited_actions = frozenset({"create", "update", "partial_update", "destroy", "test", "rotate_secret"})

    def create(self, request, *args, **kwargs):
        data = WebhookEndpointSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.perform_create(data)
        return Response(WebhookEndpointCreatedSerializer(data.instance).data, status=status.HTTP_201_CREATED)

    def create_service(self, data):
        # IsHospitalStaff let only a centre's staff in: a signed-in user with a centre.
        user = cast(User, self.request.user)
        hospital = cast(Hospital, user.hospital)
        return webhook_endpoint_create(
            hospital=hospital,
            url=data["url"],
            actor=user,
            event_types=data.get("event_types", []),
            description=data.get("description", ""),
        )

    def update_service(self, instance, data):
        return webhook_endpoint_update(endpoint=instance, actor=self.request.user, data=data)

    def destroy_service(self, instance):
        webhook_endpoint_delete(endpoint=instance, actor=self.request.user)

    @extend_schema(
        summary="Send a test event to this endpoint",
        description=(
            "A made-up event of the chosen type, signed with the endpoint's secret and delivered "
            "(and retried) exactly like a real one, whatever types the endpoint subscribes to. "
            'Its body says `"test": true` at the top level and in `data`; it names no real '
            "referral, case or message (ids 0, case reference `NAV-TEST-00000`). Answers 202 "
            "with the `webhook-id` to look for; a disabled endpoint answers 409."
        ),
        request=WebhookTestSerializer,
        responses={202: WebhookTestSentSerializer, 409: CONFLICT, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    @audited(post="change")
    def test(self, request, pk=None):
        endpoint = self.get_object()
        data = WebhookTestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        delivery = webhook_send_test(endpoint=endpoint, actor=request.user, event_type=data.validated_data["type"])
        body = {
            "event_id": delivery.event_id,
            "delivery_id": delivery.pk,
            "type": delivery.event.type,
            "payload": delivery.event.payload,
        }
        return Response(WebhookTestSentSerializer(body).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Rotate this endpoint's signing secret",
        description=(
            "A new secret, shown once. The old one keeps signing beside it for `grace_hours` "
            "(24 by default, at most 168): meanwhile every delivery's `webhook-signature` holds one "
            "signature per secret, so a receiver verifying with either accepts it. Switch the "
            "receiver to the new secret within the grace period."
        ),
        request=WebhookSecretRotateSerializer,
        responses={200: WebhookSecretRotatedSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    @audited(post="change")
    def rotate_secret(self, request, pk=None):
        endpoint = self.get_object()
        data = WebhookSecretRotateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grace = dt.timedelta(hours=data.validated_data["grace_hours"])
        endpoint = webhook_secret_rotate(endpoint=endpoint, actor=request.user, grace=grace)
        body = {"secret": endpoint.secret, "previous_secret_expires_at": endpoint.previous_secret_expires_at}
        return Response(WebhookSecretRotatedSerializer(body).data)
