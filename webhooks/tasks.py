"""Thin Celery tasks: load by id, call a service. Safe to run twice."""

from __future__ import annotations

from celery import shared_task

from navigator import metrics

from . import services


# One attempt is one bounded HTTP request (see services._post); the soft limit ends a receiver
# that trickles even its headers, and the attempt is logged and retried like any failure.
@shared_task(name=services.DELIVER, acks_late=True, ignore_result=True, soft_time_limit=60, time_limit=90)
def webhook_deliver(delivery_id: int) -> str:
    outcome = services.webhook_attempt(delivery_id=delivery_id)
    if outcome != "skipped":
        metrics.webhook_attempt(outcome)
    return outcome


@shared_task(name="webhooks.tasks.webhook_dispatch_due", ignore_result=True)
def webhook_dispatch_due() -> int:
    return services.webhook_dispatch_due()
