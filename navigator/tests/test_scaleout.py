"""Past one machine: two web instances behind a round-robin HAProxy, a worker per queue and two
beats, all on one PostgreSQL and one Redis.

- a 200 MB resumable upload whose PATCHes alternate between the instances completes with the
  right checksum; one instance killed in the middle of a PATCH, the upload finishes on the other;
- a centre's webhook receiver that hangs keeps the webhooks worker busy, and a due reminder is
  still sent within seconds by the reminders worker;
- of two beats, one sends: a once-a-second periodic task arrives once a second, and keeps
  arriving when the leading beat is killed;
- the metrics endpoint, scraped through the balancer, has the figures of all this.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from rest_framework.authtoken.models import Token

from documents.models import Document
from scheduling.models import Reminder
from scheduling.services import milestone_upsert
from scheduling.tests.test_celery_worker import _seed
from scheduling.tests.workers import database_url, wait_until
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import webhook_emit

ROOT = Path(settings.BASE_DIR)
SIZE = 200 * 1024 * 1024
CHUNK = 16 * 1024 * 1024
TOKEN = "scaleout-metrics-token"
TICK_QUEUE = "scaleout-tick"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.scaleout,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("haproxy") is None, reason="HAProxy is not installed (apt-get install haproxy)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Child processes, each in its own process group, killed at the end whatever happens."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name)


class HangingReceiver:
    """A webhook receiver that reads the request and never answers (a dead centre endpoint)."""

    def __init__(self):
        self.received = 0
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received += 1
                receiver.release.wait(120)

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


def haproxy_config(port: int, backends: dict[str, int]) -> str:
    servers = "\n".join(f"    server {name} 127.0.0.1:{p} check inter 1s fall 2 rise 1" for name, p in backends.items())
    return f"""global
    maxconn 256
defaults
    mode http
    timeout connect 2s
    timeout client 180s
    timeout server 180s
    timeout check 10s
    option http-server-close
    http-reuse never
    retries 3
    option redispatch
    retry-on conn-failure empty-response
frontend web
    bind 127.0.0.1:{port}
    default_backend navigator
