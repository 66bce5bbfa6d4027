"""Fixtures shared by every app's tests: named people in each role.

Alice and Bob coordinate (Sam supervises); the Ivanov family owns case A; the Chen
family owns case B and must never see case A; Dr Li works at PKUPH, Dr Wang at Ruijin.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def _plain_http(settings, tmp_path):
    # Production settings redirect to HTTPS; the test client speaks plain HTTP.
    settings.SECURE_SSL_REDIRECT = False
    # Staff two-factor sign-in is proven in navigator/tests/test_deploy.py; elsewhere admin tests log in plainly.
    settings.ADMIN_REQUIRE_2FA = False
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None},
        },
    }
    settings.DOCUMENT_UPLOAD_DIR = str(tmp_path / "uploads")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Argon2 is deliberately slow; tests that are about hashing set it back themselves.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Throttle counters live in the cache: a per-test local cache keeps tests independent.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": str(tmp_path)}
    }
    # Table estimates the lists keep for a minute (navigator.pagination) come from this test's tables.
    from navigator import pagination

    pagination._estimates.clear()


@pytest.fixture(autouse=True)
def _keep_migration_data(django_db_serialized_rollback):
    """Transactional tests (real Celery workers, the browser) empty the database when they end.

    With serialized rollback for all of them, the rows that migrations create (the default
    indication, reminder rules, periodic tasks, content types) are put back every time, and
    Django never re-creates content types under new ids, which would clash with the next
    serialized test. Ordinary tests are unaffected: they roll back.
    """


@pytest.fixture
def world(db):
    from navigator.testing import make_world

    return make_world()


# --- the browser (tests marked ``browser``) -----------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, headless, through Playwright's sync API (one per test module).

    Pair it with ``live_site`` and, for accessibility, ``navigator.testing.axe_violations``."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's Chromium (/usr/bin/chromium) is not installed")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the database calls the tests
    # make between browser steps are ordinary synchronous ones.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
        )
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def live_site(transactional_db, settings):
    """A live server of our own started after the test settings apply (a server's middleware
    reads its settings once); yields its base URL. Screenshots go to ``screenshots_dir``."""
    from pytest_django.live_server_helper import LiveServer

    from cases.models import Indication

    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    # A transactional test starts from whatever an earlier one flushed.
    Indication.objects.get_or_create(code="b-all-cd19-car-t", defaults={"name": "B-ALL CD19 CAR-T"})
    server = LiveServer("localhost")
    yield server.url
    server.stop()


@pytest.fixture
def screenshots_dir(settings):
    """artifacts/screenshots/ (git-ignored), created on first use."""
    path = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    """Under pytest-xdist (``make test`` runs ``-n``), each worker process has a database of its own
    (pytest-django names it ``test_<name>_gw<n>``) and, set here, a Redis database of its own: the
    base database's number plus 8 plus the worker's number. A real Celery worker started by one
    process then never takes the tasks of the other, and a purge of one queue leaves the other's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    from django.conf import settings

    if not worker or not settings.REDIS_URL.startswith("redis"):
        return
    from navigator.testing import worker_redis_url

    os.environ["NAVIGATOR_TEST_BASE_REDIS_URL"] = settings.REDIS_URL
    url = worker_redis_url(settings.REDIS_URL, worker)
    shared_broker = settings.CELERY_BROKER_URL == settings.REDIS_URL
    settings.REDIS_URL = url
    os.environ["REDIS_URL"] = url
    if shared_broker:
        from navigator.celery import app

        # Not os.environ["CELERY_BROKER_URL"]: Celery prefers that variable to its configuration, and the
        # tests that point the app at a private broker (``celery_on``) change the configuration.
        settings.CELERY_BROKER_URL = url
        app.conf.broker_url = url


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    # Browser tests run last: their live server and browser outlive the test body, and a
    # late request after the database was emptied must not disturb the tests that follow.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a browser test has been torn down (its database flushed), empty the database again.

    The live server answers in threads of its own: a request still in flight when the test ends
    (a page's late fetch) can write rows, content types among them, after the flush. The next
    transactional test restores the migrations' rows by their ids and would meet those rows;
    and the content-type cache would keep ids the database no longer has.
    """
    yield
    if item.get_closest_marker("browser") is None:
        return
    import time

    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from pytest_django.plugin import blocking_manager_key

    time.sleep(0.5)  # let a request in flight finish before the second flush
    with item.config.stash[blocking_manager_key].unblock():
        call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
    ContentType.objects.clear_cache()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # A content type made during an earlier transactional test (get_for_model creates what it
    # does not find) is gone after that test's flush, but Django's per-process cache keeps its id.
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
