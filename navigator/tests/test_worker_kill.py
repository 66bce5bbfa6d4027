"""A Celery worker killed (SIGKILL, whole process group) in the middle of a webhook delivery.

The centre's receiver holds the first request open; the worker is killed while waiting for
it. The delivery stays pending; the minute sweep hands it to the next worker, which delivers
it. Webhooks are at-least-once by design (Standard Webhooks): the receiver may see the same
``webhook-id`` again and deduplicates on it. Checked: the event is delivered (nothing lost),
there is one delivery row and one successful attempt (nothing doubled on our side), and every
request the receiver saw carries the one event id. Reminders killed mid-send are covered by
scheduling/tests/test_celery_worker.py.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from .support import seed_migration_rows

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


class HangingReceiver:
    """Holds the first request open for ``hang`` seconds (the worker dies meanwhile), then answers 200."""

    def __init__(self, hang: float = 30.0):
        self.ids: list[str] = []
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.ids.append(self.headers["webhook-id"])
                if len(receiver.ids) == 1:
                    receiver.first_arrived.set()
                    receiver.release.wait(hang)
                try:
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the sender is gone
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_webhook_delivery_survives_its_worker_being_killed_mid_request(private_redis, celery_on, tmp_path):
    from navigator.testing import make_world
    from scheduling.tests.workers import Worker, wait_until
    from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
    from webhooks.services import webhook_dispatch_due, webhook_emit

    seed_migration_rows()
    world = make_world()
    receiver = HangingReceiver()
    env = {
        "CELERY_BROKER_URL": private_redis.url,
        "REDIS_URL": private_redis.url,
        "WEBHOOKS_ALLOW_INSECURE_LOCALHOST": "1",  # the receiver is on 127.0.0.1
    }
    kills = 0
    try:
        WebhookEndpoint.objects.create(hospital=world.pkuph, url=receiver.url)
        first = Worker(pool="solo", log_path=tmp_path / "worker.log", env=env).start()
        with transaction.atomic():
            event = webhook_emit(hospital=world.pkuph, type="referral.sent", data={"referral_id": 1})
        assert receiver.first_arrived.wait(60), "the first worker never posted"
        first.kill()
        kills += 1
        delivery = WebhookDelivery.objects.get(event=event)
        assert delivery.status == "pending" and delivery.attempts == 1
        assert not WebhookAttempt.objects.filter(delivery=delivery).exists()  # died before recording it
        receiver.release.set()

        second = Worker(pool="solo", log_path=tmp_path / "worker.log", env=env).start()
        try:
            assert webhook_dispatch_due() == 1  # the sweep finds it pending and due
            wait_until(
                lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status="succeeded").exists(),
                timeout=60,
                message="the delivery to succeed on the next worker",
            )
            time.sleep(0.5)
            assert webhook_dispatch_due() == 0  # nothing left to send
        finally:
            second.stop()
    finally:
        receiver.close()

    delivery.refresh_from_db()
    assert WebhookDelivery.objects.filter(event=event).count() == 1
    assert delivery.attempts == 2
    assert list(WebhookAttempt.objects.filter(delivery=delivery).values_list("status_code", flat=True)) == [200]
    assert set(receiver.ids) == {str(event.id)} and 1 <= len(receiver.ids) <= 2
    print(
        f"webhook worker kill: kills survived {kills}, deliveries 1, lost 0, successful attempts 1, "
        f"receiver requests {len(receiver.ids)} (same webhook-id)"
    )
