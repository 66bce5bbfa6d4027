"""Shared benchmark plumbing: a dedicated database, Django set-up, timing and result rows.

Benchmarks never assert; they print figures as ratios to a baseline measured in the
same run on the same machine, so the numbers mean something anywhere. Timed rows alternate
the measured thing and its baseline over several rounds (``interleaved``), so load from
other processes on a shared machine falls on both sides alike; each row prints the median
ratio and its spread over the rounds.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def bench_database_url() -> str:
    """The benchmark database: BENCH_DATABASE_URL, or DATABASE_URL with "_bench" appended to its name.

    The answer is remembered in BENCH_DATABASE_URL, so every benchmark of one run (each calls
    ``setup_django``, which points DATABASE_URL at it) uses the same database, never "…_bench_bench".
    """
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/navigator")
        parts = urlsplit(base)
        path = parts.path.rstrip("/")
        url = urlunsplit(parts._replace(path=path if path.endswith("_bench") else path + "_bench"))
        os.environ["BENCH_DATABASE_URL"] = url
    return url


def bench_user(name: str, **extra):
    """A coordinator of the benchmark's own (throttle history and audit rows are never shared)."""
    from accounts.models import User

    user, _ = User.objects.get_or_create(
        username=f"bench.{name}", defaults={"role": User.Role.COORDINATOR, "is_staff": True, **extra}
    )
    return user


def setup_django() -> None:
    """Point Django at the benchmark database (created if missing) and migrate it."""
    import django

    url = bench_database_url()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navigator.settings")
    os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    # The in-process benchmarks sign in with force_login, which has no second factor.
    os.environ.setdefault("ADMIN_REQUIRE_2FA", "0")
    # Each benchmark makes thousands of requests a minute as one user: the throttle still counts
    # every one (its cost is measured), but at this rate it never refuses.
    os.environ.setdefault("API_THROTTLE_USER", "1000000/minute")
    # One JSON log line per request would time the terminal, not the code.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    _create_database(url)
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    # Files a benchmark writes (uploads, media) go under var/, which a fresh clone lacks.
    (Path(settings.BASE_DIR) / "var").mkdir(exist_ok=True)


