"""Thin Celery tasks: take ids, call the delivery services, retry what is temporary."""

from __future__ import annotations

from celery import shared_task

from . import delivery


@shared_task(name="scheduling.reminders_sweep", ignore_result=True)
def reminders_sweep() -> dict:
    """Run by django-celery-beat (see the PeriodicTask created by migration 0003)."""
    return delivery.reminders_sweep()


@shared_task(bind=True, name="scheduling.reminder_send", ignore_result=True, max_retries=None)
def reminder_send(self, reminder_id: int) -> str:
    """Send one reminder. Safe to run twice: the database lets only one run send it.

    The attempt count lives on the row (it survives a killed worker), so the backoff is
    2, 4, 8... seconds by the row's attempts, and the last attempt marks it failed.
    """
    outcome = delivery.reminder_deliver(reminder_id=reminder_id)
    if outcome == "retry":
        from .models import Reminder

        attempts = Reminder.objects.filter(pk=reminder_id).values_list("attempts", flat=True).first() or 1
        raise self.retry(countdown=delivery.retry_countdown(attempts))
    return outcome


@shared_task(name="scheduling.reminders_replan_kind", ignore_result=True)
def reminders_replan_kind(kind: str) -> int:
    """Reminder rules of a kind changed: move, add or remove the unsent reminders to match."""
    from .reminders import reminders_replan

    return reminders_replan(kind=kind)
