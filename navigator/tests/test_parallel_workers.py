"""`make test` runs the suite in several pytest-xdist processes: each must have a Redis database of
its own, or a real Celery worker started by one process would take the other's tasks."""

import os

from django.conf import settings

from navigator.celery import app
from navigator.testing import redis_db_url, worker_redis_url


def test_a_redis_url_gets_another_database_and_keeps_the_rest():
    assert redis_db_url("redis://127.0.0.1:6379/0", 9) == "redis://127.0.0.1:6379/9"
    assert redis_db_url("redis://:pw@cache:6380", 8) == "redis://:pw@cache:6380/8"
    assert worker_redis_url("redis://127.0.0.1:6379/0", "gw1") == "redis://127.0.0.1:6379/9"
    assert worker_redis_url("redis://127.0.0.1:6379/10", "gw0") == "redis://127.0.0.1:6379/2"


def test_the_celery_app_and_the_workers_the_tests_start_use_this_process_broker():
    # scheduling/tests/workers.py starts workers at settings.CELERY_BROKER_URL; tasks this process
    # sends go to app.conf.broker_url: they must be one and the same.
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    if settings.REDIS_URL.startswith("redis"):
        assert os.environ["REDIS_URL"] == settings.REDIS_URL


def test_each_xdist_process_has_a_redis_database_of_its_own():
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not settings.REDIS_URL.startswith("redis"):
        return  # one process: the database is the one REDIS_URL names
    base = os.environ["NAVIGATOR_TEST_BASE_REDIS_URL"]
    assert settings.REDIS_URL == worker_redis_url(base, worker) != base
    assert settings.CELERY_BROKER_URL == settings.REDIS_URL
