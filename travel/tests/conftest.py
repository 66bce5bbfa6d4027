import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The named test users get passwords; Argon2 is deliberately slow, and these tests
    # are about travel, not sign-in.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
