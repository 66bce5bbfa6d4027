"""Faults: the parts Navigator stands on fail, and it answers clearly, keeps nothing half-done,
and recovers.

- the document storage is full or read-only during an upload (a real 1 MiB tmpfs);
- the database is unreachable (the connection points at a closed port) and comes back;
- the private Redis broker is stopped and restarted (losing its queue) during a reminder sweep
  worked by a real Celery worker.

PostgreSQL restarted under load against gunicorn is ``bench/faults/pg_restart.py`` (it starts a
private cluster, too slow for every CI run).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from cases.models import Case
from documents.models import Document
from navigator.routing import QUEUES

from .support import seed_migration_rows

# --- Storage full or read-only -------------------------------------------------------------


def dicom(size: int, seed: int = 3) -> bytes:
    return b"\x00" * 128 + b"DICM" + bytes([seed]) * (size - 132)


def _mount_tmpfs(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    return result.returncode == 0


@pytest.fixture
def small_storage(settings, tmp_path):
    """The default storage on a real 1 MiB filesystem (tmpfs), unmounted afterwards."""
    mounts = []

    def mount(*, read_only: bool = False) -> Path:
        path = tmp_path / f"media-{len(mounts)}"
        if not _mount_tmpfs(path, "size=1m" + (",ro" if read_only else "")):
            pytest.skip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)")
        mounts.append(path)
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(path), "base_url": None},
            },
        }
        return path

    yield mount
    for path in mounts:
        subprocess.run(["umount", str(path)], check=False)


def stored_files(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


def upload(client, case, data: bytes, name: str = "scan.dcm"):
    file = io.BytesIO(data)
    file.name = name
    return client.post("/api/v1/documents/", {"case": case.pk, "doc_type": "imaging_study", "file": file})


def test_an_upload_to_a_full_storage_is_refused_clearly_and_nothing_is_kept(client, world, small_storage):
    media = small_storage()
    client.force_login(world.alice)
    response = upload(client, world.case_a, dicom(3 * 1024 * 1024))
    assert response.status_code == 507, response.content[:300]
    body = response.json()
    assert body["code"] == "storage_full" and "storage is full" in body["detail"]
    assert not Document.objects.exists()
    # Once there is room again, a smaller upload goes through.
    for partial in stored_files(media):
        partial.unlink()
    small = upload(client, world.case_a, dicom(64 * 1024))
    assert small.status_code == 201, small.content[:300]


def test_an_upload_to_a_full_storage_leaves_no_partial_file(client, world, small_storage):
    media = small_storage()
    client.force_login(world.alice)
    assert upload(client, world.case_a, dicom(3 * 1024 * 1024)).status_code == 507
    assert stored_files(media) == [], "a half-written file was left behind"


def test_an_upload_to_a_read_only_storage_is_refused_clearly_and_nothing_is_kept(client, world, small_storage):
    media = small_storage(read_only=True)
    client.force_login(world.alice)
    response = upload(client, world.case_a, dicom(64 * 1024))
    assert response.status_code == 503, response.content[:300]
    assert response.json()["code"] == "storage_unavailable"
    assert not Document.objects.exists()
    assert stored_files(media) == []


def test_a_resumable_upload_to_a_full_disk_is_refused_and_keeps_only_the_recorded_offset(world, settings, tmp_path):
    import base64

    from rest_framework.test import APIClient

    uploads = tmp_path / "uploads"
    if not _mount_tmpfs(uploads, "size=1m"):
        pytest.skip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)")
    try:
        settings.DOCUMENT_UPLOAD_DIR = str(uploads)
        client = APIClient()
        client.force_authenticate(world.ivanova)
        data = dicom(3 * 1024 * 1024)
        meta = {"case": str(world.case_a.pk), "doc_type": "imaging_study", "filename": "ct.dcm"}
        created = client.post(
            "/api/v1/uploads/",
            HTTP_TUS_RESUMABLE="1.0.0",
            HTTP_UPLOAD_LENGTH=str(len(data)),
            HTTP_UPLOAD_METADATA=",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items()),
        )
        assert created.status_code == 201, created.content[:300]
        location = created["Location"]
        response = client.generic(
            "PATCH",
            location,
            data,
            content_type="application/offset+octet-stream",
            HTTP_TUS_RESUMABLE="1.0.0",
            HTTP_UPLOAD_OFFSET="0",
        )
        assert response.status_code == 507, response.content[:300]
        assert response.json()["code"] == "storage_full"
        # The recorded offset did not move: the client resumes from there once there is room.
        assert client.head(location, HTTP_TUS_RESUMABLE="1.0.0")["Upload-Offset"] == "0"
        assert not Document.objects.exists()
    finally:
        subprocess.run(["umount", str(uploads)], check=False)


# --- Database unreachable ----------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def database_outage():
    """Point the connection at a closed port (as if PostgreSQL were down), then restore it."""
    original = dict(connection.settings_dict)

    def down():
        connection.close()
        connection.settings_dict["PORT"] = str(_closed_port())
        connection.settings_dict["HOST"] = "127.0.0.1"

    def up():
        connection.close()
        connection.settings_dict.update(original)

    yield down, up
    up()


# Transactional (the connection is closed mid-test); the serialized rollback puts back the rows
# data migrations created, for the tests that follow.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_unreachable_database_answers_503_json_and_service_recovers(client, world, database_outage, settings):
    down, up = database_outage
    client.force_login(world.alice)
    before = Case.objects.count()
    down()
    for method, url in (("get", "/api/v1/cases/"), ("get", f"/api/v1/cases/{world.case_a.pk}/"), ("get", "/healthz")):
        response = getattr(client, method)(url)
        assert response.status_code == 503, (url, response.status_code)
        assert response["Content-Type"].startswith("application/json")
    body = client.get("/api/v1/cases/").json()
    assert body["code"] == "unavailable" and body["fields"] == {}
    created = client.post(
        "/api/v1/cases/",
        {"patient": world.patient_a.pk, "summary": "second opinion"},
        content_type="application/json",
    )
    assert created.status_code == 503 and created["Retry-After"] == "5"
    # The admin too answers 503, not a server error page.
    assert client.get("/admin/cases/case/").status_code == 503

    up()
    assert client.get("/api/v1/cases/").status_code == 200
    assert client.get("/healthz").status_code in (200, 503)  # the broker may be absent in CI
    assert Case.objects.count() == before, "a request during the outage left a row behind"


# --- Redis stopped and restarted during a reminder sweep ---------------------------------------


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reminders_resume_after_redis_is_stopped_and_restarted_mid_sweep(private_redis, celery_on, tmp_path):
    from navigator.testing import make_world

    seed_migration_rows()
    world = make_world()
    from scheduling import conf, delivery
    from scheduling.models import Reminder
    from scheduling.services import milestone_upsert
    from scheduling.tests.workers import Worker, wait_until

    sms = tmp_path / "sms"
    for i in range(6):
        milestone_upsert(
            case=world.case_b,
            key=f"fault:{i}",
            kind="other",
            due_at=timezone.now() + dt.timedelta(hours=2, minutes=i),
            title=f"Appointment {i}",
            concerns_family=True,
        )
    Reminder.objects.exclude(channel="sms").delete()
    Reminder.objects.update(send_at=timezone.now() - dt.timedelta(minutes=1))
    total = Reminder.objects.count()
    assert total == 6

    worker = Worker(
        pool="solo",
        log_path=tmp_path / "worker.log",
        env={
            "CELERY_BROKER_URL": private_redis.url,
            "REDIS_URL": private_redis.url,
            "SMS_BACKEND": "notifications.tests.backends.SlowFileSMSBackend",
            "SMS_FILE_PATH": str(sms),
            "SMS_TEST_SLEEP": "0.7",
        },
    ).start()
    try:
        assert delivery.reminders_sweep()["claimed"] == total
        wait_until(lambda: Reminder.objects.filter(status="sent").exists(), timeout=60, message="a first send")
        # Redis dies with the queue in it (no persistence), then comes back empty.
        private_redis.stop()
        sent_before_restart = Reminder.objects.filter(status="sent").count()
        assert sent_before_restart < total, "the worker finished before the fault; slow it down"
        time.sleep(1.0)
        private_redis.start()
        # The next sweep (beat runs it every minute) finds what was queued but never picked up,
        # and what a worker held when the broker went away, and enqueues it again.
        later = timezone.now() + dt.timedelta(seconds=max(conf.requeue_after_seconds(), conf.lease_seconds()) + 1)
        resumed = delivery.reminders_sweep(now=later)
        assert resumed["requeued"] + resumed["recovered"] >= 1
        wait_until(
            lambda: Reminder.objects.filter(status="sent").count() == total, timeout=90, message="every reminder sent"
        )
    finally:
        worker.stop()

    files = sorted(sms.glob("*.json"))
    keys = [json.loads(p.read_text())["idempotency_key"] for p in files]
    assert len(keys) == len(set(keys)) == total, "a reminder was lost or sent twice"
    assert set(keys) == {r.idempotency_key for r in Reminder.objects.all()}
    print(
        f"redis restart mid-sweep: {total} reminders, {sent_before_restart} sent before the restart, "
        f"{total - sent_before_restart} after; lost 0, duplicated {len(keys) - len(set(keys))}"
    )


def test_the_private_redis_is_never_the_shared_one(private_redis):
    redis = private_redis
    assert redis.port != 6379
    assert os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9") != redis.url
    assert django_settings.CELERY_BROKER_URL != redis.url


# --- Redis killed under load: the task outbox keeps every task ---------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_redis_killed_under_load_fails_no_request_and_loses_no_task(private_redis, celery_on):
    """Requests that enqueue work run while the broker is killed and restarted: none fails, and
    every task they queued reaches the broker exactly once (fast path or relay)."""
    import threading
    from collections import Counter

    import redis as redis_client
    from celery.signals import after_task_publish
    from django.core.management import call_command
    from django.db import connection as db_connection
    from django.test import Client

    from eligibility.models import CentreCriteria
    from navigator.testing import make_world
    from outbox.models import OutboxTask
    from outbox.tests.test_outbox import criteria_post

    seed_migration_rows()
    world = make_world()
    criteria = CentreCriteria.objects.create(hospital=world.pkuph)
    url = f"/admin/eligibility/centrecriteria/{criteria.pk}/change/"
    published: list[str] = []

    def record(sender=None, headers=None, **kwargs):
        published.append(headers["id"])

    after_task_publish.connect(record, weak=False)
    statuses: list[int] = []
    errors: list[BaseException] = []
    per_thread, threads_n = 30, 2
    done = threading.Semaphore(0)

    def load(seed: int):
        client = Client()
        client.force_login(world.sam)
        try:
            for i in range(per_thread):
                data = criteria_post(criteria, (seed + i) % 4, notes=f"{seed}-{i}")
                statuses.append(client.post(url, data).status_code)
                done.release()
        except BaseException as exc:  # noqa: BLE001 - surfaced below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=load, args=(n,)) for n in range(threads_n)]
    try:
        for t in threads:
            t.start()
        total = per_thread * threads_n
        for _ in range(total // 3):
            done.acquire(timeout=60)
        private_redis.stop()  # killed, with its queue (no persistence)
        for _ in range(total // 3):
            done.acquire(timeout=60)
        restarted_at = timezone.now()
        private_redis.start()
        for t in threads:
            t.join(120)
    finally:
        after_task_publish.disconnect(record)
    assert errors == []
    assert len(statuses) == total and set(statuses) == {302}, Counter(statuses)
    waiting = OutboxTask.objects.filter(sent_at__isnull=True).count()
    assert waiting >= 1, "no request ran while the broker was down; lengthen the outage"

    after_task_publish.connect(record, weak=False)
    try:
        call_command("outbox_relay", "--once")
    finally:
        after_task_publish.disconnect(record)

    rows = list(OutboxTask.objects.all())
    assert len(rows) == total, "a request's task was not written"
    assert all(r.sent_at is not None for r in rows), "a task was left unsent"
    counts = Counter(published)
    assert set(counts) == {r.task_id for r in rows} and set(counts.values()) == {1}, counts.most_common(3)
    # What the restarted broker holds is exactly what was sent after the restart.
    restarted = redis_client.Redis.from_url(private_redis.url)
    queued = [json.loads(m)["headers"]["id"] for queue in QUEUES for m in restarted.lrange(queue, 0, -1)]
    assert sorted(queued) == sorted(r.task_id for r in rows if r.sent_at >= restarted_at)
    print(
        f"redis killed under load: {total} requests, 0 failed, {waiting} tasks waited for the relay, "
        f"{len(published)} publishes for {total} tasks, lost 0, duplicated {len(published) - len(counts)}"
    )
