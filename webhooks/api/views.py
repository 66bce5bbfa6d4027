"""The webhooks API: a centre registers, changes and removes the endpoints it is told at.

Authenticated like the rest of the hospital API (a centre's API key, or its staff's session or
token); a centre sees only its own endpoints (404 for another's)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from hospitals.api.views import AUTHENTICATION, ERRORS, IsHospitalStaff
from navigator.api import VisibleReadOnlyViewSet
from navigator.errors import DomainError

from ..models import WebhookEndpoint
from ..services import webhook_endpoint_create
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
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    VisibleReadOnlyViewSet,
):
    """A centre registers where events are sent. The response to the creation shows the
    signing secret ("whsec_…") once."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsHospitalStaff]
    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.select_related("hospital")
    ordering = "id"

    def create(self, request, *args, **kwargs):
        data = WebhookEndpointSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if WebhookEndpoint.objects.filter(
            hospital_id=request.user.hospital_id, url=data.validated_data["url"]
        ).exists():
            raise DomainError("This URL is already registered.", field="url", code="conflict")
        endpoint = webhook_endpoint_create(
            hospital=request.user.hospital,
            url=data.validated_data["url"],
            actor=request.user,
            event_types=data.validated_data.get("event_types", []),
            description=data.validated_data.get("description", ""),
        )
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)
