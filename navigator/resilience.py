"""Redis is a cache and a broker here, never the only copy of anything: when it is down,
sessions, throttling and the portal's rate limit keep working without it.

Each wrapper catches only the cache backend's own connection errors, logs a warning naming
what was skipped, and carries on: sessions from the database (``cached_db`` keeps every
session there), throttles open (every request still needs its credentials; the sign-in
lock-out lives in the database). Anything else still raises, and the request middleware turns
a backend error it did not expect into a JSON 503 with Retry-After.
"""

from __future__ import annotations

import logging

from django.contrib.sessions.backends import cached_db
from redis.exceptions import RedisError
from rest_framework import throttling

logger = logging.getLogger("navigator.resilience")

# What a cache call raises when Redis is unreachable: redis-py's errors, and socket errors
# from a connection that dropped mid-call.
CACHE_ERRORS = (RedisError, ConnectionError, TimeoutError)


def cache_unavailable(what: str, exc: BaseException) -> None:
    logger.warning("cache unavailable, %s", what, extra={"error": exc.__class__.__name__})


class SessionStore(cached_db.SessionStore):
    """``cached_db`` sessions that fall back to the database when the cache is unreachable."""

    def load(self):
        try:
            return super().load()
        except CACHE_ERRORS as exc:
            cache_unavailable("session read from the database", exc)
            session = self._get_session_from_db()
            return self.decode(session.session_data) if session else {}

    def exists(self, session_key):
        try:
            return super().exists(session_key)
        except CACHE_ERRORS as exc:
            cache_unavailable("session existence checked in the database", exc)
            return cached_db.DBStore.exists(self, session_key)

    def delete(self, session_key=None):
        try:
            super().delete(session_key)
        except CACHE_ERRORS as exc:
            # The database row is gone (deleted first); a cached copy expires with its timeout.
            cache_unavailable("cached session copy left to expire", exc)


class _FailOpen:
    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            cache_unavailable(f"{self.scope} throttle skipped", exc)
            return True


class AnonRateThrottle(_FailOpen, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_FailOpen, throttling.UserRateThrottle):
    pass
