"""Starting and killing real Celery worker processes for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The database the current process is using (the test database under pytest)."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def broker_url() -> str:
    return settings.CELERY_BROKER_URL


class Worker:
    """``celery -A navigator worker`` in its own process group, pointed at our database and broker."""

    def __init__(self, *, pool: str = "prefork", concurrency: int = 1, env: dict | None = None, log_path=None):
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": broker_url(),
            "CELERY_BROKER_URL": broker_url(),
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "test-worker"),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            **(env or {}),
        }
        self.args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "navigator",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            self.name,
        ]
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group: the worker and its pool children die mid-task."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_until(predicate, *, timeout: float, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
