"""Thin Celery tasks: load by id, call a service. Safe to run twice."""

from __future__ import annotations

from celery import shared_task


# One attempt is one bounded HTTP request (see webhooks._post); the soft limit ends a receiver
# that trickles even its headers, and the attempt is logged and retried like any failure.
@shared_task(
    name="hospitals.tasks.webhook_deliver", acks_late=True, ignore_result=True, soft_time_limit=60, time_limit=90
)
def webhook_deliver(delivery_id: int) -> str:
    from .services.webhooks import webhook_attempt

    return webhook_attempt(delivery_id=delivery_id)


@shared_task(name="hospitals.tasks.webhook_dispatch_due", ignore_result=True)
def webhook_dispatch_due() -> int:
    from .services import webhooks

    return webhooks.webhook_dispatch_due()


@shared_task(name="hospitals.tasks.referral_deadlines_scan", ignore_result=True)
def referral_deadlines_scan() -> int:
    from .services.referrals import referral_deadlines_notify

    return referral_deadlines_notify()
