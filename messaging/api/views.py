"""Threads and messages. Who sees which thread is ``Thread.objects.visible_to`` (404 otherwise)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import action
from rest_framework.response import Response

from audit.mixins import audited
from hospitals.authentication import HospitalApiKeyAuthentication
from navigator.api import VisibleReadOnlyViewSet
from navigator.filters import UPDATED_SINCE, updated_since
from navigator.pagination import paginate

from ..models import Thread
from ..services import message_post
from .serializers import MessageCreateSerializer, MessageSerializer, ThreadSerializer


@extend_schema_view(
    list=extend_schema(summary="Threads I take part in"),
    retrieve=extend_schema(summary="One thread"),
)
class ThreadViewSet(VisibleReadOnlyViewSet):
    authentication_classes = [HospitalApiKeyAuthentication, SessionAuthentication, TokenAuthentication]
    serializer_class = ThreadSerializer
    queryset = Thread.objects.select_related("case", "hospital")
    filterset_fields = ["kind"]
    ordering = "-id"

    @extend_schema(
        summary="Messages of a thread",
        description="Oldest first. Poll with `updated_since` (a message's posting).",
        parameters=[UPDATED_SINCE],
        responses={200: MessageSerializer(many=True)},
        filters=False,
        methods=["GET"],
    )
    @extend_schema(
        summary="Post a message (attachments are document ids of the same case)",
        request=MessageCreateSerializer,
        responses={201: MessageSerializer},
        methods=["POST"],
    )
    @action(detail=True, methods=["get", "post"])
    @audited("view", post="change")
    def messages(self, request, pk=None):
        thread = self.get_object()
        if request.method == "GET":
            messages = updated_since(
                request, thread.messages.select_related("thread__case").prefetch_related("attachments"), "created_at"
            )
            return paginate(self, messages, MessageSerializer, ordering="id", query_parameters=("updated_since",))
        data = MessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = message_post(author=request.user, thread=thread, **data.validated_data)
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)