def _create_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` if it does not exist (other engines: nothing)."""
    parts = urlsplit(url)
    if parts.scheme.startswith("postgres"):
        import psycopg

        admin_url = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            name = parts.path.lstrip("/")
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')


def second_database(suffix: str) -> str:
    """A second benchmark database beside the first (its name with ``suffix``), created and
    migrated if needed; returns its name. Use it with ``on_database``."""
    from django.core.management import call_command
    from django.db import connection

    parts = urlsplit(bench_database_url())
    name = parts.path.lstrip("/") + suffix
    _create_database(urlunsplit(parts._replace(path="/" + name)))
    with on_database(name):
        call_command("migrate", verbosity=0, interactive=False)
    assert connection.settings_dict["NAME"] != name
    return name


@contextlib.contextmanager
def on_database(name: str):
    """Within the block, the default connection reaches the database ``name`` on the same server
    (the connection is closed and reopened on a change; per-process caches of table estimates
    and name statistics are cleared, as they would describe the other database)."""
    from django.db import connection

    previous = connection.settings_dict["NAME"]
    switch(name)
    try:
        yield
    finally:
        switch(previous)


def switch(name: str) -> None:
    """Point the default connection at the database ``name`` (nothing if it already is)."""
    from django.db import connection

    from cases import selectors
    from navigator import pagination

    if connection.settings_dict["NAME"] != name:
        connection.close()
        connection.settings_dict["NAME"] = name
        pagination._estimates.clear()
        selectors._statistics.update(read_at=float("-inf"))


def timed(fn, *, repeat: int, warmup: int = 2) -> float:
    """Median seconds per call."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


ROUNDS = 5


class Sample:
    """Per-round medians of a value and its baseline, measured alternately."""

    def __init__(self, values: list[float], baselines: list[float]):
        self.values, self.baselines = values, baselines
        self.ratios = [v / b if b else float("nan") for v, b in zip(values, baselines, strict=True)]

    @property
    def value(self) -> float:
        return statistics.median(self.values)

    @property
    def baseline(self) -> float:
        return statistics.median(self.baselines)

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.ratios), max(self.ratios)


def interleaved(
    value: Callable[[], object],
    baseline: Callable[[], object],
    *,
    rounds: int = ROUNDS,
    repeat: int = 10,
    warmup: int = 2,
    before_value: Callable[[], object] | None = None,
    before_baseline: Callable[[], object] | None = None,
) -> Sample:
    """Alternate ``baseline`` and ``value`` for ``rounds`` rounds of ``repeat`` calls each.

    Each round's figure is the median call time of that round (seconds); the ratio is taken
    per round, so a burst of load from elsewhere moves both sides of the round it falls in.
    ``before_value`` and ``before_baseline`` run, untimed, before each side's calls (e.g. to
    switch databases) and are followed by one untimed call.
    """
    value_block = _block(value, before_value)
    baseline_block = _block(baseline, before_baseline)
    for _ in range(warmup):
        baseline_block()
        baseline()
        value_block()
        value()
    values, baselines = [], []
    for _ in range(rounds):
        baseline_block()
        baselines.append(timed(baseline, repeat=repeat, warmup=0))
        value_block()
        values.append(timed(value, repeat=repeat, warmup=0))
    return Sample(values, baselines)


def _block(fn: Callable[[], object], before: Callable[[], object] | None) -> Callable[[], None]:
    """What runs untimed before a block of ``fn``'s calls: ``before`` and one call of ``fn``."""

    def prepare() -> None:
        if before is not None:
            before()
            fn()

    return prepare


class RedisCalls:
    """Counts Redis round trips (commands or pipelines sent) made inside the block."""

    def __init__(self):
        self.count = 0

    @contextlib.contextmanager
    def capture(self):
        from redis.connection import AbstractConnection

        original = AbstractConnection.send_packed_command
        counter = self

        def send_packed_command(conn, command, check_health=True):
            counter.count += 1
            return original(conn, command, check_health)

        AbstractConnection.send_packed_command = send_packed_command
        try:
            yield self
        finally:
            AbstractConnection.send_packed_command = original


def round_trips(fn: Callable[[], object]) -> tuple[int, int]:
    """(SQL queries, Redis round trips) of one call of ``fn``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    redis_calls = RedisCalls()
    with CaptureQueriesContext(connection) as queries, redis_calls.capture():
        fn()
    return len(queries.captured_queries), redis_calls.count


def row(
    name: str,
    value: float,
    baseline: float,
    unit: str,
    notes: str = "",
    higher_is_better: bool = False,
    *,
    ratio: float | None = None,
    spread: tuple[float, float] | None = None,
    goal: float | None = None,
) -> dict:
    """One result. ``ratio`` is value/baseline (for times: >1 means slower than the baseline);
    ``spread`` the lowest and highest per-round ratio; ``goal`` the ratio aimed at, if any."""
    if ratio is None:
        ratio = value / baseline if baseline else float("nan")
    return {
        "name": name,
        "value": value,
        "baseline": baseline,
        "ratio": ratio,
        "spread": spread,
        "goal": goal,
        "unit": unit,
        "notes": notes,
        "higher_is_better": higher_is_better,
    }


def sample_row(name: str, sample: Sample, *, scale: float = 1000, unit: str = "ms", notes: str = "", goal=None) -> dict:
    """A row from an interleaved sample (times in seconds, shown in ``unit``)."""
    return row(
        name,
        sample.value * scale,
        sample.baseline * scale,
        unit,
        notes,
        ratio=sample.ratio,
        spread=sample.spread,
        goal=goal,
    )


def _spread(r: dict) -> str:
    if not r.get("spread"):
        return ""
    low, high = r["spread"]
    return f"{low:.2f}-{high:.2f}"


def _goal(r: dict) -> str:
    goal = r.get("goal")
    if goal is None:
        return ""
    met = r["ratio"] >= goal if r["higher_is_better"] else r["ratio"] <= goal
    return f"{'≥' if r['higher_is_better'] else '≤'}{goal:g} {'ok' if met else 'MISSED'}"


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'benchmark':<56} {'value':>10} {'baseline':>10} {'ratio':>7} {'spread':>11} {'goal':>10}  {'unit':<6} notes"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['name']:<56} {r['value']:>10.4g} {r['baseline']:>10.4g} {r['ratio']:>7.2f} {_spread(r):>11} "
            f"{_goal(r):>10}  {r['unit']:<6} {r['notes']}"
        )
