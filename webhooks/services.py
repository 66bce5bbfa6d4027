"""Telling centres what happened: events, one delivery per endpoint, retried with backoff.

A delivery is attempted by its own Celery task with short timeouts, so a slow or failing
receiver only ever delays its own deliveries. Each attempt is claimed with a conditional
UPDATE on (status, attempts), so a task delivered twice, or the sweeper racing the
scheduled retry, sends an attempt once.

An attempt first resolves the endpoint's host and refuses to connect when any address is
internal (``webhooks.egress``); the request then goes to the address that was checked. A
refused address fails the delivery at once, without retries: it is a configuration problem
(or an attack), not an outage, and retrying would only repeat the lookup for a day and a
half. The attempt log says why; a coordinator replays the delivery once the centre's DNS
is fixed. A name that does not resolve at all is retried like a refused connection.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import time

import requests
import urllib3
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from audit.services import audit_record
from hospitals.models import Hospital
from navigator import queue
from navigator.errors import ConflictError, DomainError

from .egress import BlockedAddress, resolve_public, webhook_session
from .models import (
    EVENT_TYPE_VALUES,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    new_signing_secret,
)
from .signing import headers_for

log = logging.getLogger(__name__)

# Seconds to wait after attempt n before attempt n+1: about 31 hours in all.
DEFAULT_RETRY_SCHEDULE = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600]
CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 10
# The most an attempt spends reading an answer once the status line is in, and how much of it
# is kept for the delivery log.
ATTEMPT_DEADLINE = 15
EXCERPT_BYTES = 500
# Retries further away than this are left to the periodic sweeper instead of a countdown
# (a Redis broker redelivers far-future ETA tasks after its visibility timeout).
MAX_COUNTDOWN = 10 * 60


def retry_schedule() -> list[float]:
    """Seconds between attempts: settings.WEBHOOK_RETRY_SCHEDULE, or the environment variable of
    that name ("5,300,1800"), or the default (about a day)."""
    configured = getattr(settings, "WEBHOOK_RETRY_SCHEDULE", None)
    if configured is None and os.environ.get("WEBHOOK_RETRY_SCHEDULE"):
        configured = [float(v) for v in os.environ["WEBHOOK_RETRY_SCHEDULE"].split(",") if v.strip()]
    return list(configured if configured is not None else DEFAULT_RETRY_SCHEDULE)


def webhook_emit(*, hospital: Hospital, type: str, data: dict, dedupe_key: str | None = None) -> WebhookEvent | None:
    """Record an event for a centre and queue one delivery per active endpoint that wants it.

    Payloads carry identifiers and links only, never health data: the receiver fetches
    the packet through the authenticated API. With ``dedupe_key`` an event happens once.
    """
    if type not in EVENT_TYPE_VALUES:
        raise ValueError(f"unknown webhook event type {type!r}")
    now = timezone.now()
    payload = {"type": type, "timestamp": now.isoformat(), "data": {"hospital": hospital.code, **data}}
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                hospital=hospital, type=type, payload=payload, created_at=now, dedupe_key=dedupe_key
            )
    except IntegrityError:
        return None  # already emitted
    endpoints = [e for e in WebhookEndpoint.objects.filter(hospital=hospital, is_active=True) if e.wants(type)]
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(event=event, endpoint=e, next_attempt_at=now) for e in endpoints]
    )
    for delivery in deliveries:
        _enqueue(delivery.pk)
    return event


DELIVER = "webhooks.tasks.webhook_deliver"


def webhook_emit_event(*, event_type: str, hospital: Hospital, data: dict, dedupe_key: str | None) -> None:
    """What ``navigator.events.emit`` calls (subscribed in ``apps.py``): every event a centre is
    told of becomes a webhook event."""
    webhook_emit(hospital=hospital, type=event_type, data=data, dedupe_key=dedupe_key)


def _enqueue(delivery_id: int, countdown: float = 0) -> None:
    queue.enqueue(DELIVER, delivery_id, countdown=countdown)


def webhook_attempt(*, delivery_id: int) -> str:
    """Make the next attempt of a delivery if it is due. Returns what happened
    ("delivered", "retry", "failed", or "skipped" when it was not ours to make)."""
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return "skipped"
    now = timezone.now()
    if delivery.next_attempt_at and delivery.next_attempt_at > now + dt.timedelta(seconds=1):
        return "skipped"
    number = delivery.attempts + 1
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.PENDING, attempts=delivery.attempts
    ).update(attempts=number, last_attempt_at=now)
    if claimed != 1:
        return "skipped"

    endpoint, event = delivery.endpoint, delivery.event
    body = json.dumps(event.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = headers_for(secrets=endpoint.signing_secrets(now), msg_id=event.id, timestamp=int(time.time()), body=body)
    status_code, error, excerpt, blocked = None, "", "", False
    started = time.monotonic()
    if not endpoint.is_active:
        error = "endpoint disabled"
    else:
        try:
            addresses = resolve_public(endpoint.url)
            status_code, excerpt = _post(endpoint.url, body, headers, address=addresses[0])
        except BlockedAddress as exc:
            blocked = True
            error = f"Refused: {exc}; webhooks are only sent to public internet addresses."[:500]
        except (socket.gaierror, UnicodeError) as exc:
            error = f"NameResolutionError: the endpoint's host name did not resolve ({exc})"[:500]
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        except SoftTimeLimitExceeded:
            # A receiver that trickles its status line or headers: the task's soft limit ends it.
            error = "no complete answer within the task's time limit"
    duration_ms = int((time.monotonic() - started) * 1000)
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=number,
        at=now,
        status_code=status_code,
        error=error,
        response_excerpt=excerpt,
        duration_ms=duration_ms,
    )

    if status_code is not None and 200 <= status_code < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.SUCCEEDED,
            delivered_at=timezone.now(),
            last_status_code=status_code,
            last_error="",
            next_attempt_at=None,
        )
        return "delivered"

    schedule = retry_schedule()
    failure = error or f"HTTP {status_code}"
    retry_index = number - delivery.attempt_offset  # counts from the last replay
    if blocked or retry_index > len(schedule) or not endpoint.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, last_status_code=status_code, last_error=failure, next_attempt_at=None
        )
        log.warning("webhook delivery %s failed for good after %s attempts: %s", delivery.pk, number, failure)
        return "failed"
    delay = schedule[retry_index - 1]
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        last_status_code=status_code, last_error=failure, next_attempt_at=timezone.now() + dt.timedelta(seconds=delay)
    )
    if delay <= MAX_COUNTDOWN:
        _enqueue(delivery.pk, countdown=delay)
    return "retry"


def _post(url: str, body: bytes, headers: dict, *, address: str) -> tuple[int, str]:
    """POST to ``address`` (the checked result of resolving the URL's host) and read at most
    EXCERPT_BYTES of the answer, within ATTEMPT_DEADLINE seconds.

    Connecting to the checked address rather than to the name closes the DNS-rebinding gap:
    a name that answered a public address to our check and an internal one to a second
    lookup is never looked up a second time. The Host header, TLS SNI and the certificate
    check still use the name.

    ``READ_TIMEOUT`` bounds each wait for a byte, not the whole answer: a receiver that
    trickles its body a byte at a time would otherwise hold a worker for as long as it
    likes. The status code decides the outcome; the body is only an excerpt for the log.
    """
    deadline = time.monotonic() + ATTEMPT_DEADLINE
    with (
        webhook_session(address) as session,
        session.post(
            url, data=body, headers=headers, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), allow_redirects=False, stream=True
        ) as response,
    ):
        excerpt = b""
        try:
            while len(excerpt) < EXCERPT_BYTES and time.monotonic() < deadline:
                chunk = response.raw.read1(EXCERPT_BYTES - len(excerpt), decode_content=True)
                if not chunk:
                    break
                excerpt += chunk
        except (urllib3.exceptions.HTTPError, OSError):
            pass  # the status line arrived; a body cut short does not change the outcome
        return response.status_code, excerpt[:EXCERPT_BYTES].decode(response.encoding or "utf-8", "replace")


def webhook_dispatch_due(*, limit: int = 500) -> int:
    """Queue every pending delivery whose time has come (the sweeper, run every minute)."""
    ids = list(WebhookDelivery.objects.due().order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    for pk in ids:
        _enqueue(pk)
    return len(ids)


def webhook_replay(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """Send a delivery again from the start (after the centre fixed its receiver)."""
    if not delivery.endpoint.is_active:
        raise DomainError("The endpoint is disabled; enable it before replaying.", field="endpoint")
    with transaction.atomic():
        # Attempts keep counting so the log stays complete; the retry schedule restarts from the top.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=timezone.now(),
            delivered_at=None,
            attempt_offset=F("attempts"),
        )
        audit_record(actor=actor, action="update", obj=delivery, detail={"replay": True})
        _enqueue(delivery.pk)
    delivery.refresh_from_db()
    return delivery


def _refuse_duplicate_url(*, hospital: Hospital, url: str, exclude: int | None = None) -> None:
    same = WebhookEndpoint.objects.filter(hospital=hospital, url=url)
    if exclude is not None:
        same = same.exclude(pk=exclude)
    if same.exists():
        raise ConflictError(
            "This URL is already registered for your centre; change that endpoint instead.", field="url"
        )


def _save_endpoint(endpoint: WebhookEndpoint) -> None:
    """Save, turning the unique (centre, URL) constraint into a 409 when two requests race."""
    try:
        with transaction.atomic():
            endpoint.save()
    except IntegrityError:
        raise ConflictError(
            "This URL is already registered for your centre; change that endpoint instead.", field="url"
        ) from None


@transaction.atomic
def webhook_endpoint_create(*, hospital: Hospital, url: str, actor, event_types=(), description: str = ""):
    """Register a centre's endpoint; a URL the centre already registered is a conflict (409)."""
    _refuse_duplicate_url(hospital=hospital, url=url)
    endpoint = WebhookEndpoint(
        hospital=hospital, url=url, event_types=list(event_types), description=description, created_by=actor
    )
    endpoint.full_clean(validate_unique=False)  # a ValidationError names the field (https, event types)
    _save_endpoint(endpoint)
    audit_record(actor=actor, action="create", obj=endpoint, detail={"url": url})
    return endpoint


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, actor, data: dict) -> WebhookEndpoint:
    """Change where and what a centre's endpoint receives (URL, events, description, active).
    Moving it to a URL another of the centre's endpoints has is a conflict (409), as on creation."""
    if "url" in data:
        _refuse_duplicate_url(hospital=endpoint.hospital, url=data["url"], exclude=endpoint.pk)
    for name, value in data.items():
        setattr(endpoint, name, value)
    _save_endpoint(endpoint)
    audit_record(actor=actor, action="update", obj=endpoint, detail={"fields": sorted(data)})
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor) -> None:
    """Remove a centre's endpoint; nothing more is sent to it."""
    audit_record(actor=actor, action="delete", obj=endpoint, detail={"url": endpoint.url})
    endpoint.delete()


