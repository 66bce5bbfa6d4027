"""Redis down is not an outage: sessions, throttling and the portal's rate limit carry on
without the cache (with a logged warning), and a backend error nothing expected is a JSON 503
with Retry-After, never an HTML 500."""

import json
import logging

import pytest
from django.test import RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError

from navigator.middleware import RequestLogMiddleware

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: every cache call fails at once with a connection error.
DEAD_REDIS = {"default": {"BACKEND": "navigator.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}


@pytest.fixture
def redis_down(settings):
    # Changing CACHES resets Django's cache handlers (the setting_changed signal).
    settings.CACHES = DEAD_REDIS


def test_a_signed_in_coordinator_works_through_a_redis_outage(client, world, redis_down, caplog):
    caplog.set_level(logging.WARNING, logger="navigator.resilience")
    client.force_login(world.alice)
    for _ in range(3):
        response = client.get("/api/v1/cases/")
        assert response.status_code == 200, response.content
    assert client.get(f"/api/v1/cases/{world.case_a.pk}/").status_code == 200
    assert any("throttle skipped" in r.getMessage() for r in caplog.records)
    assert any("session read from the database" in r.getMessage() for r in caplog.records)


def test_the_family_portal_signs_in_and_shows_pages_through_a_redis_outage(client, world, redis_down, caplog):
    caplog.set_level(logging.WARNING, logger="navigator.resilience")
    world.ivanova.set_password("a-long-family-password")
    world.ivanova.save()
    response = client.post("/portal/login/", {"username": "ivanova", "password": "a-long-family-password"})
    assert response.status_code == 302, response.content[:500]
    assert client.get("/portal/", follow=True).status_code == 200
    client.post("/portal/logout/")
    assert any("portal rate limit" in r.getMessage() for r in caplog.records)


def test_an_unexpected_cache_error_in_a_view_is_a_json_503_with_retry_after():
    request = RequestFactory().get("/api/v1/cases/")
    response = RequestLogMiddleware(lambda r: None).process_exception(request, RedisConnectionError("refused"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/json"
    assert "cache or task queue unreachable" in json.loads(response.content)["detail"]
