"""Request context (client address, actor) available to services without passing it down."""

from __future__ import annotations

import contextvars
from functools import lru_cache

from django.conf import settings
from python_ipware import IpWare

client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)


@lru_cache(maxsize=4)
def _ipware(trusted_proxies: int) -> IpWare:
    # Each trusted proxy appends the address it received the request from to X-Forwarded-For,
    # and the last one is REMOTE_ADDR itself. So with N proxies the client is the N-th entry
    # from the right; entries to its left came from the client and prove nothing.
    # python-ipware counts only the proxies listed in the header, hence N - 1.
    return IpWare(precedence=("HTTP_X_FORWARDED_FOR",), proxy_count=trusted_proxies - 1)


def ip_from_request(request) -> str | None:
    """The client's address: REMOTE_ADDR, or, behind ``NAVIGATOR_TRUSTED_PROXIES`` reverse
    proxies, the address the outermost trusted proxy saw (never a value the client chose)."""
    trusted = settings.NAVIGATOR_TRUSTED_PROXIES
    if trusted > 0 and request.META.get("HTTP_X_FORWARDED_FOR"):
        ip, _trusted_route = _ipware(trusted).get_client_ip(request.META, strict=False)
        if ip is not None:
            return str(ip)
    return request.META.get("REMOTE_ADDR") or None
