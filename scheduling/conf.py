"""Scheduling settings, read from Django settings or the environment (documented defaults)."""

from __future__ import annotations

import os

from django.conf import settings


def _int(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer number, got {value!r}")


def lease_seconds() -> int:
    """How long one worker may hold a reminder in 'sending' before the sweep hands it to another.

    Longer than the task's hard time limit, so a live worker is never overtaken."""
    return _int("REMINDER_LEASE_SECONDS", getattr(settings, "CELERY_TASK_TIME_LIMIT", 300) + 60)


def max_attempts() -> int:
    """Attempts before a reminder is marked failed (and shown to coordinators)."""
    return _int("REMINDER_MAX_ATTEMPTS", 11)


def retry_base_seconds() -> int:
    """The wait after the first failed attempt; it doubles after each further one."""
    return _int("REMINDER_RETRY_BASE_SECONDS", 30)


def retry_max_seconds() -> int:
    """The longest wait between two attempts."""
    return _int("REMINDER_RETRY_MAX_SECONDS", 3600)


def requeue_after_seconds() -> int:
    """A reminder 'queued' this long without a worker taking it is enqueued again (a lost message)."""
    return _int("REMINDER_REQUEUE_SECONDS", 900)


def sweep_batch() -> int:
    return _int("REMINDER_SWEEP_BATCH", 1000)
