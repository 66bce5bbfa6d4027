"""Reminders sent by real Celery worker processes against Redis and the test database."""

import datetime as dt
import json

import pytest
from django.conf import settings
from django.utils import timezone

from navigator.celery import app
from scheduling import delivery
from scheduling.models import Reminder
from scheduling.services import milestone_upsert

from .workers import Worker, wait_until

# Committed rows, so the worker process sees them. A transactional test ends with a flush, which
# also empties the rows data migrations created; the project conftest's serialized rollback puts
# them back before the next transactional test, and ``seed_rows`` makes sure they are there.
pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seed_rows")]


def _seed():
    import importlib

    from django.apps import apps

    importlib.import_module("cases.migrations.0003_default_indication").create(apps, None)
    importlib.import_module("scheduling.migrations.0003_default_reminder_rules_and_sweep").forwards(apps, None)


@pytest.fixture
def seed_rows():
    _seed()


@pytest.fixture
def broker():
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.fail("These tests need Redis: run them with REDIS_URL=redis://127.0.0.1:6379/<n>.")
    app.control.purge()
    yield
    app.control.purge()


@pytest.fixture
def workers(tmp_path):
    started = []

    def start(**kwargs):
        w = Worker(log_path=tmp_path / "worker.log", **kwargs).start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.kill()


def _due_reminders(world, n_milestones, *, channels=("sms", "email")):
    for i in range(n_milestones):
        milestone_upsert(
            case=world.case_b,
            key=f"batch:{i}",
            kind="other",
            due_at=timezone.now() + dt.timedelta(hours=2, minutes=i),
            title=f"Appointment {i}",
            concerns_family=True,
        )
    Reminder.objects.exclude(channel__in=channels).delete()
    Reminder.objects.update(send_at=timezone.now() - dt.timedelta(minutes=1))
    return Reminder.objects.count()


def _sms_files(path):
    return sorted(path.glob("*.json"))


def test_a_worker_sends_a_batch_of_reminders_once_each(world, broker, workers, tmp_path):
    sms, mail_dir = tmp_path / "sms", tmp_path / "mail"
    total = _due_reminders(world, 10)
    assert total == 30  # per milestone: coordinator email, family email, family SMS
    workers(
        concurrency=2,
        env={
            "SMS_BACKEND": "notifications.sms.FileSMSBackend",
            "SMS_FILE_PATH": str(sms),
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
        },
    )
    assert delivery.reminders_sweep()["claimed"] == total
    wait_until(
        lambda: Reminder.objects.filter(status="sent").count() == total, timeout=40, message="all reminders sent"
    )
    assert len(_sms_files(sms)) == 10
    bodies = [json.loads(p.read_text())["body"] for p in _sms_files(sms)]
    assert all("Navigator" in b for b in bodies)
    mails = "".join(p.read_text() for p in mail_dir.iterdir())
    assert mails.count("Message-ID: <navigator-reminder-") == 20
    assert set(Reminder.objects.values_list("attempts", flat=True)) == {1}
    # Running the sweep again sends nothing more.
    assert delivery.reminders_sweep()["claimed"] == 0


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(world, broker, workers, tmp_path):
    sms = tmp_path / "sms"
    total = _due_reminders(world, 3, channels=("sms",))
    slow = {
        "SMS_BACKEND": "notifications.tests.backends.SlowFileSMSBackend",
        "SMS_FILE_PATH": str(sms),
        # The provider accepts the message, then the worker hangs before recording it as sent.
        "SMS_TEST_SLEEP": "60",
        "SMS_TEST_SLEEP_WHEN": "after",
        "REMINDER_LEASE_SECONDS": "2",
    }
    first = workers(pool="solo", env=slow)
    delivery.reminders_sweep()
    victim = wait_until(
        lambda: Reminder.objects.filter(status="sending").first() if _sms_files(sms) else None,
        timeout=30,
        message="a reminder in the middle of sending",
    )
    first.kill()
    assert Reminder.objects.filter(status="sent").count() == 0

    workers(pool="solo", env={**slow, "SMS_TEST_SLEEP": "0"})
    wait_until(
        lambda: Reminder.objects.filter(status="sent").count() == total - 1, timeout=30, message="the others sent"
    )
    victim.refresh_from_db()
    assert victim.status == "sending"  # nobody may take it while its lease holds
    wait_until(lambda: timezone.now() > victim.lease_until, timeout=5, message="the lease to expire")
    assert delivery.reminders_sweep()["recovered"] == 1
    wait_until(lambda: Reminder.objects.filter(status="sent").count() == total, timeout=30, message="the victim sent")

    victim.refresh_from_db()
    assert victim.attempts == 2
    files = _sms_files(sms)
    assert len(files) == total  # one message per reminder: nothing lost, nothing twice
    assert {json.loads(p.read_text())["idempotency_key"] for p in files} == {
        r.idempotency_key for r in Reminder.objects.all()
    }
