"""The Celery application. Tasks live in each app's tasks.py and are autodiscovered."""

import os

from celery import Celery
from celery.signals import beat_init, worker_init, worker_process_init
from kombu import Queue

from navigator.routing import QUEUES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navigator.settings")

app = Celery("navigator")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every queue is declared, so a worker started without -Q (the demo, tests) consumes them all;
# production runs a worker group per queue (-Q reminders, -Q webhooks, ...).
app.conf.task_queues = [Queue(name) for name in QUEUES]

from navigator.metrics import connect_celery_signals  # noqa: E402 - after the app exists

connect_celery_signals()


@worker_process_init.connect(weak=False)  # each prefork child (exporter threads do not survive a fork)
@beat_init.connect(weak=False)
def _observability(**kwargs) -> None:
    from navigator import observability

    observability.init()


@worker_init.connect(weak=False)
def _observability_without_fork(sender=None, **kwargs) -> None:
    """The threads and solo pools run tasks in the main process: set up there."""
    if "prefork" not in str(getattr(sender, "pool_cls", "prefork")):
        _observability()
