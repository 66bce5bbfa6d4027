"""Sending one message by email or SMS: the one door to outside messaging services."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage

from .sms import get_sms_backend

EMAIL = "email"
SMS = "sms"


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
