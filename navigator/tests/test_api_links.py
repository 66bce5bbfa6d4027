"""navigator.api.Links (a route reversed once per request, each row's numbers put in) and
ChoiceLabelField (a choice's label without rebuilding the choices for every row)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from hospitals.models import Referral
from navigator.api import ChoiceLabelField, Links


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("referral-detail", {"pk": 7}),
        ("referral-answer", {"pk": 123456}),
        ("referral-packet-render", {"pk": 42, "version": 3, "fmt": "pdf"}),
        ("referral-packet-render", {"pk": 3, "version": 42, "fmt": "fhir"}),
        ("referral-document-download", {"pk": 9, "document_id": 987654321}),
        ("document-download", {"pk": 1}),
    ],
)
def test_a_link_is_the_route_reversed_and_made_absolute(name, kwargs, settings):
    settings.ALLOWED_HOSTS = ["navigator.example"]
    request = RequestFactory().get("/api/v1/referrals/", HTTP_HOST="navigator.example")
    links = Links(request)
    expected = request.build_absolute_uri(reverse(name, kwargs=kwargs))
    assert links.url(name, **kwargs) == expected
    # The template is kept: other rows get their own numbers, not the first row's.
    other = {k: (v + 1000 if isinstance(v, int) else v) for k, v in kwargs.items()}
    assert links.url(name, **other) == request.build_absolute_uri(reverse(name, kwargs=other))
    assert links.url(name, **kwargs) == expected


def test_without_a_request_a_link_is_the_path():
    assert Links().url("referral-detail", pk=5) == reverse("referral-detail", kwargs={"pk": 5})


def test_a_text_argument_gets_a_template_of_its_own():
    links = Links()
    for fmt in ("json", "pdf", "zip", "fhir"):
        assert links.url("referral-packet-render", pk=1, version=2, fmt=fmt) == reverse(
            "referral-packet-render", kwargs={"pk": 1, "version": 2, "fmt": fmt}
        )


def test_a_serializer_context_keeps_one_links_per_request():
    context = {"request": RequestFactory().get("/")}
    assert Links.of(context) is Links.of(context)
    assert Links.of(context) is not Links.of({"request": context["request"]})


@pytest.mark.parametrize("language", ["en", "zh-hans", "ru", "ar"])
def test_a_choice_label_is_the_models_display_in_the_active_language(language):
    field = ChoiceLabelField(Referral.Status.choices)
    with translation.override(language):
        for value, _ in Referral.Status.choices:
            assert field.to_representation(value) == Referral(status=value).get_status_display()
    # A value outside the choices is shown as it is, as get_FOO_display() does.
    assert field.to_representation("archived") == Referral(status="archived").get_status_display()
