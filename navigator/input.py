"""Text that no field may hold: NUL characters and lone UTF-16 surrogates.

PostgreSQL refuses NUL in text (a ``DataError`` deep inside a query) and orjson refuses to
render a lone surrogate (echoed back in an error message), so either one used to end as an
HTML 500. They are refused here, at the edge, naming the field: a JSON body through
``StrictJSONParser`` (the API's parser), a query string or a path through
``UnsafeInputMiddleware`` (API, admin and portal alike). Form bodies need no check of their
own: Django and DRF decode them as UTF-8 (no surrogate survives) and every CharField, form or
serializer, refuses NUL with ``ProhibitNullCharactersValidator``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

_UNSAFE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "Remove the NUL character or the unpaired UTF-16 surrogate from this text."


def is_unsafe(text: str) -> bool:
    return _UNSAFE.search(text) is not None


def unsafe_fields(value: Any, path: str = "") -> Iterator[str]:
    """Dotted paths (``legs.0.flight``) of every string in ``value`` that holds unsafe text;
    a key that is itself unsafe is named by its parent path."""
    if isinstance(value, str):
        if is_unsafe(value):
            yield path or "non_field_errors"
    elif isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            if is_unsafe(key_text):
                yield path or "non_field_errors"
                continue
            yield from unsafe_fields(item, f"{path}.{key_text}" if path else key_text)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unsafe_fields(item, f"{path}.{index}" if path else str(index))


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, refusing unsafe text with a 400 that names each field."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        bad = sorted(set(unsafe_fields(data)))
        if bad:
            raise exceptions.ValidationError({field: [MESSAGE] for field in bad})
        return data


class UnsafeInputMiddleware:
    """A query parameter or path segment with a NUL (``%00``) answers 400, naming it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        bad = [key for key, values in request.GET.lists() if is_unsafe(key) or any(map(is_unsafe, values))]
        if is_unsafe(request.path):
            bad.append("path")
        if not bad:
            return self.get_response(request)
        body = {
            "code": "invalid",
            "detail": "Some fields are invalid: " + ", ".join(bad),
            "fields": {name if not is_unsafe(name) else "query": [MESSAGE] for name in bad},
        }
        if request.path.startswith("/api/"):
            return JsonResponse(body, status=400)
        return HttpResponse(body["detail"] + ". " + MESSAGE, status=400, content_type="text/plain; charset=utf-8")
