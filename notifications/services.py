"""Sending one message by email or SMS: the one door to outside messaging services."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage

from .sms import get_sms_backend

EMAIL = "email"
SMS = "sms"
EXACTLY_ONCE = "exactly_once"
AT_LEAST_ONCE = "at_least_once"


def delivery_guarantee(channel: str) -> str:
    """What a retried send of one message can cause on this channel.

    Email is at least once (a retried send after a crash reaches the server twice; the shared
    Message-ID lets clients fold duplicates). SMS is exactly once only through a backend that
    honours idempotency keys (``honours_idempotency_key``)."""
    if channel == SMS and get_sms_backend().honours_idempotency_key:
        return EXACTLY_ONCE
    return AT_LEAST_ONCE


def message_send(*, channel: str, to: str, subject: str, body: str, idempotency_key: str) -> str:
    """Deliver a message; returns a provider reference. Raises on failure (callers retry).

    Email carries the idempotency key as its Message-ID, so a mail server or client that
    sees a retried message recognises the duplicate.
    """
    if channel == EMAIL:
        domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "navigator.local"
        message_id = f"<{idempotency_key}@{domain}>"
        EmailMessage(
            subject=subject,
            body=body,
            to=[to],
            headers={"Message-ID": message_id, "X-Navigator-Idempotency-Key": idempotency_key},
        ).send(fail_silently=False)
        return f"email:{message_id}"
    if channel == SMS:
        return get_sms_backend().send(to=to, body=body, idempotency_key=idempotency_key)
    raise ValueError(f"Unknown channel {channel!r}")
