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


@pytest.fixture
def world(db):
    from navigator.testing import make_world

    return make_world()
