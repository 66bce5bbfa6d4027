"""Thin Celery tasks: take ids, call the delivery services, retry what is temporary."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from . import delivery
from .models import NoticeDelivery


@shared_task(name="notifications.notices_sweep", ignore_result=True)
def notices_sweep() -> dict:
    """Run by django-celery-beat every minute (the PeriodicTask created by migration 0002)."""
    return delivery.notices_sweep()


@shared_task(bind=True, name="notifications.notice_send", ignore_result=True, max_retries=None)
def notice_send(self, delivery_id: int) -> str:
    """Send one digest on one channel. Safe to run twice: the database lets only one run send it.

    The attempt count and the time of the next attempt live on the row (they survive a killed
    worker): a failed send sets ``claimed_at`` to when the retry is due, and the retry waits until
    then; so does a send that came due in the contact's quiet hours."""
    outcome = delivery.notice_deliver(delivery_id=delivery_id)
    if outcome in ("retry", "deferred"):
        retry_at = NoticeDelivery.objects.filter(pk=delivery_id).values_list("claimed_at", flat=True).first()
        countdown = max((retry_at - timezone.now()).total_seconds(), 0) if retry_at else 0
        raise self.retry(countdown=countdown)
    return outcome
