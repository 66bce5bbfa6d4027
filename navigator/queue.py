"""Queue a Celery task from a service, once the transaction that wrote its rows has committed.

Every task sent from a request or a service goes through here, to the outbox (``outbox``).
Services name the task instead of importing it: tasks are the top layer of every app (they
import services, never the reverse), so this is how a service asks for background work without
an import circle. The name is the one the task is registered under (``@shared_task(name=...)``);
an unknown name fails loudly at once, in the caller.
"""

from __future__ import annotations

from django.db import transaction

from navigator.celery import app
from outbox import services as outbox


def enqueue(task_name: str, *args, countdown: float | None = None) -> None:
    """Queue ``task_name(*args)``: a row in the outbox, written in the current transaction, and
    published to the broker once it commits (at once outside a transaction).

    A rolled-back transaction leaves no row and sends nothing: the task never sees rows that do
    not exist. When the broker is unreachable the request carries on and ``manage.py
    outbox_relay`` publishes the row later."""
    task(task_name)  # an unknown name raises KeyError here, not later in the relay
    row = outbox.outbox_add(task_name, args, countdown=countdown)
    transaction.on_commit(lambda: outbox.outbox_send([row.pk]))


def enqueue_each(task_name: str, ids: list[int]) -> None:
    """Queue ``task_name(id)`` for each id (one outbox row each, one publish after the commit)."""
    task(task_name)
    rows = outbox.outbox_add_many(task_name, [[pk] for pk in ids])
    if rows:
        pks = [row.pk for row in rows]
        transaction.on_commit(lambda: outbox.outbox_send(pks))


def task(name: str):
    """The registered task called ``name``. Outside a worker, Celery imports the apps' tasks.py
    modules only when asked (autodiscovery is lazy): ask on first use."""
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]
