"""Support for the hardening suites: a private Redis server, the rows data migrations create."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of our own on a free port, without persistence: a restart loses its queue."""

    def __init__(self, directory: Path):
        self.port = _free_port()
        self.directory = directory
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.skip("redis-server is not installed")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def seed_migration_rows() -> None:
    """Rows the data migrations create; a transactional test's flush removes them."""
    import importlib

    from django.apps import apps

    importlib.import_module("cases.migrations.0003_default_indication").create(apps, None)
    importlib.import_module("scheduling.migrations.0003_default_reminder_rules_and_sweep").forwards(apps, None)
    importlib.import_module("privacy.migrations.0002_erasure_schedule").forward(apps, None)
    importlib.import_module("outbox.migrations.0002_purge_schedule").forward(apps, None)
