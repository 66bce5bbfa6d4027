"""Passkeys (WebAuthn) for staff sign-in beside TOTP, without trust on first use.

Registering a passkey needs what enrolling an authenticator app needs: a verified session or a
just-spent one-time enrolment code. A passkey is a second factor only (the password comes
first). The browser test registers and then uses a passkey with Chromium's virtual
authenticator, against the real ceremony of django-otp-webauthn."""

from __future__ import annotations

import os
import re
import time

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from audit.models import AuditEvent
from privacy.tests.test_two_factor import TWO_FACTOR, sign_in_with_password, verified_session
from privacy.two_factor import issue_enrolment_code, new_recovery_codes, reset_two_factor

BEGIN_REGISTRATION = "/admin/passkeys/registration/begin/"
BEGIN_AUTHENTICATION = "/admin/passkeys/authentication/begin/"
COMPLETE_AUTHENTICATION = "/admin/passkeys/authentication/complete/"


@pytest.fixture
def two_factor(settings):
    settings.ADMIN_REQUIRE_2FA = True
    settings.OTP_WEBAUTHN_RP_ID = "testserver"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["https://testserver"]


def test_a_password_alone_cannot_register_a_passkey(client, world, two_factor):
    sign_in_with_password(client, world.alice)
    refused = client.post(BEGIN_REGISTRATION, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "enrolment_code_required"
    assert "otp_webauthn_register_state" not in client.session
    assert client.get("/admin/").status_code == 302


def test_an_enrolment_code_opens_passkey_registration(client, world, two_factor):
    code = issue_enrolment_code(world.alice, channel="supervisor", issued_by=world.sam)
    sign_in_with_password(client, world.alice)
    assert client.post(TWO_FACTOR, {"enrolment_code": code}).status_code == 302
    page = client.get(TWO_FACTOR).content.decode()
    assert 'id="passkey-registration-placeholder"' in page and "otp_webauthn_register.js" in page

    options = client.post(BEGIN_REGISTRATION, content_type="application/json")
    assert options.status_code == 200
    body = options.json()
    assert body["rp"] == {"id": "testserver", "name": "Navigator"}
    assert body["challenge"] and body["user"]["name"] == world.alice.username


def test_a_verified_session_may_add_a_passkey(client, world, two_factor):
    verified_session(client, world.alice)
    page = client.get(reverse("admin:two_factor_recovery_codes")).content.decode()
    assert "Add a passkey" in page
    assert client.post(BEGIN_REGISTRATION, content_type="application/json").status_code == 200


def test_a_family_member_cannot_register_a_passkey(client, world, two_factor):
    client.force_login(world.ivanova)
    refused = client.post(BEGIN_REGISTRATION, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "staff_only"


def test_a_passkey_is_never_a_password(client, world, two_factor):
    # No one signed in: passwordless sign-in is off, before and after the ceremony.
    assert client.post(BEGIN_AUTHENTICATION, content_type="application/json").status_code == 403
    assert client.post(COMPLETE_AUTHENTICATION, {}, content_type="application/json").status_code in (400, 403)
    assert "_auth_user_id" not in client.session


def test_a_passkey_only_user_is_offered_the_passkey_and_recovery_codes(client, world, two_factor):
    WebAuthnCredential.objects.create(
        user=world.alice,
        name="laptop",
        confirmed=True,
        credential_id=b"\x01" * 16,
        public_key=b"\x02" * 32,
        sign_count=0,
    )
    codes = new_recovery_codes(world.alice)
    sign_in_with_password(client, world.alice)
    page = client.get(TWO_FACTOR).content.decode()
    assert 'id="passkey-verification-placeholder"' in page and "otpauth://" not in page
    assert not TOTPDevice.objects.filter(user=world.alice).exists()
    wrong = client.post(TWO_FACTOR, {"token": "123456"})
    assert wrong.status_code == 200 and client.get("/admin/").status_code == 302
    # A wrong code slows the next attempt down (django-otp's throttling); let the clock pass.
    StaticDevice.objects.filter(user=world.alice).update(throttling_failure_timestamp=None)
    assert client.post(TWO_FACTOR, {"token": codes[0]}).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_reset_removes_passkeys_too(world):
    WebAuthnCredential.objects.create(
        user=world.alice,
        name="laptop",
        confirmed=True,
        credential_id=b"\x03" * 16,
        public_key=b"\x04" * 32,
        sign_count=0,
    )
    reset_two_factor(world.alice, by=world.sam)
    assert not WebAuthnCredential.objects.filter(user=world.alice).exists()
    assert AuditEvent.objects.filter(detail__two_factor="reset", detail__devices=1).exists()


def test_recovery_codes_are_never_listed_in_the_admin(client, world, two_factor):
    codes = new_recovery_codes(world.alice)
    verified_session(client, world.sam)
    device = StaticDevice.objects.get(user=world.alice)
    listing = client.get(reverse("admin:otp_static_staticdevice_changelist")).content.decode()
    detail = client.get(reverse("admin:otp_static_staticdevice_change", args=[device.pk])).content.decode()
    assert StaticToken.objects.filter(device=device).count() == len(codes)
    for page in (listing, detail):
        assert not any(code in page for code in codes)
    assert re.search(r">\s*10\s*<", listing)


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's Chromium (/usr/bin/chromium) is not installed")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_register_a_passkey_at_enrolment_then_sign_in_with_it(transactional_db, settings):
    from playwright.sync_api import sync_playwright
    from pytest_django.live_server_helper import LiveServer

    from cases.models import Indication
    from navigator.testing import make_world

    settings.ADMIN_REQUIRE_2FA = True
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    Indication.objects.get_or_create(code="b-all-cd19-car-t", defaults={"name": "B-ALL CD19 CAR-T"})
    world = make_world()
    password = "a long enough pass phrase 42"
    world.alice.set_password(password)
    world.alice.save()
    code = issue_enrolment_code(world.alice, channel="supervisor", issued_by=world.sam)

    server = LiveServer("localhost")
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [server.url]
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(15_000)

            def slow_catalogue(route):
                # On a slow connection the passkey scripts' translation catalogue arrives late;
                # the passkey buttons must still work on the first click once they are shown.
                time.sleep(2)
                route.continue_()

            page.route("**/admin/passkeys/jsi18n/**", slow_catalogue)
            cdp = context.new_cdp_session(page)
            cdp.send("WebAuthn.enable")
            cdp.send(
                "WebAuthn.addVirtualAuthenticator",
                {
                    "options": {
                        "protocol": "ctap2",
                        "transport": "internal",
                        "hasResidentKey": True,
                        "hasUserVerification": True,
                        "isUserVerified": True,
                        "automaticPresenceSimulation": True,
                    }
                },
            )

            def password_step():
                page.goto(f"{server.url}/admin/login/?next=/admin/")
                page.fill("#id_username", world.alice.username)
                page.fill("#id_password", password)
                page.click("input[type=submit]")
                page.wait_for_url(re.compile(r"/admin/two-factor/"))

            password_step()
            page.fill("#id_enrolment_code", code)
            page.click("input[type=submit]")
            page.click("#passkey-register-button")
            page.wait_for_url(re.compile(r"/admin/$"))
            assert WebAuthnCredential.objects.filter(user=world.alice, confirmed=True).count() == 1
            assert StaticDevice.objects.get(user=world.alice).confirmed
            assert AuditEvent.objects.filter(
                actor=world.alice, detail__two_factor="enrolled", detail__method="passkey"
            ).exists()

            page.goto(f"{server.url}/admin/")
            page.click("#logout-form button, form[action$='/logout/'] button")
            password_step()
            assert page.locator("#otpauth-uri").count() == 0
            page.click("#passkey-verification-button")
            page.wait_for_url(re.compile(r"/admin/$"))
            assert "Site administration" in page.content() or page.url.endswith("/admin/")
            assert (
                AuditEvent.objects.filter(
                    actor=world.alice, detail__two_factor="verified", detail__method="passkey"
                ).count()
                == 2
            )
            browser.close()
    finally:
        server.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
