"""A small fixed-window rate limit in the cache (Redis in production), per client address."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from audit.context import ip_from_request
from navigator.resilience import CACHE_ERRORS, cache_unavailable


def hit(request, scope: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt; ``True`` while the address stays within ``limit`` per window."""
    key = f"portal-rl:{scope}:{ip_from_request(request) or 'unknown'}"
    try:
        if cache.add(key, 1, timeout=window_seconds):
            return True
        try:
            count = cache.incr(key)
        except ValueError:  # the window ended between add() and incr()
            cache.add(key, 1, timeout=window_seconds)
            count = 1
    except CACHE_ERRORS as exc:
        # The sign-in lock-out (django-axes, in the database) still guards each account.
        cache_unavailable(f"portal rate limit ({scope}) skipped", exc)
        return True
    return count <= limit


def login_limit() -> tuple[int, int]:
    return getattr(settings, "PORTAL_LOGIN_RATE", (20, 10 * 60))
