"""Django's Redis cache with one client per connection pool, made once.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache call; the
constructor fills a table of about 170 response callbacks each time. Sessions and the API
throttle call the cache on every request, so each request paid for two of them. A ``Redis``
object holds no connection of its own (it borrows one from the pool for each command) and is
safe to share, so one per pool does the same work.
"""

from __future__ import annotations

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    """``django.core.cache.backends.redis.RedisCache``, with a client made once per pool."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