backend navigator
    balance roundrobin
    option httpchk GET /livez
    http-response set-header X-Served-By %s
{servers}
"""


@pytest.fixture
def cluster(tmp_path, settings):
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.fail("The scale-out test needs Redis: run it with REDIS_URL=redis://127.0.0.1:6379/<n>.")
    procs = Processes(tmp_path)
    shared = tmp_path / "shared"
    (shared / "media").mkdir(parents=True)
    (shared / "uploads").mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DJANGO_SECRET_KEY": "scaleout-test",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_HSTS_SECONDS": "0",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        # One directory every instance mounts (the shared volume of a deployment on disk).
        "DOCUMENT_STORAGE": "local",
        "NAVIGATOR_MEDIA_ROOT": str(shared / "media"),
        "DOCUMENT_UPLOAD_DIR": str(shared / "uploads"),
        "METRICS_TOKEN": TOKEN,
        "API_THROTTLE_USER": "100000/minute",
        "WEBHOOKS_ALLOW_INSECURE_LOCALHOST": "1",
        "SMS_BACKEND": "notifications.sms.FileSMSBackend",
        "SMS_FILE_PATH": str(tmp_path / "sms"),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "BEAT_STANDBY_SECONDS": "1",
        "LOG_LEVEL": "INFO",
    }
    python = sys.executable
    web_ports = {"web1": free_port(), "web2": free_port()}
    for name, port in web_ports.items():
        procs.start(
            name,
            [python, "-m", "gunicorn", "navigator.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--worker-class", "gthread", "--threads", "4",
             "--timeout", "180", "--graceful-timeout", "5"],
            env,
        )  # fmt: skip
    lb_port = free_port()
    (tmp_path / "haproxy.cfg").write_text(haproxy_config(lb_port, web_ports))
    procs.start("haproxy", ["haproxy", "-db", "-f", str(tmp_path / "haproxy.cfg")], env)
    celery = [python, "-m", "celery", "-A", "navigator"]
    quiet = ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]
    procs.start(
        "worker-reminders",
        [*celery, "worker", "-Q", "reminders", "-n", "reminders@%h", "--pool=threads", "--concurrency=2",
         "--time-limit=120", "--soft-time-limit=90", *quiet],
        env,
    )  # fmt: skip
    procs.start(
        "worker-webhooks",
        [*celery, "worker", "-Q", "webhooks", "-n", "webhooks@%h", "--pool=threads", "--concurrency=1",
         "--time-limit=90", "--soft-time-limit=60", *quiet],
        env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{lb_port}"
    try:
        wait_until(lambda: _up(base, web_ports), timeout=90, message="both web instances behind HAProxy")
        yield {"base": base, "ports": web_ports, "procs": procs, "env": env, "tmp": tmp_path, "celery": celery}
    finally:
        procs.stop_all()


def _up(base, ports) -> bool:
    try:
        return (
            all(requests.get(f"http://127.0.0.1:{p}/livez", timeout=2).ok for p in ports.values())
            and requests.get(f"{base}/readyz", timeout=5).ok
        )
    except requests.RequestException:
        return False


def tus_headers(token, **extra):
    return {"Authorization": f"Token {token}", "Tus-Resumable": "1.0.0", **extra}


ATTEMPTS: list[tuple[int, str]] = []


def patch_with_retry(session, url, token, offset, body) -> requests.Response:
    """A tus client's PATCH: on 423 (another request still holds the upload) it waits and retries."""
    for _ in range(20):
        response = session.patch(
            url,
            data=body,
            headers=tus_headers(
                token,
                **{"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
            ),
            timeout=180,
        )
        ATTEMPTS.append((response.status_code, response.headers.get("X-Served-By", "")))
        if response.status_code != 423:
            return response
        time.sleep(0.5)
    return response


def test_two_instances_two_workers_two_beats_behind_a_balancer(world, cluster):
    _seed()
    base, procs = cluster["base"], cluster["procs"]
    token = Token.objects.create(user=world.alice).key
    tmp = cluster["tmp"]
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(TICK_QUEUE)

    # --- Two beats; a once-a-second task to count what they send, and a sweep every second.
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task="scheduling.reminders_sweep").update(interval=every_second, enabled=True)
    PeriodicTask.objects.exclude(task="scheduling.reminders_sweep").update(enabled=False)
    PeriodicTask.objects.create(
        name="scaleout tick", task="outbox.purge_sent", interval=every_second, queue=TICK_QUEUE, enabled=True
    )
    for name in ("beat1", "beat2"):
        procs.start(
            name,
            [*cluster["celery"], "beat", "--loglevel=INFO", f"--schedule={tmp / name}-schedule"],
            cluster["env"],
        )
    beats_started = time.monotonic()

    # --- A centre's endpoint that hangs, with deliveries waiting for the webhooks worker.
    receiver = HangingReceiver()
    try:
        WebhookEndpoint.objects.create(hospital=world.pkuph, url=receiver.url)
        for i in range(4):
            with transaction.atomic():
                webhook_emit(hospital=world.pkuph, type="referral.sent", data={"referral_id": 1000 + i})
        wait_until(lambda: receiver.received >= 1, timeout=60, message="the webhooks worker stuck on the receiver")

        # --- A reminder due now: sent by the reminders worker within seconds, whatever webhooks do.
        milestone_upsert(
            case=world.case_b,
            key="scaleout:visit",
            kind="other",
            due_at=timezone.now() + dt.timedelta(hours=2),
            title="Clinic visit",
            concerns_family=True,
        )
        Reminder.objects.exclude(channel="sms").delete()
        due_at = timezone.now()
        Reminder.objects.update(send_at=due_at)
        reminder = Reminder.objects.get()
        wait_until(
            lambda: Reminder.objects.filter(pk=reminder.pk, status="sent").exists(),
            timeout=60,
            message="the reminder sent",
        )
        reminder.refresh_from_db()
        lag = (reminder.sent_at - due_at).total_seconds()
        assert WebhookDelivery.objects.filter(status="succeeded").count() == 0  # still hanging
        # Sharing a worker with the deliveries, it would wait for each stuck attempt (up to the
        # webhook task's 60 s soft limit); on its own queue it waits for the next sweep and a send.
        assert lag < 15, f"a due reminder waited {lag:.1f} s behind hanging webhooks"
        print(f"reminder lag behind a hanging webhook receiver: {lag:.2f} s")

        # --- 200 MB through the balancer, PATCHes alternating between the instances.
        source = tmp / "scan.dcm"
        with open(source, "wb") as f:
            f.write(b"\x00" * 128 + b"DICM")
            remaining = SIZE - 132
            while remaining:
                piece = os.urandom(min(remaining, 8 * 1024 * 1024))
                f.write(piece)
                remaining -= len(piece)
        expected = hashlib.sha256(source.read_bytes()).hexdigest()
        session = requests.Session()
        meta = ",".join(
            f"{k} {base64.b64encode(v.encode()).decode()}"
            for k, v in {"case": str(world.case_a.pk), "doc_type": "imaging_study", "filename": "scan.dcm"}.items()
        )
        created = session.post(
            f"{base}/api/v1/uploads/",
            headers=tus_headers(token, **{"Upload-Length": str(SIZE), "Upload-Metadata": meta}),
            timeout=60,
        )
        assert created.status_code == 201, created.text
        location = created.headers["Location"]
        path = location.split("://", 1)[1].split("/", 1)[1]
        url = f"{base}/{path}"

        served_by = []
        offset = 0
        with open(source, "rb") as f:
            for _ in range(5):
                body = f.read(CHUNK)
                response = patch_with_retry(session, url, token, offset, body)
                assert response.status_code == 204, response.text
                offset = int(response.headers["Upload-Offset"])
                served_by.append(response.headers["X-Served-By"])
        assert set(served_by) == {"web1", "web2"}, served_by
        assert all(a != b for a, b in zip(served_by, served_by[1:], strict=False)), (served_by, ATTEMPTS)

        # --- web1 killed in the middle of a PATCH sent to it directly.
        conn = http.client.HTTPConnection("127.0.0.1", cluster["ports"]["web1"], timeout=60)
        conn.putrequest("PATCH", "/" + path)
        for key, value in tus_headers(
            token,
            **{
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(CHUNK),
            },
        ).items():
            conn.putheader(key, value)
        conn.endheaders()
        with open(source, "rb") as f:
            f.seek(offset)
            conn.send(f.read(CHUNK // 2))
        time.sleep(1)
        procs.kill("web1")
        conn.close()

        # The balancer notices; the committed offset is unchanged, and the rest goes through web2.
        heads = []
        for _ in range(60):
            head = session.head(url, headers=tus_headers(token), timeout=30)
            heads.append((head.status_code, head.headers.get("X-Served-By")))
            if heads[-3:] == [(200, "web2")] * 3:
                break
            time.sleep(0.5)
        assert heads[-3:] == [(200, "web2")] * 3, heads
        assert int(head.headers["Upload-Offset"]) == offset
        document_id = None
        with open(source, "rb") as f:
            f.seek(offset)
            while offset < SIZE:
                body = f.read(CHUNK)
                response = patch_with_retry(session, url, token, offset, body)
                assert response.status_code == 204, response.text
                assert response.headers["X-Served-By"] == "web2"
                offset = int(response.headers["Upload-Offset"])
                document_id = response.headers.get("Navigator-Document-Id")
        assert document_id is not None
        document = Document.objects.get(pk=document_id)
        assert document.size == SIZE and document.sha256 == expected
        stored = Path(cluster["env"]["NAVIGATOR_MEDIA_ROOT"]) / document.file.name
        digest = hashlib.sha256()
        with open(stored, "rb") as f:
            while piece := f.read(8 * 1024 * 1024):
                digest.update(piece)
        assert digest.hexdigest() == expected
        assert list(Path(cluster["env"]["DOCUMENT_UPLOAD_DIR"]).glob("*.part")) == []

        # --- Two beats, one sender: the once-a-second task arrived about once a second.
        elapsed = time.monotonic() - beats_started
        ticks = broker.llen(TICK_QUEUE)
        assert 0 < ticks <= elapsed + 2, (ticks, elapsed)
        logs = {name: procs.log(name) for name in ("beat1", "beat2")}
        leaders = [name for name, log in logs.items() if "is the leader" in log]
        assert len(leaders) == 1, logs
        # The leader dies; the other takes over and the ticks go on, still once a second.
        procs.kill(leaders[0])
        before, killed_at = broker.llen(TICK_QUEUE), time.monotonic()
        wait_until(lambda: broker.llen(TICK_QUEUE) >= before + 3, timeout=30, message="the standby beat took over")
        after = broker.llen(TICK_QUEUE) - before
        assert after <= time.monotonic() - killed_at + 2
        assert Reminder.objects.get().attempts == 1
        assert len(list((tmp / "sms").glob("*.json"))) == 1  # the reminder went out once

        # --- The metrics endpoint through the balancer.
        scraped = session.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        assert scraped.status_code == 200
        text = scraped.text
        assert 'navigator_upload_bytes_total{store="directory"}' in text
        assert 'task="scheduling.reminder_send"' in text and 'queue="reminders"' in text
        assert 'navigator_reminders_sent_total{channel="sms"}' in text
        assert 'navigator_celery_queue_depth{queue="webhooks"}' in text
        assert "django_http_requests_latency_seconds_by_route_bucket" in text
        assert world.case_a.reference not in text and world.case_a.patient.family_name not in text
        assert session.get(f"{base}/metrics", timeout=30).status_code == 404
    finally:
        receiver.close()
        broker.delete(TICK_QUEUE)
