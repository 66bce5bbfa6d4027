"""Shared benchmark plumbing: a dedicated database, Django set-up, timing and result rows.

Benchmarks never assert; they print figures as ratios to a baseline measured in the
same run on the same machine, so the numbers mean something anywhere.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def bench_database_url() -> str:
    """The benchmark database: BENCH_DATABASE_URL, or DATABASE_URL with "_bench" appended to its name."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/navigator")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_bench"))


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
    parts = urlsplit(url)
    if parts.scheme.startswith("postgres"):
        import psycopg

        admin_url = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            name = parts.path.lstrip("/")
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


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


def row(name: str, value: float, baseline: float, unit: str, notes: str = "", higher_is_better: bool = False) -> dict:
    """One result. ``ratio`` is value/baseline (for times: >1 means slower than the baseline)."""
    ratio = value / baseline if baseline else float("nan")
    return {
        "name": name,
        "value": value,
        "baseline": baseline,
        "ratio": ratio,
        "unit": unit,
        "notes": notes,
        "higher_is_better": higher_is_better,
    }


def print_table(rows: list[dict]) -> None:
    header = f"{'benchmark':<52} {'value':>12} {'baseline':>12} {'ratio':>7}  {'unit':<8} notes"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['name']:<52} {r['value']:>12.4g} {r['baseline']:>12.4g} {r['ratio']:>7.2f}  {r['unit']:<8} "
            f"{r['notes']}"
        )
