"""The Redis cache (navigator.cache) keeps one client per connection pool, on the real Redis.

Django's own backend builds a ``redis.Redis`` for every cache call; a signed-in API request
reads its session and counts its throttle window in the cache, so it paid for two."""

from __future__ import annotations

import uuid

import pytest
import redis
from django.core.cache import caches
from rest_framework.test import APIClient


@pytest.fixture
def real_redis(settings):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    settings.CACHES = {
        "default": {
            "BACKEND": "navigator.cache.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": f"cache-test-{uuid.uuid4().hex}",
        }
    }
    yield caches["default"]
    caches["default"].clear()


@pytest.fixture
def clients_made(monkeypatch):
    made = []
    original = redis.Redis.__init__

    def counting(self, *args, **kwargs):
        made.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting)
    return made


def test_the_cache_reuses_one_client_and_still_works(real_redis, clients_made):
    real_redis.set("k", {"a": 1}, 60)
    assert real_redis.get("k") == {"a": 1}
    assert real_redis.add("n", 1, 60)
    assert real_redis.incr("n") == 2
    assert real_redis.get("missing", "default") == "default"
    assert len(clients_made) == 1
    client = real_redis._cache.get_client("k", write=True)
    assert real_redis._cache.get_client("k") is client


def test_a_signed_in_api_request_makes_no_redis_client(real_redis, clients_made, world, settings):
    settings.SESSION_ENGINE = "navigator.resilience"
    client = APIClient()
    client.force_login(world.alice)
    assert client.get("/api/v1/cases/").status_code == 200  # the first call makes the client
    made = len(clients_made)
    for _ in range(3):
        assert client.get("/api/v1/cases/").status_code == 200
    assert len(clients_made) == made
