"""Shared API machinery: error format, pagination, the base ViewSet that applies
object-level visibility and audit in one place."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.http import Http404
from django.urls import reverse
from django.utils.translation import get_language
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, permissions, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.roles import is_coordinator, is_family, is_hospital
from audit.mixins import AuditedViewSetMixin
from navigator.errors import DomainError


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false`` and nothing else: a JSON boolean, or the word in a form or multipart body.

    DRF's own field also takes "yes", "on", "1", 1 and their opposites; an integrator who sends
    ``"is_active": "no"`` should hear that it is not a boolean rather than have it read as one."""

    TRUE_VALUES = {True, "true"}
    FALSE_VALUES = {False, "false"}
    default_error_messages = {"invalid": "Give true or false (a JSON boolean), not {input!r}."}

    def to_internal_value(self, data):
        # ``1 == True`` in Python: refuse numbers before the set lookup would accept them.
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            self.fail("invalid", input=data)
        return super().to_internal_value(data)


class ModelSerializer(serializers.ModelSerializer):
    """The project's ModelSerializer: model booleans become ``StrictBooleanField``."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.BooleanField: StrictBooleanField,
    }


class ChoiceLabelField(serializers.CharField):
    """The label of a choice in the active language, read only: ``get_FOO_display()`` without
    building the choices' dictionary again for every row (on a list of 50 referrals that took
    longer than the rest of each row). Labels are worked out once per serializer and language."""

    def __init__(self, choices, **kwargs):
        self._choices = choices
        self._labels: dict[str | None, dict] = {}
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        language = get_language()
        labels = self._labels.get(language)
        if labels is None:
            labels = self._labels[language] = {key: str(label) for key, label in self._choices}
        return labels.get(value, str(value))


class Links:
    """Absolute URLs of many rows' routes, reversed once per route and request.

    Reversing a route and making it absolute takes some 30 µs; a list of 50 referrals names
    eight routes per row. A route is reversed once with stand-in numbers for its integer
    arguments, and each row's URL is that template with the row's numbers put in.
    """

    # Stand-ins no real id reaches, one per integer argument, none a part of another.
    _STAND_IN = 987_654_321_000

    def __init__(self, request=None):
        self.request = request
        self._templates: dict[tuple, tuple[list[str], list[str]]] = {}

    @classmethod
    def of(cls, context: dict) -> Links:
        """The serializer context's Links (one per request: a list's rows share its context)."""
        links = context.get("_links")
        if links is None:
            links = context["_links"] = cls(context.get("request"))
        return links

    def url(self, name: str, **kwargs) -> str:
        numbers = sorted(key for key, value in kwargs.items() if isinstance(value, int))
        key = (name, *sorted((k, v) for k, v in kwargs.items() if k not in numbers), *numbers)
        template = self._templates.get(key)
        if template is None:
            stand_ins = {k: self._STAND_IN + i for i, k in enumerate(numbers)}
            path = reverse(name, kwargs={**kwargs, **stand_ins})
            url = self.request.build_absolute_uri(path) if self.request is not None else path
            places = {k: url.find(str(stand_in)) for k, stand_in in stand_ins.items()}
            if min(places.values(), default=0) < 0:
                raise ValueError(f"{name}: an integer argument does not appear in its URL once")
            parts, order, start = [], sorted(places, key=places.get), 0
            for k in order:
                parts.append(url[start : places[k]])
                start = places[k] + len(str(stand_ins[k]))
            parts.append(url[start:])
            template = self._templates[key] = (parts, order)
        parts, order = template
        out = [parts[0]]
        for k, part in zip(order, parts[1:], strict=True):
            out.append(str(kwargs[k]))
            out.append(part)
        return "".join(out)


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


class ServiceWritesMixin:
    """Every write a ViewSet offers goes through a service: serializers validate, services write.

    DRF's ``perform_create`` / ``perform_update`` / ``perform_destroy`` would call
    ``serializer.save()``; here they hand the validated data to the ViewSet's
    ``create_service(data)``, ``update_service(instance, data)`` and ``destroy_service(instance)``,
    each a thin call of a keyword-only ``<entity>_<verb>`` service. ``AuditedViewSetMixin`` (before
    this class in the MRO) records the change after the service ran, except for the actions named
    in ``service_audited_actions``, whose services record their own change. A ViewSet that
    offers a write without declaring its service answers 405, and the guard test
    (``navigator/tests/test_writes_guard.py``) fails.
    """

    def perform_create(self, serializer):
        serializer.instance = self.create_service(dict(serializer.validated_data))

    def perform_update(self, serializer):
        serializer.instance = self.update_service(serializer.instance, dict(serializer.validated_data))

    def perform_destroy(self, instance):
        self.destroy_service(instance)

    def create_service(self, data: dict):
        raise exceptions.MethodNotAllowed(self.request.method)

    def update_service(self, instance, data: dict):
        raise exceptions.MethodNotAllowed(self.request.method)

    def destroy_service(self, instance) -> None:
        raise exceptions.MethodNotAllowed(self.request.method)


class VisibleModelViewSet(AuditedViewSetMixin, ServiceWritesMixin, viewsets.ModelViewSet):
    """Base ViewSet: the queryset is always narrowed by the model's ``visible_to``.

    Objects a caller may not see are simply absent, so retrieving one answers 404,
    never 403: nobody learns that another family's case exists. Reads and changes are
    audited by ``AuditedViewSetMixin``; writes go through services (``ServiceWritesMixin``).
    """

    # Ids are numbers: "abc" or "1,2" in an id's place matches no route (a JSON 404), rather
    # than reaching a lookup that raises ValueError.
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)


class VisibleReadOnlyViewSet(AuditedViewSetMixin, ServiceWritesMixin, viewsets.ReadOnlyModelViewSet):
    """Read-only base; a subclass adding DRF's create/update/destroy mixins (after this class)
    still writes through its declared services."""

    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)


# --- Permissions: the one set every API view uses ---------------------------------------------
# Who may *act*. Which objects a caller sees is ``visible_to`` (applied by the base ViewSets);
# these classes only say which roles may call an operation at all.


def _signed_in(request) -> bool:
    return bool(request.user and request.user.is_authenticated)


class IsCoordinator(permissions.BasePermission):
    """Coordinators (and supervisors) only, reads included."""

    message = "Only coordinators may do this."

    def has_permission(self, request, view):
        return is_coordinator(request.user)


class IsCoordinatorOrReadOnly(permissions.BasePermission):
    """Anyone signed in may read what ``visible_to`` lets them see; only coordinators write."""

    message = "Only coordinators may change this."

    def has_permission(self, request, view):
        if not _signed_in(request):
            return False
        return request.method in permissions.SAFE_METHODS or is_coordinator(request.user)


class IsCoordinatorOrFamily(permissions.BasePermission):
    """Coordinators and family members (e.g. uploading a record to the family's own case)."""

    message = "Only coordinators and family members may do this."

    def has_permission(self, request, view):
        return is_coordinator(request.user) or is_family(request.user)


class IsHospitalStaff(permissions.BasePermission):
    """A centre's staff, signed in or by the centre's API key."""

    message = "Only the centre's staff or API key can do this."

    def has_permission(self, request, view):
        return is_hospital(request.user)


class IsHospitalOrCoordinator(permissions.BasePermission):
    """A centre's staff or coordinators."""

    message = "Only coordinators and the centre's staff may do this."

    def has_permission(self, request, view):
        return is_hospital(request.user) or is_coordinator(request.user)


class VisibleRelationsMixin:
    """Serializer mixin: related fields offer only rows the caller may see.

    ``visible_relations`` names related fields (single or many); each one's choices become its
    model's ``objects.visible_to(user)``, so an id the caller may not see is refused exactly like
    an id that does not exist. Read-only fields and serializers without a request are left alone.
    """

    visible_relations: tuple[str, ...] = ()

    def get_fields(self):
        fields = super().get_fields()
        user = getattr(self.context.get("request"), "user", None)
        if user is None:
            return fields
        for name in self.visible_relations:
            field = fields[name]
            if field.read_only:
                continue
            relation = getattr(field, "child_relation", field)
            relation.queryset = relation.queryset.model.objects.visible_to(user)
        return fields


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, except that only a GET is a list: an action answering a POST with
    several objects (the pre-screen's runs, proposed slots) takes no filter or page parameter
    and answers a plain array, and its schema says so."""

    def get_filter_backends(self):
        return super().get_filter_backends() if self.method == "GET" else []

    def _get_paginator(self):
        return super()._get_paginator() if self.method == "GET" else None


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
    status.HTTP_409_CONFLICT: "Well-formed, but the object's current state does not allow it "
    "(e.g. `transition_not_allowed`, or a duplicate).",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "The body's Content-Type is not one this operation reads.",
    status.HTTP_429_TOO_MANY_REQUESTS: "Too many requests; retry after the time in Retry-After.",
    status.HTTP_500_INTERNAL_SERVER_ERROR: "The server could not answer; the error was logged.",
    status.HTTP_503_SERVICE_UNAVAILABLE: "A backing service is briefly unavailable; retry after Retry-After.",
}

# For ``extend_schema(responses={409: CONFLICT})``: the body is the one error shape (added by the hook).
CONFLICT = OpenApiResponse(description=ERROR_STATUSES[status.HTTP_409_CONFLICT])

ERROR_SCHEMA = {
    "type": "object",
    "description": "The one error shape of every status: 4xx and 5xx alike.",
    "properties": {
        "code": {"type": "string", "description": "Machine-readable, e.g. `invalid`, `not_found`, `conflict`."},
        "detail": {"type": "string", "description": "What went wrong, in a sentence."},
        "fields": {
            "type": "object",
            "description": "Per input field (or query parameter), what to fix; empty when no field is at fault.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["code", "detail", "fields"],
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: document the error shape on every operation.

    Every operation can answer 401, 403, 429, 500 and 503; those with a path parameter or a
    cursor 404; those with a body 400 and 415, those with query parameters 400. Every error
    response, including those a view declares itself (409...), has the ``Error`` JSON body.
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete", "head", "options"}:
                continue
            responses = operation.setdefault("responses", {})
            wanted = [401, 403, 429, 500, 503]
            if "{" in path or any(p.get("name") == "cursor" for p in operation.get("parameters", [])):
                wanted.append(404)
            if method in {"post", "put", "patch"}:
                wanted += [400, 415]
            elif any(p.get("in") == "query" for p in operation.get("parameters", [])):
                wanted.append(400)
            for code in wanted:
                responses.setdefault(str(code), {"description": ERROR_STATUSES[code]})
            for code, response in responses.items():
                if code[0] in "45" and not response.get("content"):
                    response["content"] = ref
    return result
