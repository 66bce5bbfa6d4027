"""One JSON error shape for every status a client can meet under /api/: 400, 401, 403, 404,
405, 409, 415, 429 and 500, each ``{"code", "detail", "fields"}`` as application/json."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"code", "detail", "fields"} and isinstance(body["fields"], dict)
    assert body["code"] and body["detail"]
    return body


def test_401_403_404_405_and_415_have_the_error_shape(world):
    anonymous = APIClient()
    assert_error_shape(anonymous.get("/api/v1/referrals/"), 401)
    family = APIClient()
    family.force_authenticate(world.ivanova)
    assert_error_shape(family.get("/api/v1/referrals/"), 403)
    assert_error_shape(family.get("/api/v1/no-such-route/"), 404)
    assert_error_shape(family.get("/api/v1/referrals/abc/"), 404)
    coordinator = APIClient()
    coordinator.force_authenticate(world.alice)
    assert_error_shape(coordinator.delete("/api/v1/referrals/"), 405)
    unsupported = coordinator.patch(
        f"/api/v1/cases/{world.case_a.pk}/", data="<notes/>", content_type="application/xml"
    )
    assert_error_shape(unsupported, 415)


def test_a_bad_key_is_a_401_with_the_error_shape(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer nvk_0000000000000000_nope")
    body = assert_error_shape(client.get("/api/v1/referrals/"), 401)
    assert body["code"] == "authentication_failed"


def test_429_has_the_error_shape_and_retry_after(world, monkeypatch):
    from navigator import throttling

    monkeypatch.setattr(throttling.UserRateThrottle, "rate", "1/minute", raising=False)
    monkeypatch.setattr(throttling.UserRateThrottle, "num_requests", 1, raising=False)
    monkeypatch.setattr(throttling.UserRateThrottle, "duration", 60, raising=False)
    monkeypatch.setattr(throttling.UserRateThrottle, "get_rate", lambda self: "1/minute")
    client = APIClient()
    client.force_authenticate(world.alice)
    client.get("/api/v1/referrals/")
    response = client.get("/api/v1/referrals/")
    assert_error_shape(response, 429)
    assert int(response["Retry-After"]) > 0


def test_an_unexpected_error_is_a_json_500_without_details(world, monkeypatch):
    from hospitals.api.views import ReferralViewSet

    def explode(self, request, *args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(ReferralViewSet, "list", explode)
    client = Client(raise_request_exception=False)
    client.force_login(world.alice)
    response = client.get("/api/v1/referrals/")
    body = assert_error_shape(response, 500)
    assert "secret" not in body["detail"]


def test_a_request_django_cannot_read_is_a_json_400(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    client = Client()
    client.force_login(world.alice)
    response = client.post("/api/v1/cases/", data="x=" + "a" * 100, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (400, 403)
    assert response["Content-Type"].startswith("application/json")


def test_every_error_response_in_the_schema_is_documented_as_json():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if code[0] in "45":
                    assert "application/json" in response.get("content", {}), (method, path, code)
            assert {"401", "403", "429", "500"} <= set(operation["responses"]), (method, path)
            if method in ("post", "put", "patch"):
                assert {"400", "415"} <= set(operation["responses"]), (method, path)
