"""Write tasks to the outbox, publish them to the broker, relay what could not be published.

A row is inserted in the caller's transaction, so a rolled-back change leaves no task and a
committed one always has its task. After the commit the row is published at once (the fast
path); when the broker is unreachable the row stays unsent (with a warning) and the relay
(``manage.py outbox_relay``) publishes it once the broker is back. Each row is published while
its row lock is held (``SELECT … FOR UPDATE SKIP LOCKED``) and marked sent by a conditional
UPDATE, so two publishers never send the same row twice. A crash between the publish and the
commit republishes the row under the same Celery task id (``outbox-<id>``); tasks are idempotent.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from .models import OutboxTask

logger = logging.getLogger("outbox")

# What an unreachable broker raises: kombu wraps connection errors in its OperationalError;
# a socket that dies mid-publish may surface as a plain OSError.
BROKER_ERRORS = (BrokerError, OSError)


def outbox_add(task_name: str, args: Iterable = (), *, countdown: float | None = None) -> OutboxTask:
    now = timezone.now()
    eta = now + dt.timedelta(seconds=countdown) if countdown else None
    return OutboxTask.objects.create(name=task_name, args=list(args), eta=eta, created_at=now)


def outbox_add_many(task_name: str, arg_lists: Iterable[Iterable]) -> list[OutboxTask]:
    now = timezone.now()
    return OutboxTask.objects.bulk_create(
        [OutboxTask(name=task_name, args=list(args), created_at=now) for args in arg_lists]
    )


_local = threading.local()


def _broker():
    """This thread's publishing connection, which fails at once when the broker is unreachable
    (no connection retries, no publish retries): the row waits for the relay instead of the
    request waiting for the broker. Rebuilt when the broker URL changes."""
    from navigator.celery import app

    url = app.conf.broker_url
    conn = getattr(_local, "conn", None)
    if conn is None or _local.url != url:
        _drop_broker()
        conn = app.connection_for_write(transport_options={"max_retries": 0})
        _local.conn, _local.url = conn, url
    return conn


def _drop_broker() -> None:
    conn = getattr(_local, "conn", None)
    _local.conn = None
    if conn is not None:
        try:
            conn.release()
        except (*BROKER_ERRORS, *conn.connection_errors):
            logger.info("outbox: closing a broken broker connection failed", exc_info=True)


def _publish(row: OutboxTask) -> None:
    from navigator.queue import task

    eta = row.eta if row.eta and row.eta > timezone.now() else None
    task(row.name).apply_async(row.args, eta=eta, task_id=row.task_id, retry=False, connection=_broker())


def _send_locked(rows: list[OutboxTask]) -> int:
    """Publish ``rows`` (locked by the caller) in order; stop at the first broker error."""
    sent = 0
    for row in rows:
        conn = _broker()
        try:
            _publish(row)
        except (*BROKER_ERRORS, *conn.connection_errors, *conn.channel_errors) as exc:
            _drop_broker()
            logger.warning(
                "outbox: broker unreachable, task left for the relay",
                extra={"outbox_id": row.pk, "task": row.name, "error": str(exc)[:200]},
            )
            OutboxTask.objects.filter(pk=row.pk, sent_at__isnull=True).update(
                attempts=F("attempts") + 1, last_error=str(exc)[:1000]
            )
            break
        sent += OutboxTask.objects.filter(pk=row.pk, sent_at__isnull=True).update(
            sent_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
        )
    return sent


def outbox_send(ids: list[int]) -> int:
    """The fast path: publish these rows now, unless another publisher holds or sent them."""
    with transaction.atomic():
        rows = list(
            OutboxTask.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, sent_at__isnull=True)
            .order_by("id")
        )
        return _send_locked(rows)


def outbox_relay_batch(limit: int = 100) -> tuple[int, int]:
    """Publish up to ``limit`` unsent rows in id order; returns (sent, left unsent in the batch)."""
    with transaction.atomic():
        rows = list(
            OutboxTask.objects.select_for_update(skip_locked=True).filter(sent_at__isnull=True).order_by("id")[:limit]
        )
        sent = _send_locked(rows)
    return sent, len(rows) - sent


def outbox_purge(*, older_than: dt.timedelta | None = None) -> int:
    """Delete rows sent longer ago than ``OUTBOX_KEEP_DAYS``; unsent rows are never deleted."""
    if older_than is None:
        older_than = dt.timedelta(days=settings.OUTBOX_KEEP_DAYS)
    deleted, _ = OutboxTask.objects.filter(sent_at__lt=timezone.now() - older_than).delete()
    return deleted


def outbox_backlog() -> dict:
    """How much work waits for the broker: unsent rows and the age of the oldest (seconds)."""
    from django.db.models import Count, Min

    row = OutboxTask.objects.filter(sent_at__isnull=True).aggregate(unsent=Count("id"), oldest=Min("created_at"))
    oldest = row["oldest"]
    return {
        "unsent": row["unsent"],
        "oldest_unsent_seconds": round((timezone.now() - oldest).total_seconds()) if oldest else 0,
    }
