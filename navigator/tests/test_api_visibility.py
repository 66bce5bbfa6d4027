"""Structural guard: every API view narrows its queryset through ``visible_to``.

Per-object authorisation lives in one place (cases/access.py, applied by the base
ViewSets in navigator/api.py). A view that builds its own queryset must say why, in a
``visibility`` attribute naming how it restricts objects, so a reviewer can check it.
"""

from django.urls import URLPattern, URLResolver, get_resolver

from navigator.api import VisibleModelViewSet, VisibleReadOnlyViewSet


def _api_views(patterns=None, prefix=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            view = pattern.callback
            cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
            if cls is not None and getattr(cls, "__name__", "") != "APIRootView":
                yield route, cls


def test_every_api_view_applies_the_access_rule():
    offenders = []
    for route, cls in _api_views():
        if issubclass(cls, (VisibleModelViewSet, VisibleReadOnlyViewSet)):
            continue
        if getattr(cls, "visibility", ""):
            continue
        offenders.append(f"{route} -> {cls.__module__}.{cls.__name__}")
    assert not offenders, "Views that do not apply visible_to:\n" + "\n".join(sorted(set(offenders)))
