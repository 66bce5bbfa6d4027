"""The private Redis broker of the hardening suites, and a record of what reached a broker."""

from __future__ import annotations

import pytest
from celery.signals import after_task_publish

from navigator.tests.conftest import celery_on, private_redis  # noqa: F401  (fixtures)


@pytest.fixture
def published():
    """Task ids of every message a broker accepted while the test ran (after_task_publish)."""
    ids: list[str] = []

    def record(sender=None, headers=None, **kwargs):
        ids.append(headers["id"])

    after_task_publish.connect(record, weak=False)
    yield ids
    after_task_publish.disconnect(record)
