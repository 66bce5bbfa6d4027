"""API rate limits as fixed-window counters: one cache round trip per request.

DRF's own throttles keep each caller's request history (a list of timestamps) in the cache:
a read and a write per request, growing with the history (6,000 entries at the coordinators'
rate). A fixed window counts instead: ``INCR`` the counter of the current window (its first
request also sets its expiry). A client can at most double its rate across a window boundary,
which is what a limit against runaway scripts needs; the rates and the 429 answer (with
Retry-After) are DRF's.
"""

from __future__ import annotations

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework import throttling

from .resilience import _FailOpen


def window_hit(key: str, seconds: int) -> int:
    """Count one request in the window ``key`` (expiring after ``seconds``); returns the count."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        full_key = cache.make_and_validate_key(key)
        client = cache._cache.get_client(full_key, write=True)
        count = int(client.incr(full_key))
        if count == 1:
            # The window's first request sets its expiry: one more round trip per window. Should
            # it not arrive, the counter outlives its window unread (each window has its own key).
            client.expire(full_key, seconds)
        return count
    # Any other cache (the demo's local memory, the tests): the same counter in two calls.
    if cache.add(key, 1, seconds):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls: a new window
        cache.add(key, 1, seconds)
        return 1


class FixedWindowMixin:
    """``allow_request`` for a SimpleRateThrottle, with a counter per window instead of a history."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self.retry_after = (window + 1) * self.duration - now
        if window_hit(f"{self.key}:{window}", self.duration) > self.num_requests:
            return self.throttle_failure()
        return True

    def wait(self):
        return self.retry_after


class UserRateThrottle(_FailOpen, FixedWindowMixin, throttling.UserRateThrottle):
    """Per signed-in user (``API_THROTTLE_USER``); open while the cache is unreachable."""


class AnonRateThrottle(_FailOpen, FixedWindowMixin, throttling.AnonRateThrottle):
    """Per client address for anonymous callers (``API_THROTTLE_ANON``); open while the cache is unreachable."""
