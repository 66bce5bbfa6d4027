"""Deployment hardening: production settings pass ``check --deploy``, secrets come only from the
environment, responses carry security headers, passwords are hashed with Argon2, staff need a
second factor for the admin, sign-in guessing is locked out, the API throttles, and request logs
carry no medical data."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.throttling import SimpleRateThrottle

from audit.models import AuditEvent
from navigator.logging import JSONFormatter

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough pass phrase 42"


def production_env(**overrides) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ADMIN_REQUIRE"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "navigator.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_ALLOWED_HOSTS": "navigator.example.org",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


CHECK_DEPLOY = """
import django, io, json
django.setup()
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
out = io.StringIO()
try:
    call_command("check", deploy=True, fail_level="WARNING", stdout=out, stderr=out)
    print(json.dumps({"ok": True, "ids": []}))
except SystemCheckError as exc:
    messages = checks.run_checks(include_deployment_checks=True)
    print(json.dumps({"ok": False, "ids": [m.id for m in messages], "text": str(exc)}))
"""


def test_check_deploy_is_clean_with_the_production_settings():
    result = run_python(CHECK_DEPLOY, production_env())
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # drf-spectacular's schema-naming warnings are the OpenAPI suite's concern (test_openapi.py,
    # --fail-on-warn); every security, deployment and model check must be silent.
    relevant = [i for i in report["ids"] if not i.startswith("drf_spectacular.")]
    assert relevant == [], report.get("text")


def test_settings_refuse_to_load_without_a_secret_key_when_debug_is_off():
    result = run_python("import django; django.setup()", production_env(DJANGO_SECRET_KEY=None))
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr and "must be set" in result.stderr


def test_the_secret_key_can_come_from_a_mounted_secret_file(tmp_path):
    secret = secrets.token_urlsafe(64)
    path = tmp_path / "secret_key"
    path.write_text(secret + "\n")
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    result = run_python(code, production_env(DJANGO_SECRET_KEY=None, DJANGO_SECRET_KEY_FILE=str(path)))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == secret


def test_production_settings_are_strict_by_default():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s;"
        "print(json.dumps([s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS, s.ADMIN_REQUIRE_2FA, s.ALLOWED_HOSTS, s.PASSWORD_HASHERS[0]]))"
    )
    result = run_python(code, production_env())
    assert result.returncode == 0, result.stderr[-2000:]
    debug, ssl, session_secure, csrf_secure, hsts, two_factor, hosts, hasher = json.loads(
        result.stdout.strip().splitlines()[-1]
    )
    assert (debug, ssl, session_secure, csrf_secure, two_factor) == (False, True, True, True, True)
    assert hsts >= 31536000
    assert hosts == ["navigator.example.org"]
    assert hasher.endswith("Argon2PasswordHasher")


# --- Headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/admin/login/", "/portal/", "/api/v1/cases/", "/healthz"])
def test_every_kind_of_response_carries_the_security_headers(client, db, url):
    response = client.get(url, secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    csp = response["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp


def test_plain_http_is_redirected_to_https(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/admin/login/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_session_and_csrf_cookies_are_secure_and_http_only(settings):
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"


# --- Passwords ----------------------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2(world, settings):
    # The test suite swaps in a fast hasher; put back the project's own list.
    from navigator import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    world.alice.set_password(PASSWORD)
    world.alice.save()
    world.alice.refresh_from_db()
    assert world.alice.password.startswith("argon2$argon2id$")
    assert identify_hasher(world.alice.password).algorithm == "argon2"
    assert world.alice.check_password(PASSWORD)


# --- Two-factor sign-in for staff ------------------------------------------------------------


@pytest.fixture
def two_factor(settings):
    settings.ADMIN_REQUIRE_2FA = True


def current_code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def sign_in_with_password(client, user):
    user.set_password(PASSWORD)
    user.save()
    return client.post(
        reverse("admin:login") + "?next=/admin/cases/case/",
        {"username": user.username, "password": PASSWORD, "next": "/admin/cases/case/"},
        REMOTE_ADDR="203.0.113.7",
    )


def test_a_staff_member_without_a_verified_device_cannot_use_the_admin(client, world, two_factor):
    client.force_login(world.alice)
    for url in ("/admin/", "/admin/cases/case/", f"/admin/cases/case/{world.case_a.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login"))
    # The sign-in page sends a password-authenticated but unverified session to the second step.
    response = client.get(reverse("admin:login") + "?next=/admin/cases/case/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:two_factor"))


def test_a_staff_member_enrols_a_device_by_entering_a_code_from_it(client, world, two_factor):
    from privacy.two_factor import issue_enrolment_code

    response = sign_in_with_password(client, world.alice)
    assert response.status_code == 302
    # No trust on first use: a one-time enrolment code comes first (privacy/tests/test_two_factor.py).
    code = issue_enrolment_code(world.alice, channel="supervisor", issued_by=world.bob)
    assert client.post(reverse("admin:two_factor"), {"enrolment_code": code}).status_code == 302
    response = client.get(reverse("admin:two_factor"))
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=world.alice)
    assert not device.confirmed
    body = response.content.decode()
    assert "otpauth://totp/Navigator%3Aalice?secret=" in body or "otpauth://totp/Navigator:alice?secret=" in body
    # The page shows the same secret on reload: no new device per visit.
    assert client.get(reverse("admin:two_factor")).status_code == 200
    assert TOTPDevice.objects.filter(user=world.alice).count() == 1

    wrong = client.post(reverse("admin:two_factor"), {"token": "000000" if current_code(device) != "000000" else "1"})
    assert wrong.status_code == 200
    assert "not right" in wrong.content.decode() or "Enter the 6-digit" in wrong.content.decode()
    assert client.get("/admin/cases/case/").status_code == 302
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()

    response = client.post(reverse("admin:two_factor"), {"token": current_code(device), "next": "/admin/cases/case/"})
    assert response.status_code == 302 and response["Location"] == "/admin/cases/case/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/cases/case/").status_code == 200
    assert AuditEvent.objects.filter(actor=world.alice, action="login", detail__two_factor="verified").exists()


def test_an_enrolled_staff_member_must_enter_a_code_at_every_sign_in(client, world, two_factor):
    device = TOTPDevice.objects.create(user=world.bob, name="admin", confirmed=True)
    sign_in_with_password(client, world.bob)
    assert client.get("/admin/").status_code == 302
    page = client.get(reverse("admin:two_factor"))
    assert "otpauth://" not in page.content.decode()  # the secret is never shown again
    client.post(reverse("admin:two_factor"), {"token": current_code(device)})
    assert client.get("/admin/").status_code == 200


def test_an_unverified_staff_session_cannot_use_the_api_either(client, world, two_factor):
    client.force_login(world.alice)
    response = client.get("/api/v1/cases/")
    assert response.status_code == 403
    assert response.json()["code"] == "two_factor_required"


def test_a_coordinator_session_without_the_staff_flag_needs_the_second_step_too(client, world, two_factor):
    world.bob.is_staff = False
    world.bob.save()
    client.force_login(world.bob)
    assert client.get("/api/v1/cases/").json()["code"] == "two_factor_required"


def test_families_use_the_api_without_a_second_step(client, world, two_factor):
    client.force_login(world.ivanova)
    assert client.get("/api/v1/cases/").status_code == 200


def test_with_the_requirement_off_the_demo_admin_signs_in_with_a_password(client, world, settings):
    settings.ADMIN_REQUIRE_2FA = False
    client.force_login(world.alice)
    assert client.get("/admin/cases/case/").status_code == 200


def test_families_and_hospitals_never_reach_the_admin_even_with_a_device(client, world, two_factor):
    device = TOTPDevice.objects.create(user=world.ivanova, name="portal", confirmed=True)
    client.force_login(world.ivanova)
    client.post(reverse("admin:two_factor"), {"token": current_code(device)})
    assert client.get("/admin/").status_code == 302


# --- Brute force --------------------------------------------------------------------------------


def test_admin_sign_in_is_locked_out_after_the_failure_limit(client, world, settings):
    world.bob.set_password(PASSWORD)
    world.bob.save()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            reverse("admin:login"), {"username": "bob", "password": "guess"}, REMOTE_ADDR="198.51.100.9"
        )
        assert "_auth_user_id" not in client.session
    # Now even the right password is refused, from that address, for that user name.
    response = client.post(
        reverse("admin:login"), {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="198.51.100.9"
    )
    assert response.status_code in (403, 429)
    assert "_auth_user_id" not in client.session
    # Another user from the same address is not locked out.
    world.alice.set_password(PASSWORD)
    world.alice.save()
    response = client.post(
        reverse("admin:login"), {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="198.51.100.9"
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(world.alice.pk)


# --- Throttling ------------------------------------------------------------------------------


def test_the_api_answers_429_in_the_error_shape_when_a_client_exceeds_its_rate(client, world, monkeypatch):
    # DRF reads the rates once, when the throttle classes are defined.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/minute", "anon": "2/minute"})
    client.force_login(world.ivanova)
    statuses = [client.get("/api/v1/cases/").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = client.get("/api/v1/cases/")
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "throttled" and body["fields"] == {}
    assert "Request was throttled" in body["detail"]
    assert 0 < int(response["Retry-After"]) <= 60


# --- Request logs ------------------------------------------------------------------------------


def test_each_request_logs_one_json_line_with_the_route_pattern_and_no_medical_data(client, world, caplog):
    client.force_login(world.alice)
    url = f"/api/v1/cases/{world.case_a.pk}/?search=Ivanov&q=Misha"
    with caplog.at_level(logging.INFO, logger="navigator.request"):
        response = client.get(url, HTTP_X_REQUEST_ID="req-42.abc")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-42.abc"
    records = [r for r in caplog.records if r.name == "navigator.request"]
    assert len(records) == 1
    line = JSONFormatter().format(records[0])
    data = json.loads(line)
    assert data["method"] == "GET"
    assert data["route"] == "/api/v1/cases/<pk>/"
    assert data["status"] == 200
    assert data["user_id"] == world.alice.pk
    assert data["request_id"] == "req-42.abc"
    assert isinstance(data["duration_ms"], float)
    for secret in ("Ivanov", "Misha", "search", "?", world.case_a.reference, f"/{world.case_a.pk}/"):
        assert secret not in line


def test_a_malformed_request_id_is_replaced_not_echoed(client, db, caplog):
    with caplog.at_level(logging.INFO, logger="navigator.request"):
        response = client.get("/healthz", HTTP_X_REQUEST_ID="x" * 200)
    assert response["X-Request-ID"] != "x" * 200
    assert len(response["X-Request-ID"]) == 32
    record = [r for r in caplog.records if r.name == "navigator.request"][-1]
    assert record.route == "/healthz" and record.user_id is None


def test_unmatched_urls_log_no_path(client, db, caplog):
    with caplog.at_level(logging.INFO, logger="navigator.request"):
        client.get("/no/such/page/Ivanov")
    record = [r for r in caplog.records if r.name == "navigator.request"][-1]
    assert record.status == 404 and record.route is None
    assert "Ivanov" not in JSONFormatter().format(record)


def test_no_credential_has_a_default_value_in_the_settings():
    # Every password, key or token in the settings comes from the environment (or a *_FILE);
    # with none given, each is empty rather than a value written in the code.
    code = """
