"""Thin Celery tasks: take ids, call the delivery services, retry what is temporary."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from . import delivery
from .models import Reminder
from .reminders import reminders_replan
from .services import notice_failure_task_open


@shared_task(name="scheduling.reminders_sweep", ignore_result=True)
def reminders_sweep() -> dict:
    """Run by django-celery-beat (see the PeriodicTask created by migration 0003)."""
    return delivery.reminders_sweep()


@shared_task(bind=True, name="scheduling.reminder_send", ignore_result=True, max_retries=None)
def reminder_send(self, reminder_id: int) -> str:
    """Send one reminder. Safe to run twice: the database lets only one run send it.

    The attempt count and the time of the next attempt live on the row (they survive a
    killed worker): a failed send sets ``claimed_at`` to when the retry is due (exponential
    backoff with jitter, ``delivery.retry_countdown``), the retry waits until then, and the
    last attempt marks the reminder failed.
    """
    outcome = delivery.reminder_deliver(reminder_id=reminder_id)
    if outcome == "retry":
        retry_at = Reminder.objects.filter(pk=reminder_id).values_list("claimed_at", flat=True).first()
        countdown = max((retry_at - timezone.now()).total_seconds(), 0) if retry_at else 0
        raise self.retry(countdown=countdown)
    return outcome


@shared_task(name="scheduling.reminders_replan_kind", ignore_result=True)
def reminders_replan_kind(kind: str) -> int:
    """Reminder rules of a kind changed: move, add or remove the unsent reminders to match."""
    return reminders_replan(kind=kind)


@shared_task(name="scheduling.notice_failed_task_open", ignore_result=True)
def notice_failed_task_open(delivery_id: int) -> bool:
    """A notice could not be delivered (notifications.delivery): open the coordinator's task, once."""
    return notice_failure_task_open(delivery_id=delivery_id)
