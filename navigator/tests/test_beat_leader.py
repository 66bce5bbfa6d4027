"""One beat at a time: a second beat idles, and takes over when the first dies."""

import datetime as dt

import pytest
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from navigator.beat import BeatLeader, LeaderScheduler
from navigator.celery import app

pytestmark = pytest.mark.django_db(transaction=True)

TEST_KEY = (0x4E4156, 999)


def test_only_one_process_holds_the_leader_lock_and_a_standby_takes_it_when_the_leader_dies():
    first, second = BeatLeader(TEST_KEY), BeatLeader(TEST_KEY)
    try:
        assert first.hold() and first.hold()  # keeps it
        assert not second.hold()
        # The leader's session ends as when its process is killed: PostgreSQL frees the lock.
        pid = first.conn.info.backend_pid
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert not first.hold()  # it notices it lost the lock
        assert second.hold()
        assert not first.hold()
    finally:
        first.release()
        second.release()


class Recording(LeaderScheduler):
    """A scheduler that records what it would send instead of publishing it."""

    def __init__(self, *args, **kwargs):
        self.sent: list[str] = []
        super().__init__(*args, **kwargs)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        self.sent.append(entry.name)


def test_a_second_beat_sends_nothing_until_the_first_is_gone(settings):
    settings.BEAT_STANDBY_SECONDS = 1
    PeriodicTask.objects.update(enabled=False)  # only the test's task is due
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="test-every-second",
        task="outbox.purge_sent",
        interval=every,
        last_run_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
    )
    first = Recording(app=app)
    second = Recording(app=app)
    try:
        for _ in range(5):
            first.tick()
            assert second.tick() == 1
        assert "test-every-second" in first.sent
        assert second.sent == []
        first.leader.release()  # the first beat's process ends
        first.leading = False
        for _ in range(5):
            second.tick()
        assert "test-every-second" in second.sent
    finally:
        first.close()
        second.close()
