"""One Celery beat at a time: the scheduler sends only while it holds a PostgreSQL advisory lock.

Run as many beat processes as you like (a Deployment of two, a restart that overlaps the old
pod): the one that holds the lock ``navigator.locks.BEAT_LEADER`` sends the periodic tasks, the
others idle and try again every ``BEAT_STANDBY_SECONDS``. The lock belongs to a database session
of its own, so when the leader dies (or its connection drops) PostgreSQL releases it and a
standby takes over within seconds; the new leader reads the schedule afresh from the database
(``django_celery_beat``'s tables), where the old one recorded each task's last run.

On SQLite (the single-process demo) there is one beat and no lock.
"""

from __future__ import annotations

import logging

import psycopg
from django.conf import settings
from django.db import connection
from django_celery_beat.schedulers import DatabaseScheduler

from navigator import locks

logger = logging.getLogger(__name__)


def _conninfo() -> str:
    params = connection.get_connection_params()
    return psycopg.conninfo.make_conninfo(
        **{
            k: v
            for k, v in {
                "dbname": params.get("dbname") or connection.settings_dict["NAME"],
                "host": params.get("host"),
                "port": params.get("port"),
                "user": params.get("user"),
                "password": params.get("password"),
                "sslmode": params.get("sslmode"),
            }.items()
            if v
        },
        application_name="navigator-beat-leader",
        keepalives=1,
        keepalives_idle=10,
        keepalives_interval=5,
        keepalives_count=3,
    )


class BeatLeader:
    """The advisory lock, on a connection of its own (Django's may be closed between ticks)."""

    def __init__(self, key: tuple[int, int] = (locks.NAMESPACE_NAVIGATOR, locks.BEAT_LEADER)):
        self.key = key
        self.conn: psycopg.Connection | None = None

    def hold(self) -> bool:
        """True while this process is the leader: keeps the lock, or takes it if it is free."""
        if connection.vendor != "postgresql":
            return True
        try:
            if self.conn is not None:
                self.conn.execute("SELECT 1")  # still ours while the session lives
                return True
            conn = psycopg.connect(_conninfo(), autocommit=True)
            got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", self.key).fetchone()[0]
            if not got:
                conn.close()
                return False
            self.conn = conn
            logger.info("beat: this process is the leader and sends the periodic tasks")
            return True
        except psycopg.Error as exc:
            if self.conn is not None:
                logger.warning("beat: lost the leader lock (%s); standing by", type(exc).__name__)
            self.release()
            return False

    def release(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            try:
                conn.close()
            except psycopg.Error:
                logger.info("beat: closing the leader connection failed", exc_info=True)


class LeaderScheduler(DatabaseScheduler):
    """``django_celery_beat``'s database scheduler that sends only while it leads."""

    def __init__(self, *args, **kwargs):
        self.leader = BeatLeader()
        self.leading = False
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs):
        standby = getattr(settings, "BEAT_STANDBY_SECONDS", 5)
        if not self.leader.hold():
            if self.leading:
                self.leading = False
            return standby
        if not self.leading:
            # Taking over: read the schedule (and the last runs the old leader saved) afresh.
            self.leading = True
            self._initial_read = True
            self._heap = None
        return min(super().tick(*args, **kwargs), standby)

    def close(self):
        try:
            super().close()
        finally:
            self.leader.release()
