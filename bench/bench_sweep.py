"""The reminder sweep and the send rate.

1. Sweep cost: claiming 1,000 due reminders among 10,000 future ones (the baseline) and
   among 1,000,000 (100,000 with --quick). The due query walks the partial index on
   send_at WHERE status = 'pending', so the ratio should stay near 1.
2. Send rate: reminders sent per second by two real Celery workers (Redis broker, file
   SMS backend), against one worker in the same run as the baseline.

    .venv/bin/python bench/bench_sweep.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import shutil
import tempfile
import time

try:
    from bench import common
except ModuleNotFoundError:  # run as a script
    import common  # type: ignore[no-redef]

DUE = 1_000


def _fixture_case():
    from cases.factories import CaseFactory, ContactFactory, CoordinatorFactory, PatientFactory

    coordinator = CoordinatorFactory(username="bench-sweep-coordinator")
    patient = PatientFactory()
    ContactFactory(patient=patient, email="", phone="+77011234567", time_zone="UTC")
    return CaseFactory(patient=patient, coordinator=coordinator)


def _milestone(case, key):
    from django.utils import timezone

    from scheduling.models import Milestone

    return Milestone.objects.create(
        case=case, key=key, kind="other", title="Bench", due_at=timezone.now() + dt.timedelta(days=400)
    )


def _copy_reminders(milestone_id: int, n: int, start: dt.datetime, step: dt.timedelta, prefix: str) -> None:
    """COPY n pending reminders (bulk loading a million rows in seconds, not minutes)."""
    from django.db import connection

    buf = io.StringIO()
    for i in range(n):
        at = (start + step * i).isoformat()
        buf.write(
            f"{milestone_id}\t{prefix}{i}\tf\tcoordinator\tuser:0\tsms\ten\tUTC\t{at}\tpending\t0\t\t\t\t{at}\t{at}\n"
        )
    buf.seek(0)
    columns = (
        "milestone_id, slot, is_escalation, audience, recipient, channel, language, time_zone, send_at, status, "
        "attempts, provider_ref, delivery, last_error, created_at, updated_at"
    )
    with connection.cursor() as cursor:
        with cursor.connection.cursor().copy(f"COPY scheduling_reminder ({columns}) FROM STDIN") as copy:
            copy.write(buf.getvalue())
        cursor.execute("ANALYZE scheduling_reminder")


def _sweep_seconds() -> list[float]:
    """Median time of one sweep claiming the 1,000 due reminders, rolled back each time."""
    from django.db import transaction

    from scheduling import delivery

    def once():
        with transaction.atomic():
            result = delivery.reminders_sweep(batch=DUE)
            assert result["claimed"] == DUE, result
            transaction.set_rollback(True)  # nothing enqueued, rows back to pending for the next run

    return _rounds(once, repeat=3)


def _rounds(fn, *, repeat: int) -> list[float]:
    """Per-round median seconds over ROUNDS rounds (one table size at a time: the two sizes
    cannot alternate, so each is measured in rounds and the ratio is taken round by round)."""
    fn()
    return [common.timed(fn, repeat=repeat, warmup=0) for _ in range(common.ROUNDS)]


def _find_seconds() -> list[float]:
    """Median time of the sweep's due-reminder query alone (no claim, no writes)."""
    from django.utils import timezone

    from scheduling.models import Reminder

    def once():
        qs = Reminder.objects.filter(status=Reminder.Status.PENDING, send_at__lte=timezone.now()).order_by("send_at")
        assert len(list(qs.values_list("pk", flat=True)[:DUE])) == DUE

    return _rounds(once, repeat=5)


