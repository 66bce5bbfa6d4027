"""Fault: PostgreSQL restarted under load. Pass/fail; exit status 0 when every check holds.

    .venv/bin/python bench/faults/pg_restart.py [--seconds 16] [--down 3]

A private PostgreSQL cluster (initdb in a temporary directory, a free port, run as the
``postgres`` user when started as root) so the shared server is never touched; the schema is
migrated into it; gunicorn serves navigator with the production settings. Two client threads
read the case list and create cases (each with a unique marker in its summary) while the
cluster is stopped (fast shutdown) for ``--down`` seconds and started again.

Checks:
- no 500: during the outage requests answer 503 JSON {"code": "unavailable"};
- recovery: once the cluster is back, requests succeed again (within 10 s);
- no partial writes: every case acknowledged with 201 exists exactly once, with its opening
  status change and audit event; nothing exists for a request answered 503, except a commit
  whose answer was lost, which is reported separately.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_load import Gunicorn, free_port, request_once  # noqa: E402

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


class PrivatePostgres:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="nav-pg-fault-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def init(self) -> None:
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "start"
        )

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/navigator_fault"

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def django_env(url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SECRET_KEY": "fault-script-" + "x" * 50,
        "DJANGO_SETTINGS_MODULE": "navigator.settings",
        "PYTHONPATH": str(ROOT),
    }


SETUP = """
import django, json; django.setup()
from rest_framework.authtoken.models import Token
from accounts.models import User
from cases.factories import PatientFactory
user = User.objects.create(username="fault.coordinator", role="coordinator", is_staff=True)
patient = PatientFactory()
print(json.dumps({"token": Token.objects.create(user=user).key, "patient": patient.pk}))
"""

VERIFY = """
import django, json, sys; django.setup()
from audit.models import AuditEvent
from cases.models import Case, StatusChange
markers = json.load(sys.stdin)
rows = {}
for marker in markers:
    cases = list(Case.objects.filter(summary=marker).values_list("pk", flat=True))
    complete = all(
        StatusChange.objects.filter(case_id=pk, reason="Case opened").count() == 1
        and AuditEvent.objects.filter(case_id=pk, action="create", object_type="cases.Case").exists()
        for pk in cases
    )
    rows[marker] = {"count": len(cases), "complete": complete}
print(json.dumps(rows))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=16.0)
    parser.add_argument("--down", type=float, default=3.0)
    args = parser.parse_args()

    pg = PrivatePostgres()
    server = None
    try:
        pg.init()
        pg.start()
        subprocess.run(
            [
                "runuser" if pg.as_postgres else "env",
                *(["-u", "postgres", "--"] if pg.as_postgres else []),
                str(PG_BIN / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(pg.port),
                "-U",
                "postgres",
                "navigator_fault",
            ],
            check=True,
            capture_output=True,
        )
        env = django_env(pg.url)
        print("migrating the private cluster ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        made = subprocess.run(
            [sys.executable, "-c", SETUP], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
        setup = json.loads(made.stdout.strip().splitlines()[-1])
        server = Gunicorn(database_url=pg.url, env={"LOG_LEVEL": "WARNING"}).start()
        auth = {"Authorization": f"Token {setup['token']}"}

        events: list[tuple[float, str, int, str]] = []  # (time, kind, status, marker)
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds
        started = time.monotonic()

        def reader():
            while time.monotonic() < stop_at:
                try:
                    status, body = request_once(server.port, "/api/v1/cases/", auth)
                except OSError:
                    status, body = -1, b""
                code = ""
                if status == 503:
                    code = json.loads(body).get("code", "")
                with lock:
                    events.append((time.monotonic() - started, "read", status, code))
                time.sleep(0.02)

        def writer():
            n = 0
            while time.monotonic() < stop_at:
                n += 1
                marker = f"fault-marker-{n}"
                payload = json.dumps({"patient": setup["patient"], "summary": marker}).encode()
                try:
                    status, _ = request_once(
                        server.port,
                        "/api/v1/cases/",
                        {**auth, "Content-Type": "application/json"},
                        method="POST",
                        body=payload,
                    )
                except OSError:
                    status = -1
                with lock:
                    events.append((time.monotonic() - started, "write", status, marker))
                time.sleep(0.05)

        threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
        for t in threads:
            t.start()
        time.sleep(args.seconds / 4)
        down_at = time.monotonic() - started
        pg.stop()
        time.sleep(args.down)
        pg.start()
        up_at = time.monotonic() - started
        for t in threads:
            t.join()

        statuses: dict[int, int] = {}
        for _, _, status, _ in events:
            statuses[status] = statuses.get(status, 0) + 1
        written = [m for _, kind, s, m in events if kind == "write" and s == 201]
        refused = [m for _, kind, s, m in events if kind == "write" and s != 201]
        check = subprocess.run(
            [sys.executable, "-c", VERIFY],
            cwd=ROOT,
            env=env,
            input=json.dumps(written + refused),
            capture_output=True,
            text=True,
            check=True,
        )
        rows = json.loads(check.stdout.strip().splitlines()[-1])
        lost = [m for m in written if rows[m]["count"] != 1]
        partial = [m for m, r in rows.items() if r["count"] and not r["complete"]]
        committed_but_refused = [m for m in refused if rows[m]["count"]]
        recovered_at = next((t for t, _, s, _ in events if t > up_at and s in (200, 201)), None)
        after = [e for e in events if recovered_at is not None and e[0] > recovered_at + 1.0]
        during = [e for e in events if down_at < e[0] < up_at]
        results = {
            "requests": len(events),
            "statuses": statuses,
            "outage_s": round(up_at - down_at, 2),
            "requests_during_outage": len(during),
            "503_unavailable": sum(1 for e in events if e[2] == 503),
            "first_success_after_restart_s": round(recovered_at - up_at, 2) if recovered_at else None,
            "cases_acknowledged": len(written),
            "acknowledged_but_missing_or_doubled": len(lost),
            "partial_writes": len(partial),
            "refused_but_committed": len(committed_but_refused),
        }
        checks = {
            "no 500 or connection errors": not any(s >= 500 and s != 503 or s == -1 for _, _, s, _ in events),
            "503s during the outage": results["503_unavailable"] > 0,
            "503s carry code 'unavailable'": all(
                e[3] == "unavailable" for e in events if e[1] == "read" and e[2] == 503
            ),
            "recovered within 10 s": recovered_at is not None and recovered_at - up_at < 10,
            "every request succeeds once recovered": bool(after) and all(s in (200, 201) for _, _, s, _ in after),
            "every acknowledged case exists once": not lost,
            "no partial writes": not partial,
        }
        print(json.dumps(results, indent=2))
        for name, ok in checks.items():
            print(f"{'PASS' if ok else 'FAIL'}  {name}")
        return 0 if all(checks.values()) else 1
    finally:
        if server is not None:
            server.stop()
        pg.cleanup()


if __name__ == "__main__":
    sys.exit(main())
