"""A boolean in a request body is true or false: DRF's own field would also read "yes", "on", "1" or 1
as true (issue: a wrongly typed ``is_active`` was accepted). Every writable boolean of every API
serializer is the strict field, and a wrong one answers 400 naming the field."""

import importlib
import inspect
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework import serializers

from hospitals.tests.conftest import api
from navigator.api import StrictBooleanField
from webhooks.models import WebhookEndpoint

URL = "https://his.pkuph.example.cn/hooks"


def _api_serializers():
    for path in sorted(Path(settings.BASE_DIR).glob("*/api/serializers.py")):
        module = importlib.import_module(f"{path.parent.parent.name}.api.serializers")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, serializers.Serializer) and cls.__module__ == module.__name__:
                yield cls


def test_every_writable_boolean_of_the_api_is_strict():
    seen = 0
    for cls in _api_serializers():
        try:
            fields = cls(context={}).fields
        except (AssertionError, TypeError):  # a serializer that needs a queryset or arguments to be built
            continue
        for name, field in fields.items():
            if isinstance(field, serializers.BooleanField) and not field.read_only:
                seen += 1
                assert isinstance(field, StrictBooleanField), f"{cls.__name__}.{name} is a lenient BooleanField"
    assert seen >= 5  # the webhook endpoint's is_active, a document's include_in_packets, ...


@pytest.mark.parametrize("wrong", ["yes", "no", "on", "1", 1, 0, "t", None])
def test_a_wrongly_typed_is_active_is_refused_with_the_field_named(world, pkuph_key, wrong):
    client = api(token=pkuph_key)
    pk = client.post("/api/v1/webhook-endpoints/", {"url": URL}, format="json").json()["id"]
    answer = client.patch(f"/api/v1/webhook-endpoints/{pk}/", {"is_active": wrong}, format="json")
    assert answer.status_code == 400, answer.content
    assert "is_active" in answer.content.decode()
    assert WebhookEndpoint.objects.get(pk=pk).is_active is True


@pytest.mark.parametrize(("given", "stored"), [(False, False), ("false", False), (True, True)])
def test_true_and_false_are_read(world, pkuph_key, given, stored):
    client = api(token=pkuph_key)
    pk = client.post("/api/v1/webhook-endpoints/", {"url": URL}, format="json").json()["id"]
    answer = client.patch(f"/api/v1/webhook-endpoints/{pk}/", {"is_active": given}, format="json")
    assert answer.status_code == 200, answer.content
    assert WebhookEndpoint.objects.get(pk=pk).is_active is stored
