"""Request context (client address, actor) available to services without passing it down."""

from __future__ import annotations

import contextvars

client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)


def ip_from_request(request) -> str | None:
    # Behind the reverse proxy the client is the first X-Forwarded-For hop; only trusted
    # when the deployment says a proxy sets it (AUDIT_TRUST_X_FORWARDED_FOR).
    from django.conf import settings

    if getattr(settings, "AUDIT_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None