def _sweep_rows(quick: bool) -> list[dict]:
    from django.db import connection
    from django.utils import timezone

    from scheduling.models import Milestone, Reminder

    case = _fixture_case()
    now = timezone.now()
    sizes = [10_000, 100_000 if quick else 1_000_000]
    results = {}
    try:
        for future in sizes:
            Reminder.objects.filter(milestone__case=case).delete()
            Milestone.objects.filter(case=case).delete()
            due_m = _milestone(case, "due")
            fut_m = _milestone(case, "future")
            _copy_reminders(due_m.pk, DUE, now - dt.timedelta(hours=2), dt.timedelta(seconds=1), "d")
            t0 = time.perf_counter()
            _copy_reminders(fut_m.pk, future, now + dt.timedelta(days=1), dt.timedelta(seconds=3), "f")
            load = time.perf_counter() - t0
            results[future] = (_sweep_seconds(), load, _find_seconds())
        with connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN SELECT id FROM scheduling_reminder WHERE status = 'pending' AND send_at <= now() "
                "ORDER BY send_at LIMIT 1000"
            )
            plan = " ".join(r[0] for r in cursor.fetchall())
    finally:
        Reminder.objects.filter(milestone__case=case).delete()
        Milestone.objects.filter(case=case).delete()
    small, big = sizes
    uses_index = "reminder_pending_send_at" in plan
    find = common.Sample(results[big][2], results[small][2])
    claim = common.Sample(results[big][0], results[small][0])
    return [
        common.sample_row(
            f"sweep: find {DUE:,} due among {big:,} future",
            find,
            notes=f"baseline: among {small:,} future; the indexed due query alone",
        ),
        common.sample_row(
            f"sweep: find + claim {DUE:,} due among {big:,} future",
            claim,
            notes=f"baseline: among {small:,} future; partial index used: {uses_index}; the UPDATE also writes "
            f"every index of the table (log n); loaded {big:,} rows by COPY in {results[big][1]:.1f}s",
        ),
    ]


def _send_rate(n: int, workers: int) -> float:
    """Reminders per second from the sweep's commit to the last 'sent', with ``workers`` workers."""
    from django.utils import timezone

    from scheduling import delivery
    from scheduling.models import Milestone, Reminder
    from scheduling.tests.workers import Worker, wait_until

    case = _fixture_case()
    contact = case.patient.contacts.first()
    m = _milestone(case, f"send-{workers}")
    Reminder.objects.bulk_create(
        [
            Reminder(
                milestone=m,
                slot=f"s{i}",
                audience="family",
                recipient=f"contact:{contact.pk}",
                contact=contact,
                channel="sms",
                send_at=timezone.now() - dt.timedelta(minutes=1, seconds=i),
            )
            for i in range(n)
        ],
        batch_size=1000,
    )
    sms_dir = tempfile.mkdtemp(prefix="bench-sms-")
    env = {"SMS_BACKEND": "notifications.sms.FileSMSBackend", "SMS_FILE_PATH": sms_dir, "LOG_LEVEL": "WARNING"}
    started = [Worker(pool="solo", env=env).start() for _ in range(workers)]
    try:
        time.sleep(6)  # let the workers boot before the clock starts
        t0 = time.perf_counter()
        delivery.reminders_sweep(batch=n)
        wait_until(
            lambda: Reminder.objects.filter(milestone=m, status="sent").count() == n,
            timeout=300,
            interval=0.2,
            message="all sent",
        )
        elapsed = time.perf_counter() - t0
    finally:
        for w in started:
            w.stop()
        Reminder.objects.filter(milestone=m).delete()
        Milestone.objects.filter(pk=m.pk).delete()
        shutil.rmtree(sms_dir, ignore_errors=True)
    return n / elapsed


def run(quick: bool = False) -> list[dict]:
    common.setup_django()
    from django.conf import settings

    rows = _sweep_rows(quick)
    if settings.CELERY_BROKER_URL.startswith("redis"):
        n = 200 if quick else 1000
        from navigator.celery import app

        app.control.purge()
        one = _send_rate(n, 1)
        two = _send_rate(n, 2)
        rows.append(
            common.row(
                f"send rate: {n:,} SMS reminders, two workers",
                two,
                one,
                "msg/s",
                "baseline: one worker; real Celery workers (solo pool) on Redis, file SMS backend",
                higher_is_better=True,
            )
        )
    else:
        print("send rate skipped: set REDIS_URL to a Redis database to measure it")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    common.print_table(run(quick=args.quick))
