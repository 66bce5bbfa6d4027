from celery import shared_task

from . import services


@shared_task(name="outbox.purge_sent", ignore_result=True)
def outbox_purge_sent() -> int:
    """Run daily by beat (the PeriodicTask created by migration 0002)."""
    return services.outbox_purge()
