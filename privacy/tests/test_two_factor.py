"""Staff two-factor sign-in without trust on first use (issue 16, finding 4).

A password alone must not enrol a device: enrolment needs a one-time code issued by a
supervisor or emailed to the address on file. Recovery codes work once each; a supervisor
resets a lost device, and every step is in the audit trail."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from privacy.models import TwoFactorEnrolmentCode
from privacy.two_factor import issue_enrolment_code, new_recovery_codes

PASSWORD = "a long enough pass phrase 42"
TWO_FACTOR = "/admin/two-factor/"


@pytest.fixture
def two_factor(settings):
    settings.ADMIN_REQUIRE_2FA = True


@pytest.fixture
def supervisor(world):
    assert world.sam.is_supervisor
    return world.sam


def current_code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def sign_in_with_password(client, user):
    user.set_password(PASSWORD)
    user.save()
    response = client.post(
        reverse("admin:login") + "?next=/admin/",
        {"username": user.username, "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 302
    return response


def verified_session(client, user):
    """Sign ``user`` in with a password and a confirmed device (as an enrolled staff member)."""
    device = TOTPDevice.objects.create(user=user, name="admin", confirmed=True)
    sign_in_with_password(client, user)
    client.post(TWO_FACTOR, {"token": current_code(device)})
    assert client.get("/admin/").status_code == 200
    return device


def enrol_with(client, user, code: str) -> TOTPDevice:
    assert client.post(TWO_FACTOR, {"enrolment_code": code}).status_code == 302
    page = client.get(TWO_FACTOR)
    assert "otpauth://" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert client.post(TWO_FACTOR, {"token": current_code(device)}).status_code == 302
    return device


def test_a_password_alone_cannot_enrol_a_device_or_reach_the_admin_or_api(client, world, two_factor):
    sign_in_with_password(client, world.alice)
    page = client.get(TWO_FACTOR)
    assert page.status_code == 200
    body = page.content.decode()
    assert "otpauth://" not in body and "Enrolment code" in body
    # Posting a would-be TOTP code does nothing: there is no device to confirm.
    client.post(TWO_FACTOR, {"token": "123456"})
    assert not TOTPDevice.objects.filter(user=world.alice).exists()
    assert client.get("/admin/").status_code == 302
    assert client.get("/api/v1/cases/").json()["code"] == "two_factor_required"


def test_a_supervisor_issues_a_code_shown_once_and_stored_hashed(client, world, two_factor, supervisor):
    verified_session(client, supervisor)
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "issue_two_factor_enrolment_code", "_selected_action": [world.alice.pk]},
    )
    assert response.status_code == 200
    code = re.search(r'id="enrolment-code">([A-Z0-9-]+)<', response.content.decode()).group(1)
    row = TwoFactorEnrolmentCode.objects.get(user=world.alice)
    assert row.issued_by == supervisor and row.channel == "supervisor"
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert row.expires_at - row.created_at == timedelta(minutes=60)
    assert AuditEvent.objects.filter(
        actor=supervisor, object_id=str(world.alice.pk), detail__two_factor="enrolment code issued"
    ).exists()

    other = type(client)()
    sign_in_with_password(other, world.alice)
    enrol_with(other, world.alice, code)
    assert other.get("/admin/").status_code == 200
    assert other.get("/api/v1/cases/").status_code == 200
    assert TwoFactorEnrolmentCode.objects.get(user=world.alice).used_at is not None


def test_a_coordinator_cannot_issue_codes_or_reset_devices(client, world, two_factor):
    TOTPDevice.objects.create(user=world.alice, name="admin", confirmed=True)
    verified_session(client, world.bob)
    for action in ("issue_two_factor_enrolment_code", "reset_two_factor"):
        response = client.post(
            reverse("admin:accounts_user_changelist"), {"action": action, "_selected_action": [world.alice.pk]}
        )
        assert 'id="enrolment-code"' not in response.content.decode()
    assert not TwoFactorEnrolmentCode.objects.exists()
    assert TOTPDevice.objects.filter(user=world.alice).exists()
    assert not AuditEvent.objects.filter(detail__two_factor__in=["enrolment code issued", "reset"]).exists()


def test_a_supervisor_cannot_issue_their_own_code(client, world, two_factor, supervisor):
    verified_session(client, supervisor)
    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "issue_two_factor_enrolment_code", "_selected_action": [supervisor.pk]},
    )
    assert not TwoFactorEnrolmentCode.objects.exists()


def test_a_valid_code_enrols_once_and_never_again(client, world, two_factor, supervisor):
    code = issue_enrolment_code(world.alice, channel="supervisor", issued_by=supervisor)
    sign_in_with_password(client, world.alice)
    enrol_with(client, world.alice, code)
    assert TOTPDevice.objects.filter(user=world.alice, confirmed=True).count() == 1

    # The device is lost and reset; the spent code cannot enrol the next device.
    TOTPDevice.objects.filter(user=world.alice).delete()
    again = type(client)()
    sign_in_with_password(again, world.alice)
    refused = again.post(TWO_FACTOR, {"enrolment_code": code})
    assert refused.status_code == 200
    assert "already used" in refused.content.decode()
    assert not TOTPDevice.objects.filter(user=world.alice).exists()
    assert again.get("/admin/").status_code == 302


def test_an_expired_code_is_refused(client, world, two_factor, supervisor):
    code = issue_enrolment_code(world.alice, channel="supervisor", issued_by=supervisor)
    TwoFactorEnrolmentCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    sign_in_with_password(client, world.alice)
    refused = client.post(TWO_FACTOR, {"enrolment_code": code})
    assert refused.status_code == 200 and "has expired" in refused.content.decode()
    assert "otpauth://" not in client.get(TWO_FACTOR).content.decode()
    assert AuditEvent.objects.filter(actor=world.alice, detail__two_factor="enrolment code refused").exists()


def test_a_code_is_only_for_the_user_it_was_issued_to(client, world, two_factor, supervisor):
    code = issue_enrolment_code(world.bob, channel="supervisor", issued_by=supervisor)
    sign_in_with_password(client, world.alice)
    assert client.post(TWO_FACTOR, {"enrolment_code": code}).status_code == 200
    assert TwoFactorEnrolmentCode.objects.get(user=world.bob).used_at is None


def test_a_new_code_replaces_the_earlier_one(client, world, two_factor, supervisor):
    first = issue_enrolment_code(world.alice, channel="supervisor", issued_by=supervisor)
    issue_enrolment_code(world.alice, channel="supervisor", issued_by=supervisor)
    sign_in_with_password(client, world.alice)
    assert client.post(TWO_FACTOR, {"enrolment_code": first}).status_code == 200


def test_a_code_can_be_sent_to_the_email_on_file(client, world, two_factor):
    world.alice.email = "alice@centre.example"
    world.alice.save()
    sign_in_with_password(client, world.alice)
    page = client.post(TWO_FACTOR, {"action": "email_code"})
    assert 'id="code-sent"' in page.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@centre.example"]
    code = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})\b", mail.outbox[0].body).group(1)
    assert code not in page.content.decode()
    # Asking again at once sends nothing more.
    client.post(TWO_FACTOR, {"action": "email_code"})
    assert len(mail.outbox) == 1
    enrol_with(client, world.alice, code)
    assert client.get("/admin/").status_code == 200
    assert TwoFactorEnrolmentCode.objects.get(user=world.alice).channel == "email"


def test_recovery_codes_are_made_at_enrolment_and_work_once_each(client, world, two_factor, supervisor):
    code = issue_enrolment_code(world.alice, channel="supervisor", issued_by=supervisor)
    sign_in_with_password(client, world.alice)
    client.post(TWO_FACTOR, {"enrolment_code": code})
    page = client.get(TWO_FACTOR).content.decode()
    recovery = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page)
    assert len(recovery) == 10
    device = TOTPDevice.objects.get(user=world.alice)
    client.post(TWO_FACTOR, {"token": current_code(device)})
    assert StaticDevice.objects.get(user=world.alice).confirmed

    for attempt in range(2):
        other = type(client)()
        sign_in_with_password(other, world.alice)
        response = other.post(TWO_FACTOR, {"token": recovery[0]})
        if attempt == 0:
            assert response.status_code == 302
            assert other.get("/admin/").status_code == 200
        else:
            assert response.status_code == 200 and "already used" in response.content.decode()
            assert other.get("/admin/").status_code == 302
    assert AuditEvent.objects.filter(actor=world.alice, detail__method="recovery_code").count() == 1


def test_a_signed_in_user_regenerates_recovery_codes(client, world, two_factor):
    old = new_recovery_codes(world.alice)
    verified_session(client, world.alice)
    page = client.get(reverse("admin:two_factor_recovery_codes"))
    assert "10 unused recovery codes" in page.content.decode()
    response = client.post(reverse("admin:two_factor_recovery_codes"))
    fresh = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert len(fresh) == 10 and not set(fresh) & set(old)
    assert AuditEvent.objects.filter(actor=world.alice, detail__two_factor="recovery codes regenerated").exists()

    other = type(client)()
    sign_in_with_password(other, world.alice)
    assert other.post(TWO_FACTOR, {"token": old[0]}).status_code == 200
    StaticDevice.objects.filter(user=world.alice).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    assert other.post(TWO_FACTOR, {"token": fresh[0]}).status_code == 302


def test_regenerating_recovery_codes_needs_a_verified_session(client, world, two_factor):
    TOTPDevice.objects.create(user=world.alice, name="admin", confirmed=True)
    sign_in_with_password(client, world.alice)
    response = client.post(reverse("admin:two_factor_recovery_codes"))
    assert response.status_code == 302
    assert not StaticDevice.objects.filter(user=world.alice).exists()


def test_a_supervisor_resets_a_lost_device_and_it_is_audited(client, world, two_factor, supervisor):
    TOTPDevice.objects.create(user=world.alice, name="admin", confirmed=True)
    new_recovery_codes(world.alice)
    verified_session(client, supervisor)
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [world.alice.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=world.alice).exists()
    assert not StaticDevice.objects.filter(user=world.alice).exists()
    event = AuditEvent.objects.get(actor=supervisor, detail__two_factor="reset")
    assert event.object_id == str(world.alice.pk)
    # Reset does not reopen trust on first use: the user still needs a new enrolment code.
    other = type(client)()
    sign_in_with_password(other, world.alice)
    assert "otpauth://" not in other.get(TWO_FACTOR).content.decode()


def test_with_the_requirement_off_the_demo_needs_no_code(client, world, settings):
    settings.ADMIN_REQUIRE_2FA = False
    client.force_login(world.alice)
    assert client.get("/admin/").status_code == 200
    assert client.get("/api/v1/cases/").status_code == 200
