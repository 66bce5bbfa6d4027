"""Shared API machinery: error format, pagination, the base ViewSet that applies
object-level visibility and audit in one place."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, permissions, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.roles import is_coordinator
from audit.mixins import AuditedViewSetMixin
from navigator.errors import DomainError


def _flatten(detail) -> tuple[str, dict]:
    """DRF's nested error detail as (summary, {field: [messages]})."""
    if isinstance(detail, dict):
        fields = {}
        for key, value in detail.items():
            if isinstance(value, (list, tuple)):
                fields[key] = [str(v) if not isinstance(v, dict) else v for v in value]
            elif isinstance(value, dict):
                fields[key] = value
            else:
                fields[key] = [str(value)]
        non_field = fields.pop("non_field_errors", None)
        summary = "; ".join(non_field) if non_field else "Some fields are invalid: " + ", ".join(fields)
        if non_field:
            fields["non_field_errors"] = non_field
        return summary, fields
    if isinstance(detail, list):
        return "; ".join(str(d) for d in detail), {}
    return str(detail), {}


def exception_handler(exc, context):
    """Every error as {"code", "detail", "fields"}: one shape for clients to handle."""
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"non_field_errors": exc.messages})
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        summary, fields = _flatten(exc.detail)
        response.data = {"code": "invalid", "detail": summary, "fields": fields}
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = {
            "code": codes if isinstance(codes, str) else "error",
            "detail": str(getattr(exc, "detail", exc)),
            "fields": {},
        }
    return response


class VisibleModelViewSet(AuditedViewSetMixin, viewsets.ModelViewSet):
    """Base ViewSet: the queryset is always narrowed by the model's ``visible_to``.

    Objects a caller may not see are simply absent, so retrieving one answers 404,
    never 403: nobody learns that another family's case exists. Reads and changes are
    audited by ``AuditedViewSetMixin``.
    """

    # Ids are numbers: "abc" or "1,2" in an id's place matches no route (a JSON 404), rather
    # than reaching a lookup that raises ValueError.
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)


class VisibleReadOnlyViewSet(AuditedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)


class IsCoordinator(permissions.BasePermission):
    message = "Only coordinators may do this."

    def has_permission(self, request, view):
        return is_coordinator(request.user)


class IsCoordinatorOrReadOnly(permissions.BasePermission):
    """Anyone signed in may read what ``visible_to`` lets them see; only coordinators write."""

    message = "Only coordinators may change this."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in permissions.SAFE_METHODS or is_coordinator(request.user)


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API."""

    code = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


ERROR_STATUSES = {
    status.HTTP_400_BAD_REQUEST: "Invalid input; `fields` names each field and the fix.",
    status.HTTP_401_UNAUTHORIZED: "Not authenticated.",
    status.HTTP_403_FORBIDDEN: "Authenticated, but this role may not perform the operation.",
    status.HTTP_404_NOT_FOUND: "No such object, or not visible to the caller.",
    status.HTTP_429_TOO_MANY_REQUESTS: "Too many requests; retry after the time in Retry-After.",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: document the error shape on every operation.

    Every operation can answer 401/403; those with a path parameter 404; those with a
    body 400. The body is always ``Error``.
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Error",
        {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "detail": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
            "required": ["code", "detail", "fields"],
        },
    )
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete", "head", "options"}:
                continue
            responses = operation.setdefault("responses", {})
            wanted = [401, 403]
            if "{" in path or any(p.get("name") == "cursor" for p in operation.get("parameters", [])):
                wanted.append(404)  # a missing object, or (DRF) a cursor that is not valid
            if method in {"post", "put", "patch"} or any(
                p.get("in") == "query" for p in operation.get("parameters", [])
            ):
                wanted.append(400)
            if method == "post":
                wanted.append(429)
            for code in wanted:
                responses.setdefault(
                    str(code), {"content": ref, "description": ERROR_STATUSES.get(code, "Too many requests.")}
                )
    return result
