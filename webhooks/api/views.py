"""The webhooks API: a centre registers, changes and removes the endpoints it is told at.

Authenticated like the rest of the hospital API (a centre's API key, or its staff's session or
token); a centre sees only its own endpoints (404 for another's)."""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from accounts.models import User
from hospitals.api.views import AUTHENTICATION, ERRORS
from hospitals.models import Hospital
from navigator.api import IsHospitalStaff, VisibleReadOnlyViewSet
from navigator.errors import DomainError

from ..models import WebhookEndpoint
from ..services import webhook_endpoint_create, webhook_endpoint_delete, webhook_endpoint_update
from .serializers import WebhookEndpointCreatedSerializer, WebhookEndpointSerializer


@extend_schema_view(
    list=extend_schema(summary="My centre's webhook endpoints"),
    retrieve=extend_schema(summary="One webhook endpoint"),
    create=extend_schema(
        summary="Register an HTTPS endpoint (the signing secret is returned once)",
        responses={201: WebhookEndpointCreatedSerializer, **ERRORS},
    ),
    destroy=extend_schema(summary="Remove an endpoint"),
    partial_update=extend_schema(summary="Change an endpoint (URL, events, active)"),
    update=extend_schema(summary="Change an endpoint"),
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

    service_audited_actions = frozenset({"create", "update", "partial_update", "destroy"})

    def create(self, request, *args, **kwargs):
        data = WebhookEndpointSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.perform_create(data)
        return Response(WebhookEndpointCreatedSerializer(data.instance).data, status=status.HTTP_201_CREATED)

    def create_service(self, data):
        # IsHospitalStaff let only a centre's staff in: a signed-in user with a centre.
        user = cast(User, self.request.user)
        hospital = cast(Hospital, user.hospital)
        if WebhookEndpoint.objects.filter(hospital=hospital, url=data["url"]).exists():
            raise DomainError("This URL is already registered.", field="url", code="conflict")
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