import django, json, re; django.setup()
from django.conf import settings
secret = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY|API_KEY")
found = {}
for name in dir(settings):
    if name.isupper() and secret.search(name) and name != "SECRET_KEY" and not name.endswith(("_FILE", "_VALIDATORS", "_HASHERS", "_FIELD")):
        value = getattr(settings, name)
        if isinstance(value, str):
            found[name] = value
found["S3_OPTIONS"] = {k: v for k, v in settings.STORAGES["default"].get("OPTIONS", {}).items() if "key" in k}
print(json.dumps(found))
"""
    env = production_env(DJANGO_SECRET_KEY="k" * 60)
    for name in ("EMAIL_HOST_PASSWORD", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"):
        env.pop(name, None)
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    s3 = found.pop("S3_OPTIONS")
    assert all(value == "" for value in found.values()), found
    assert all(not v for v in s3.values()), s3


def test_the_throttle_counts_a_request_in_one_redis_round_trip(client, world, settings):
    """A fixed-window counter: INCR (and EXPIRE with the window's first request), on the real Redis."""
    import redis.connection
    from django.core.cache import caches

    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    settings.CACHES = {
        "default": {
            "BACKEND": "navigator.cache.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}",
        }
    }
    from navigator.throttling import window_hit

    assert window_hit("w", 60) == 1  # connects (the handshake is not part of a request's cost)
    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(conn, command, check_health=True):
        sent.append(command)
        return original(conn, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counting
    try:
        assert [window_hit("w", 60) for _ in range(3)] == [2, 3, 4]
    finally:
        redis.connection.AbstractConnection.send_packed_command = original
    assert len(sent) == 3  # one round trip per request
    key = caches["default"].make_and_validate_key("w")
    assert 0 < caches["default"]._cache.get_client(key).ttl(key) <= 60
    caches["default"].delete("w")
