"""Notices sent by real Celery worker processes against Redis and the test database: exactly once
when a task runs twice, nothing lost and nothing twice when a worker is killed mid-send."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.utils import timezone

from messaging.services import message_post
from navigator import queue
from notifications import delivery
from notifications.models import NoticeDelivery, NoticeDigest
from notifications.services import notice_preference_update
from scheduling.tests.workers import wait_until

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seed_rows")]


def _files(path):
    return sorted(path.glob("*.json"))


def _both_sides_write(world):
    """Each side writes; no quiet hours, so the test means the same at any hour; digests made due."""
    notice_preference_update(contact=world.contact_b, actor=world.bob, quiet_start=dt.time(0), quiet_end=dt.time(0))
    message_post(author=world.bob, case=world.case_b, kind="family", body="Please send the day-28 report")
    message_post(author=world.bob, case=world.case_b, kind="family", body="And the passport copy")
    message_post(author=world.chen, case=world.case_b, kind="family", body="Sent both")
    NoticeDigest.objects.update(send_at=timezone.now() - dt.timedelta(seconds=1))


def test_a_worker_delivers_each_side_one_notification_and_a_task_run_twice_sends_nothing_more(
    world, broker, workers, tmp_path
):
    sms, mail_dir = tmp_path / "sms", tmp_path / "mail"
    _both_sides_write(world)
    workers(
        concurrency=2,
        env={
            "SMS_BACKEND": "notifications.sms.FileSMSBackend",
            "SMS_FILE_PATH": str(sms),
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
        },
    )
    assert delivery.notices_sweep()["queued"] == 3  # family email and SMS, coordinator email
    wait_until(lambda: NoticeDelivery.objects.filter(status="sent").count() == 3, timeout=40, message="all sent")
    # Every send task queued again, as a redelivered broker message would be.
    queue.enqueue_each(delivery.SEND, list(NoticeDelivery.objects.values_list("pk", flat=True)))
    assert delivery.notices_sweep()["queued"] == 0
    time.sleep(3)  # the repeated tasks run (and find nothing to send)
    assert len(_files(sms)) == 1
    assert json.loads(_files(sms)[0].read_text())["to"] == "+6591234567"
    mails = "".join(p.read_text() for p in mail_dir.iterdir())
    assert mails.count("Message-ID: <navigator-notice-") == 2  # one to the family, one to the coordinator
    assert f"To: {world.contact_b.email}" in mails and f"To: {world.bob.email}" in mails
    assert set(NoticeDelivery.objects.values_list("attempts", flat=True)) == {1}


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(world, broker, workers, tmp_path, settings):
    settings.NOTICE_REQUEUE_SECONDS = 3  # the sweep queues again what the killed worker had taken from the broker
    sms, mail_dir = tmp_path / "sms", tmp_path / "mail"
    _both_sides_write(world)
    slow = {
        "SMS_BACKEND": "notifications.tests.backends.SlowFileSMSBackend",
        "SMS_FILE_PATH": str(sms),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        # The provider accepts the SMS, then the worker hangs before recording it as sent.
        "SMS_TEST_SLEEP": "60",
        "SMS_TEST_SLEEP_WHEN": "after",
        "NOTICE_LEASE_SECONDS": "2",
    }
    first = workers(pool="solo", env=slow)
    delivery.notices_sweep()
    victim = wait_until(
        lambda: NoticeDelivery.objects.filter(status="sending", channel="sms").first() if _files(sms) else None,
        timeout=30,
        message="the SMS in the middle of sending",
    )
    first.kill()
    assert not NoticeDelivery.objects.filter(pk=victim.pk, status="sent").exists()

    workers(pool="solo", env={**slow, "SMS_TEST_SLEEP": "0"})
    wait_until(lambda: timezone.now() > victim.lease_until, timeout=5, message="the lease to expire")
    recovered = []

    def sweep_until_all_sent():
        recovered.append(delivery.notices_sweep()["recovered"])
        return NoticeDelivery.objects.filter(status="sent").count() == 3

    wait_until(sweep_until_all_sent, timeout=60, interval=1, message="everything sent")
    assert sum(recovered) == 1  # the expired lease, handed over once
    victim.refresh_from_db()
    assert victim.status == "sent" and victim.attempts == 2
    files = _files(sms)
    assert len(files) == 1  # the provider had it once: the idempotency key kept the retry from sending again
    assert json.loads(files[0].read_text())["idempotency_key"] == victim.idempotency_key
