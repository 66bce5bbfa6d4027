"""Structural guard: every write the API offers goes through a service.

Serializers validate and hand over; the ViewSet's ``create_service`` / ``update_service`` /
``destroy_service`` call a keyword-only ``<entity>_<verb>`` service (``ServiceWritesMixin`` in
navigator/api.py). This fails when a ViewSet offers a write without declaring its service,
replaces the hooks that route to it, or when API code saves a serializer or a row itself.
"""

from __future__ import annotations

import types

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import mixins, serializers, viewsets

from audit.mixins import AuditedViewSetMixin
from cases.models import Case
from navigator.api import ServiceWritesMixin, VisibleModelViewSet

SERVICE_FOR = {
    "create": "create_service",
    "update": "update_service",
    "partial_update": "update_service",
    "destroy": "destroy_service",
}
HOOK_FOR = {
    "create": "perform_create",
    "update": "perform_update",
    "partial_update": "perform_update",
    "destroy": "perform_destroy",
}
QUERYSET_WRITES = {"create", "bulk_create", "get_or_create", "update_or_create", "update", "bulk_update", "delete"}
THIRD_PARTY = ("rest_framework", "django", "drf_spectacular", "django_filters", "builtins")


def _api_routes(patterns=None, prefix=""):
    """(route, class, {http method: action}) for every API endpoint."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            view = pattern.callback
            cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
            if cls is not None:
                yield route, cls, getattr(view, "actions", None) or {}


def _ours(obj) -> bool:
    return not (getattr(obj, "__module__", "") or "").startswith(THIRD_PARTY)


def _names_used(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_used(const)
    return names


def _functions(cls):
    """Every function our own classes in ``cls``'s MRO define (methods, properties, actions)."""
    for klass in cls.__mro__:
        if not _ours(klass):
            continue
        for name, value in vars(klass).items():
            func = getattr(value, "__func__", value)
            if isinstance(func, types.FunctionType):
                yield f"{klass.__name__}.{name}", func


def write_offenders(cls, actions: dict) -> list[str]:
    """What is wrong with how ``cls`` writes, for the write actions routed to it."""
    problems = []
    offered = {a for m, a in actions.items() if a in SERVICE_FOR and m in getattr(cls, "http_method_names", ())}
    for action in sorted(offered):
        if not issubclass(cls, ServiceWritesMixin):
            problems.append(f"{action}: not a ServiceWritesMixin ViewSet")
            continue
        service = SERVICE_FOR[action]
        if getattr(cls, service) is getattr(ServiceWritesMixin, service):
            problems.append(f"{action}: declares no {service}")
        hook = HOOK_FOR[action]
        # Only the audit mixin (which calls on) may come before ServiceWritesMixin's hook.
        owners = [k for k in cls.__mro__ if hook in vars(k)]
        before = owners[: owners.index(ServiceWritesMixin)] if ServiceWritesMixin in owners else owners
        if any(k is not AuditedViewSetMixin for k in before):
            problems.append(f"{action}: {hook} is replaced by {', '.join(k.__name__ for k in before)}")
    for name, func in _functions(cls):
        used = _names_used(func.__code__)
        if "save" in used:
            problems.append(f"{name} calls .save(): hand the data to a service instead")
        if "objects" in used and used & QUERYSET_WRITES:
            writes = ", ".join(sorted(used & QUERYSET_WRITES))
            problems.append(f"{name} writes through a manager ({writes}): call a service instead")
    return problems


def test_every_write_an_api_viewset_offers_goes_through_its_declared_service():
    offenders = set()
    for _route, cls, actions in _api_routes():
        offenders |= {f"{cls.__module__}.{cls.__name__}: {p}" for p in write_offenders(cls, actions)}
    assert not offenders, "API writes that bypass the services:\n" + "\n".join(sorted(offenders))


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def test_no_serializer_of_ours_writes():
    get_resolver().url_patterns  # import every API module
    offenders = sorted(
        f"{sub.__module__}.{sub.__name__}.{name}"
        for sub in set(_all_subclasses(serializers.BaseSerializer))
        if _ours(sub)
        for name in ("save", "create", "update")
        if name in vars(sub)
    )
    assert not offenders, "Serializers that write (move the write into a service):\n" + "\n".join(offenders)


# --- The guard itself catches what it is meant to catch ------------------------------------------


class _SavesThroughTheSerializer(VisibleModelViewSet):
    def perform_create(self, serializer):
        serializer.save()


class _DeclaresNoService(VisibleModelViewSet):
    pass


class _WellBehaved(VisibleModelViewSet):
    def create_service(self, data):
        return data

    def update_service(self, instance, data):
        return instance


class _DrfMixinFirst(mixins.CreateModelMixin, viewsets.GenericViewSet):
    pass


class _WritesInAnAction(VisibleModelViewSet):
    http_method_names = ["get", "head", "options"]

    def archive(self, request, pk=None):
        Case.objects.filter(pk=pk).update(summary="")


def test_the_guard_flags_a_viewset_that_saves_through_its_serializer():
    problems = write_offenders(_SavesThroughTheSerializer, {"post": "create"})
    assert any("perform_create is replaced" in p for p in problems)
    assert any("calls .save()" in p for p in problems)


def test_the_guard_flags_a_write_without_a_declared_service():
    assert write_offenders(_DeclaresNoService, {"post": "create", "delete": "destroy"}) == [
        "create: declares no create_service",
        "destroy: declares no destroy_service",
    ]


def test_the_guard_flags_a_plain_drf_write():
    assert write_offenders(_DrfMixinFirst, {"post": "create"}) == ["create: not a ServiceWritesMixin ViewSet"]


def test_the_guard_flags_a_custom_action_writing_through_a_manager():
    assert write_offenders(_WritesInAnAction, {"get": "list"}) == [
        "_WritesInAnAction.archive writes through a manager (update): call a service instead"
    ]


def test_the_guard_passes_writes_through_declared_services_and_ignores_methods_not_offered():
    assert write_offenders(_WellBehaved, {"post": "create", "patch": "partial_update", "get": "list"}) == []
    # A DELETE route the ViewSet does not allow (http_method_names) needs no service.
    _WellBehaved.http_method_names = ["get", "post", "patch", "head", "options"]
    try:
        assert write_offenders(_WellBehaved, {"delete": "destroy"}) == []
    finally:
        del _WellBehaved.http_method_names
