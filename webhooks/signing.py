"""Standard Webhooks signing: the same scheme the receivers verify (see docs/webhooks.md).

    signed content = "<webhook-id>.<webhook-timestamp>.<body>"
    webhook-signature: "v1,<base64(HMAC-SHA256(secret bytes, signed content))>"

The secret is "whsec_" + base64 of the key bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers_for(
    *, secret: str | None = None, secrets: list[str] | None = None, msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The request headers of a delivery; with several ``secrets`` (a rotation's grace period)
    one signature each, space-separated, as Standard Webhooks allows."""
    keys = secrets if secrets else [secret] if secret else []
    if not keys:
        raise ValueError("a delivery is signed with at least one secret")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(secret=key, msg_id=msg_id, timestamp=timestamp, body=body) for key in keys),
        "content-type": "application/json",
        "user-agent": "Navigator-Webhooks/1",
    }
