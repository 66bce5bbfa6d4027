"""A centre's Navigator client in a few lines: verify a webhook, then fetch what it points to.

Verification uses the official Standard Webhooks library (``pip install standardwebhooks``);
HTTP uses any session with ``get`` and ``post`` (``requests.Session()`` in production).
"""

from __future__ import annotations

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def verify_webhook(secret: str, headers: dict, body: bytes) -> dict | None:
    """The event if Navigator signed ``body`` with this endpoint's secret, else None.

    Pass the raw bytes received, before any JSON parsing. The library also refuses a
    timestamp more than five minutes from now (a replay)."""
    try:
        return Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})
    except WebhookVerificationError:
        return None


def poll_referrals(session, base_url: str, api_key: str, since: str | None = None) -> list[dict]:
    """Every referral changed at or after ``since`` (ISO 8601 with offset), following the pages."""
    headers = {"Authorization": f"Bearer {api_key}"}
    params = {"page_size": 200, **({"updated_since": since} if since else {})}
    url, referrals = f"{base_url}/api/v1/referrals/", []
    while url:
        response = session.get(url, params=params, headers=headers)
        response.raise_for_status()
        page = response.json()
        referrals += page["results"]
        url, params = page["next"], None  # the next link carries the parameters
    return referrals


def handle_event(session, base_url: str, api_key: str, event: dict) -> dict | None:
    """What a receiver does after answering 2xx: fetch the object the event names.
    Test events (``"test": true``) name nothing real and are only logged."""
    if event.get("test"):
        return None
    data = event["data"]
    if event["type"] in ("referral.sent", "packet.updated", "deadline.near", "deadline.changed"):
        headers = {"Authorization": f"Bearer {api_key}"}
        response = session.get(f"{base_url}/api/v1/referrals/{data['referral_id']}/", headers=headers)
        response.raise_for_status()
        return response.json()
    return None


def acknowledge(session, base_url: str, api_key: str, referral: dict) -> dict:
    """Confirm receipt, through the link the referral carries (never a hand-built URL)."""
    response = session.post(referral["links"]["acknowledge"], headers={"Authorization": f"Bearer {api_key}"})
    response.raise_for_status()
    return response.json()
