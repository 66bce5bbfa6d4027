"""Locks that hold across processes and machines: PostgreSQL advisory locks.

A session-level advisory lock belongs to one database connection: it is held until released or
until the connection ends, so a process that dies (a killed web replica, a lost beat pod) lets
go of its locks at once, without a lease to wait out. Two key spaces never meet: 64-bit keys
(``key_for``, derived from an object's identity: an upload's UUID) and pairs of 32-bit keys
(``NAMESPACE_*`` below, one fixed lock each such as the beat leader's).

On SQLite (the single-process demo) the same calls fall back to a lock inside the process.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator

from django.db import connections

# Fixed locks, as (namespace, key) pairs of 32-bit integers.
NAMESPACE_NAVIGATOR = 0x4E4156  # "NAV"
BEAT_LEADER = 1

_local_held: set[tuple] = set()
_local_guard = threading.Lock()


def key_for(label: str) -> int:
    """A signed 64-bit advisory-lock key for ``label`` (e.g. ``"upload:<uuid>"``)."""
    return int.from_bytes(hashlib.blake2b(label.encode(), digest_size=8).digest(), "big", signed=True)


def _args(key: int | tuple[int, int]) -> tuple[str, tuple]:
    if isinstance(key, tuple):
        return "%s, %s", key
    return "%s", (key,)


def try_lock(key: int | tuple[int, int], *, using: str = "default") -> bool:
    """Take the lock if it is free; never waits. True when this connection now holds it."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        with _local_guard:
            if (using, key) in _local_held:
                return False
            _local_held.add((using, key))
            return True
    placeholders, params = _args(key)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_try_advisory_lock({placeholders})", params)
        return bool(cursor.fetchone()[0])


def unlock(key: int | tuple[int, int], *, using: str = "default") -> None:
    connection = connections[using]
    if connection.vendor != "postgresql":
        with _local_guard:
            _local_held.discard((using, key))
        return
    if connection.connection is None:  # the connection is gone, and the lock with it
        return
    placeholders, params = _args(key)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_advisory_unlock({placeholders})", params)


def is_locked(key: int | tuple[int, int], *, using: str = "default") -> bool:
    """True when another session holds the lock right now."""
    if try_lock(key, using=using):
        unlock(key, using=using)
        return False
    return True


@contextlib.contextmanager
def held(key: int | tuple[int, int], *, using: str = "default") -> Iterator[bool]:
    """``with held(key) as got:``: ``got`` tells whether the lock was free; released on exit."""
    got = try_lock(key, using=using)
    try:
        yield got
    finally:
        if got:
            unlock(key, using=using)
