"""The task outbox on the real stack: PostgreSQL rows, a real Redis broker (a private one that
can be stopped), and a broker URL pointing at a closed port for "Redis is down"."""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter

import pytest
import redis
from django.core.management import call_command
from django.db import connection, transaction

from eligibility.models import CentreCriteria
from navigator import queue
from navigator.routing import QUEUES
from outbox.models import OutboxTask
from outbox.services import outbox_purge, outbox_relay_batch

RERUN = "eligibility.tasks.centre_assessments_rerun"


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{s.getsockname()[1]}/0"


def broker_messages(url: str) -> list[str]:
    """Task ids of the messages waiting in the broker's queues (tasks are routed by kind)."""
    client = redis.Redis.from_url(url)
    return [json.loads(m)["headers"]["id"] for queue in QUEUES for m in client.lrange(queue, 0, -1)]


def criteria_post(criteria, lines: int, notes: str = "") -> dict:
    """The admin change form of ``criteria`` as posted, with a new number of prior lines."""
    from django.forms.models import model_to_dict

    data = {
        key: json.dumps(value) if isinstance(value, dict | list) else ("" if value is None else value)
        for key, value in model_to_dict(criteria).items()
    }
    return {**data, "min_prior_lines": lines, "notes": notes}


def test_a_rolled_back_transaction_leaves_no_row(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue.enqueue(RERUN, 1)
        queue.enqueue_each("scheduling.reminder_send", [1, 2])
        assert OutboxTask.objects.count() == 3
        raise RuntimeError("the change failed")
    assert not OutboxTask.objects.exists()


def test_an_unknown_task_name_fails_in_the_caller_and_writes_nothing(db):
    with pytest.raises(KeyError):
        queue.enqueue("no.such.task", 1)
    assert not OutboxTask.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_the_broker_down_a_request_answers_and_the_relay_sends_the_task_once_it_is_back(
    client, celery_on, private_redis, published, caplog
):
    from navigator.testing import make_world

    world = make_world()
    criteria = CentreCriteria.objects.create(hospital=world.pkuph)
    client.force_login(world.sam)
    url = f"/admin/eligibility/centrecriteria/{criteria.pk}/change/"

    celery_on.conf.broker_url = closed_port_url()
    celery_on._pool = None
    celery_on.amqp._producer_pool = None
    caplog.set_level("WARNING", logger="outbox")
    response = client.post(url, criteria_post(criteria, 2))
    assert response.status_code == 302, response.content[:2000]
    [row] = OutboxTask.objects.all()
    assert (row.name, row.args, row.sent_at, row.attempts) == (RERUN, [world.pkuph.pk], None, 1)
    assert row.last_error
    assert any("broker unreachable" in r.getMessage() for r in caplog.records)
    assert published == []

    # The relay with the broker still down: nothing sent, the row waits.
    call_command("outbox_relay", "--once")
    assert OutboxTask.objects.get().sent_at is None

    # The broker is back: one relay run sends it, a second sends nothing more.
    celery_on.conf.broker_url = private_redis.url
    celery_on._pool = None
    celery_on.amqp._producer_pool = None
    call_command("outbox_relay", "--once")
    call_command("outbox_relay", "--once")
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 3
    assert published == [row.task_id] == [f"outbox-{row.pk}"]
    assert broker_messages(private_redis.url) == [row.task_id]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_the_broker_up_the_row_is_sent_on_commit_without_the_relay(client, celery_on, private_redis, published):
    from navigator.testing import make_world

    world = make_world()
    criteria = CentreCriteria.objects.create(hospital=world.pkuph)
    client.force_login(world.sam)
    response = client.post(f"/admin/eligibility/centrecriteria/{criteria.pk}/change/", criteria_post(criteria, 1))
    assert response.status_code == 302
    row = OutboxTask.objects.get()
    assert row.sent_at is not None and row.attempts == 1
    assert broker_messages(private_redis.url) == [row.task_id]
    assert outbox_relay_batch() == (0, 0)
    assert published == [row.task_id]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_relays_at_once_send_each_row_once_and_in_order(celery_on, private_redis, published):
    total = 300
    OutboxTask.objects.bulk_create(OutboxTask(name=RERUN, args=[i]) for i in range(total))
    errors = []

    def relay():
        try:
            while outbox_relay_batch(limit=7) != (0, 0):
                pass
        except Exception as exc:  # noqa: BLE001 - surfaced below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert not OutboxTask.objects.filter(sent_at__isnull=True).exists()
    counts = Counter(published)
    assert len(counts) == total and set(counts.values()) == {1}, counts.most_common(3)
    in_broker = broker_messages(private_redis.url)
    assert sorted(in_broker) == sorted(r.task_id for r in OutboxTask.objects.all())
    print(f"two relays: {total} rows, {len(published)} publishes, duplicates {len(published) - len(counts)}")


def test_the_purge_deletes_old_sent_rows_only(db):
    import datetime as dt

    from django.utils import timezone

    old = timezone.now() - dt.timedelta(days=8)
    OutboxTask.objects.create(name=RERUN, args=[1], sent_at=old)
    OutboxTask.objects.create(name=RERUN, args=[2], sent_at=timezone.now())
    OutboxTask.objects.create(name=RERUN, args=[3], created_at=old)  # never sent: kept
    assert outbox_purge() == 1
    assert sorted(OutboxTask.objects.values_list("args", flat=True)) == [[2], [3]]


def test_the_backlog_is_on_healthz_and_the_stalled_rows_in_the_admin(client, world, settings):
    import datetime as dt

    from django.utils import timezone

    settings.OUTBOX_STALLED_SECONDS = 60
    OutboxTask.objects.create(name=RERUN, args=[1], created_at=timezone.now() - dt.timedelta(minutes=10))
    OutboxTask.objects.create(name=RERUN, args=[2], sent_at=timezone.now())
    body = client.get("/healthz").json()
    assert body["outbox"]["unsent"] == 1 and body["outbox"]["stalled"] is True
    assert body["outbox"]["oldest_unsent_seconds"] >= 600

    client.force_login(world.sam)
    page = client.get("/admin/outbox/outboxtask/?state=stalled")
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    # Read-only: rows are written by services and sent by the relay.
    assert client.get("/admin/outbox/outboxtask/add/").status_code == 403


def test_send_now_publishes_a_waiting_row_once(client, world, celery_on, private_redis, published):
    row = OutboxTask.objects.create(name=RERUN, args=[1])
    client.force_login(world.sam)
    response = client.post("/admin/outbox/outboxtask/", {"action": "send_now", "_selected_action": [row.pk]})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.sent_at is not None and published == [row.task_id]
    client.post("/admin/outbox/outboxtask/", {"action": "send_now", "_selected_action": [row.pk]})
    assert published == [row.task_id]