MAX_SECRET_GRACE = dt.timedelta(days=7)


@transaction.atomic
def webhook_secret_rotate(*, endpoint: WebhookEndpoint, actor, grace: dt.timedelta) -> WebhookEndpoint:
    """A new signing secret for a centre's endpoint (returned once by the API). The old one keeps
    signing beside it for ``grace`` (each delivery then carries both signatures), so the
    receiver can switch to the new secret without refusing anything."""
    if not dt.timedelta(0) <= grace <= MAX_SECRET_GRACE:
        raise DomainError(f"The grace period is 0 to {MAX_SECRET_GRACE.days * 24} hours.", field="grace_hours")
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    now = timezone.now()
    if grace:
        locked.previous_secret, locked.previous_secret_expires_at = locked.secret, now + grace
    else:
        locked.previous_secret, locked.previous_secret_expires_at = "", None
    locked.secret = new_signing_secret()
    locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    audit_record(
        actor=actor,
        action="update",
        obj=locked,
        detail={"secret_rotated": True, "grace_hours": grace / dt.timedelta(hours=1)},
    )
    return locked


def _test_data(event_type: str, now: dt.datetime) -> dict:
    """Made-up data in the shape of each event type: no real referral, case or message."""
    referral = {"referral_id": 0, "case_reference": "NAV-TEST-00000"}
    due = (now + dt.timedelta(days=7)).isoformat()
    return {
        "referral.sent": {**referral, "status": "sent", "packet_version": 1, "response_due_at": due},
        "packet.updated": {
            **referral,
            "status": "under_review",
            "packet_version": 2,
            "compared_to": 1,
            "response_due_at": due,
            "changes": [{"section": "documents", "field": "0", "change": "added"}],
        },
        "message.posted": {
            "case_reference": referral["case_reference"],
            "thread_id": 0,
            "message_id": 0,
            "posted_at": now.isoformat(),
        },
        "deadline.near": {**referral, "status": "sent", "response_due_at": (now + dt.timedelta(hours=20)).isoformat()},
        "deadline.changed": {
            **referral,
            "status": "sent",
            "response_due_at": due,
            "previous_response_due_at": (now + dt.timedelta(days=3)).isoformat(),
        },
        "referral.withdrawn": {
            **referral,
            "status": "withdrawn",
            "previous_status": "under_review",
            "withdrawn_at": now.isoformat(),
        },
    }[event_type]


@transaction.atomic
def webhook_send_test(*, endpoint: WebhookEndpoint, actor, event_type: str) -> WebhookDelivery:
    """Send a made-up event of ``event_type`` to one endpoint, signed and retried like a real one
    and marked ``"test": true`` (top level and in ``data``), whatever types the endpoint
    subscribes to. It names no real object (ids 0, case reference NAV-TEST-00000)."""
    if event_type not in EVENT_TYPE_VALUES:
        raise DomainError(f"Choose one of: {', '.join(EVENT_TYPE_VALUES)}.", field="type")
    if not endpoint.is_active:
        raise ConflictError("The endpoint is disabled; enable it to receive test events.", field="is_active")
    now = timezone.now()
    hospital = endpoint.hospital
    payload = {
        "type": event_type,
        "timestamp": now.isoformat(),
        "test": True,
        "data": {"hospital": hospital.code, **_test_data(event_type, now), "test": True},
    }
    event = WebhookEvent.objects.create(hospital=hospital, type=event_type, payload=payload, created_at=now)
    delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint, next_attempt_at=now)
    audit_record(actor=actor, action="create", obj=delivery, detail={"test_event": event_type, "event": event.pk})
    _enqueue(delivery.pk)
    return delivery
