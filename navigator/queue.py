"""Queue a Celery task from a service, once the transaction that wrote its rows has committed.

Services name the task instead of importing it: tasks are the top layer of every app (they
import services, never the reverse), so this is how a service asks for background work without
an import circle. The name is the one the task is registered under (``@shared_task(name=...)``);
an unknown name fails loudly when the callback runs.
"""

from __future__ import annotations

from django.db import transaction

from navigator.celery import app


def enqueue(task_name: str, *args, countdown: float | None = None) -> None:
    """Send ``task_name(*args)`` after the current transaction commits (at once outside one).

    A rolled-back transaction sends nothing: the task never sees rows that do not exist."""

    def send() -> None:
        task(task_name).apply_async(args, countdown=countdown)

    transaction.on_commit(send)


def enqueue_each(task_name: str, ids: list[int]) -> None:
    """Send ``task_name(id)`` for each id after the current transaction commits (one callback)."""
    ids = list(ids)

    def send() -> None:
        registered = task(task_name)
        for pk in ids:
            registered.delay(pk)

    transaction.on_commit(send)


def task(name: str):
    """The registered task called ``name``. Outside a worker, Celery imports the apps' tasks.py
    modules only when asked (autodiscovery is lazy): ask on first use."""
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]
