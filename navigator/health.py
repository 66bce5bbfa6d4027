"""/healthz: is the database reachable, is the broker reachable, how much work waits in the outbox.

A backlog alone does not make the service unhealthy (requests still succeed and the relay
publishes the rows when the broker is back); it is reported, and ``stalled`` says when the oldest
unsent task has waited longer than ``OUTBOX_STALLED_SECONDS``."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse


def _database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        return False, exc.__class__.__name__


def _broker() -> tuple[bool, str]:
    from navigator.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:  # noqa: BLE001
        return False, exc.__class__.__name__


def _outbox() -> dict:
    from outbox.services import outbox_backlog

    backlog = outbox_backlog()
    backlog["stalled"] = backlog["oldest_unsent_seconds"] > settings.OUTBOX_STALLED_SECONDS
    return backlog


def healthz(request):
    db_ok, db_detail = _database()
    broker_ok, broker_detail = _broker()
    ok = db_ok and broker_ok
    body = {
        "status": "ok" if ok else "unavailable",
        "database": db_detail,
        "broker": broker_detail,
        "broker_transport": settings.CELERY_BROKER_URL.split(":", 1)[0],
        # Without a database there is no outbox to count.
        "outbox": _outbox() if db_ok else "unknown",
    }
    return JsonResponse(body, status=200 if ok else 503)
