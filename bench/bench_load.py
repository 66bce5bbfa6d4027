"""Load: gunicorn with the production settings on PostgreSQL with 100,000 cases, driven from
localhost, against a baseline served by the same server: the case list's page answered the
fastest reasonable way (same token lookup, one ``.values()`` query, orjson; bench/load_urls.py).

    .venv/bin/python bench/bench_load.py            # 100,000 cases, 5 rounds of 3 s per endpoint
    .venv/bin/python bench/bench_load.py --quick    # 10,000 cases, 5 rounds of 1 s

Endpoints: the coordinator's case list, one case's detail, a centre's referral list (with its
API key) and a packet fetch (JSON). The client is a bounded thread pool on keep-alive HTTP/1.1
connections (CONNECTIONS threads). Each endpoint alternates with the baseline over ROUNDS rounds.
Reported per endpoint: throughput per worker process (requests a second one gunicorn worker
serves, the capacity figure), its ratio to the baseline, and p50/p99 latency.
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

try:
    from bench import common
except ModuleNotFoundError:  # run as a script
    import common  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 2  # one per worker: closed-loop load that keeps every worker busy
WORKERS = 2
MAX_REQUESTS = 20_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn serving navigator.wsgi with the production settings (DEBUG off, HTTPS redirect
    off because the load comes over plain HTTP on localhost)."""

    def __init__(self, *, database_url: str, workers: int = WORKERS, env: dict | None = None, log_path=None):
        self.port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "navigator.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": database_url,
            # The load comes from one client; the per-user limit would turn it into 429s.
            "API_THROTTLE_USER": "1000000/minute",
            "PYTHONPATH": str(ROOT),
            **(env or {}),
        }
        self.args = [
            sys.executable,
            "-m",
            "gunicorn",
            "bench.load_wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--keep-alive",
            "30",
            "--graceful-timeout",
            "5",
        ]
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> Gunicorn:
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}")
            try:
                status, _ = request_once(self.port, "/healthz", {})
                if status in (200, 503):
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def request_once(port: int, path: str, headers: dict, method: str = "GET", body: bytes | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers={"Host": "127.0.0.1", **headers})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class LoadResult:
    path: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.errors_without_latency

    errors_without_latency: int = 0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] * 1000

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


def drive(port: int, path: str, headers: dict, *, seconds: float, connections: int = CONNECTIONS) -> LoadResult:
    """Closed-loop load: each thread keeps one keep-alive connection busy for ``seconds``."""
    result = LoadResult(path=path)
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    budget = [MAX_REQUESTS]

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, statuses, errors, broken = [], {}, 0, 0
        while time.monotonic() < stop_at:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            start = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Host": "127.0.0.1", **headers})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                broken += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            latencies.append(time.perf_counter() - start)
            statuses[status] = statuses.get(status, 0) + 1
            if status != 200:
                errors += 1
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors + broken
            result.errors_without_latency += broken
            for k, v in statuses.items():
                result.statuses[k] = result.statuses.get(k, 0) + v

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.elapsed = time.monotonic() - began
    return result


