"""Fixtures shared by every app's tests: named people in each role.

Alice and Bob coordinate (Sam supervises); the Ivanov family owns case A; the Chen
family owns case B and must never see case A; Dr Li works at PKUPH, Dr Wang at Ruijin.
"""

import pytest


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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    # Browser tests run last: their live server and browser outlive the test body, and a
    # late request after the database was emptied must not disturb the tests that follow.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
