"""Fixtures for the hardening suites: a private Redis broker, and Celery pointed at it."""

from __future__ import annotations

import pytest

from .support import PrivateRedis


@pytest.fixture
def private_redis(tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def celery_on(private_redis):
    """Point this process's Celery app at the private broker (producer pools rebuilt)."""
    from navigator.celery import app

    old = app.conf.broker_url

    def switch(url):
        app.conf.broker_url = url
        app._pool = None
        app.amqp._producer_pool = None

    switch(private_redis.url)
    yield app
    switch(old)