def prepare(target: int) -> dict:
    """Seed the benchmark database and create the callers; returns paths and headers."""
    from django.db import connection
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from cases.demo import seed_bulk
    from cases.models import Case
    from hospitals.models import Hospital, Referral
    from hospitals.services.credentials import credential_issue
    from hospitals.services.packets import packet_freeze

    have = Case.objects.count()
    if have < target:
        seed_bulk(count=target - have)
    coordinator = common.bench_user("load")
    token, _ = Token.objects.get_or_create(user=coordinator)
    hospital, _ = Hospital.objects.get_or_create(
        code="bench-centre",
        defaults={"name_en": "Bench Centre", "name_zh": "基准中心", "city": "Beijing", "country": "CN"},
    )
    # A centre with a realistic caseload: 200 referrals sent to it, spread over the cases.
    if not Referral.objects.filter(hospital=hospital).exists():
        ids = list(Case.objects.order_by("-id").values_list("pk", flat=True)[: 200 * 37 : 37])
        now = timezone.now()
        Referral.objects.bulk_create(
            [
                Referral(case_id=i, hospital=hospital, status=Referral.Status.SENT, sent_at=now, first_sent_at=now)
                for i in ids
            ]
        )
    referral = Referral.objects.filter(hospital=hospital).order_by("-id").first()
    packet, _ = packet_freeze(referral=referral, actor=coordinator)
    _, key = credential_issue(hospital=hospital, actor=coordinator, label="bench load")
    with connection.cursor() as cursor:
        # As autovacuum keeps a live database: planner statistics, and the visibility map that lets
        # a capped count read an index alone (a table seeded a moment ago has none yet).
        cursor.execute("VACUUM ANALYZE")
    case_id = Case.objects.order_by("-id").values_list("pk", flat=True)[Case.objects.count() // 2]
    coordinator_auth = {"Authorization": f"Token {token.key}"}
    hospital_auth = {"Authorization": f"Bearer {key}"}
    return {
        "baseline": ("/bench/baseline/", coordinator_auth),
        "case list": ("/api/v1/cases/", coordinator_auth),
        "case detail": (f"/api/v1/cases/{case_id}/", coordinator_auth),
        "referral list (centre)": ("/api/v1/referrals/", hospital_auth),
        "packet fetch (centre, JSON)": (
            f"/api/v1/referrals/{referral.pk}/packets/{packet.version}/json/",
            hospital_auth,
        ),
        "cases": Case.objects.count(),
    }


def run(quick: bool = False) -> list[dict]:
    database_url = common.bench_database_url()
    common.setup_django()
    target = 10_000 if quick else 100_000
    seconds = 1.0 if quick else 3.0
    plan = prepare(target)
    n_cases = plan.pop("cases")
    log = os.environ.get("BENCH_LOAD_LOG")
    server = Gunicorn(database_url=database_url, env={"LOG_LEVEL": "WARNING"}, log_path=log).start()
    base_path, base_headers = plan.pop("baseline")
    rows = []
    try:
        # Warm every worker's connections and caches, and make sure each endpoint answers 200.
        for name, (path, headers) in [("baseline", (base_path, base_headers)), *plan.items()]:
            status, body = request_once(server.port, path, headers)
            if status != 200:
                raise RuntimeError(f"{name}: {path} answered {status}: {body[:300]!r}")
            drive(server.port, path, headers, seconds=0.5)
        for name, (path, headers) in plan.items():
            merged, merged_base, ratios, per_worker, per_worker_base = (
                LoadResult(path),
                LoadResult(base_path),
                [],
                [],
                [],
            )
            for _ in range(common.ROUNDS):
                base = drive(server.port, base_path, base_headers, seconds=seconds)
                result = drive(server.port, path, headers, seconds=seconds)
                ratios.append(result.throughput / base.throughput if base.throughput else float("nan"))
                per_worker.append(result.throughput / WORKERS)
                per_worker_base.append(base.throughput / WORKERS)
                for into, r in ((merged, result), (merged_base, base)):
                    into.latencies.extend(r.latencies)
                    into.errors += r.errors
            goal = 0.5 if name == "case list" else None  # the case list within 2x of the baseline's time
            rows.append(
                common.row(
                    f"load {name}: req/s per worker",
                    statistics.median(per_worker),
                    statistics.median(per_worker_base),
                    "req/s",
                    f"{len(merged.latencies)} req, {merged.errors} errors; p50 {merged.pct(50):.1f} ms "
                    f"(baseline {merged_base.pct(50):.1f}), p99 {merged.pct(99):.1f} ms "
                    f"(baseline {merged_base.pct(99):.1f}); {n_cases:,} cases",
                    higher_is_better=True,
                    ratio=statistics.median(ratios),
                    spread=(min(ratios), max(ratios)),
                    goal=goal,
                )
            )
    finally:
        server.stop()
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    common.print_table(run(quick=parser.parse_args().quick))
