"""Invitations, sign-in lock-out, two-step sign-in, idle sign-out: who gets in, and how."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp

from accounts.models import User
from audit.models import AuditEvent
from portal import services
from portal.models import PortalInvitation, token_hash

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-staple"
NEW_PASSWORD = "a-quiet-river-at-dawn-42"


def invite(world, contact=None):
    contact = contact or world.contact_b
    contact.user = None
    contact.save()
    invitation, raw = services.invitation_create(contact=contact, actor=world.bob)
    return invitation, raw


def test_an_invitation_stores_only_the_hash_of_its_token(world):
    invitation, raw = invite(world)
    assert invitation.token_hash == token_hash(raw)
    assert raw not in str(PortalInvitation.objects.filter(pk=invitation.pk).values().first())


def test_the_invitation_email_carries_a_working_link_in_the_familys_language(world):
    services.invitation_create_and_send(contact=world.contact_b, actor=world.bob)
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "/portal/invitation/" in body
    assert "您好" in body  # contact_b's language is Simplified Chinese
    assert "Chen Xiaoming" not in body and "陈小明" not in body  # no patient in the email


def test_a_family_member_sets_a_password_once_and_the_link_then_stops_working(client, world):
    _invitation, raw = invite(world)
    url = reverse("portal:accept_invitation", args=[raw])
    response = client.post(url, {"username": "chen-li", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    user = User.objects.get(username="chen-li")
    world.contact_b.refresh_from_db()
    assert world.contact_b.user == user and user.role == User.Role.FAMILY and user.check_password(NEW_PASSWORD)
    client.logout()
    again = client.post(url, {"username": "other", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert again.status_code == 410
    assert not User.objects.filter(username="other").exists()


def test_an_expired_invitation_is_refused(client, world):
    invitation, raw = invite(world)
    PortalInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1), created_at=timezone.now() - dt.timedelta(days=5)
    )
    response = client.get(reverse("portal:accept_invitation", args=[raw]))
    assert response.status_code == 410


def test_a_weak_password_is_refused_with_the_validators_message_and_nothing_is_created(client, world):
    invitation, raw = invite(world)
    response = client.post(
        reverse("portal:accept_invitation", args=[raw]),
        {"username": "chen-li", "password1": "12345678", "password2": "12345678"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    invitation.refresh_from_db()
    assert invitation.used_at is None and not User.objects.filter(username="chen-li").exists()


def test_the_claim_on_an_invitation_succeeds_only_once(world):
    invitation, raw = invite(world)
    services.invitation_accept(raw_token=raw, username="chen-li", password=NEW_PASSWORD)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.invitation_accept(raw_token=raw, username="chen-li-2", password=NEW_PASSWORD)


def test_repeated_wrong_passwords_lock_the_account_out_from_that_address(client, world, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post(reverse("portal:login"), {"username": "chen", "password": "wrong-password-1"})
    response = client.post(reverse("portal:login"), {"username": "chen", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_family_signs_in_with_the_right_password(client, world):
    response = client.post(reverse("portal:login"), {"username": "chen", "password": PASSWORD})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == world.chen.pk
    assert AuditEvent.objects.filter(actor=world.chen, action="login").exists()


def test_staff_cannot_use_the_family_sign_in(client, world):
    response = client.post(reverse("portal:login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_two_step_sign_in_asks_for_a_code_after_the_password(client, world):
    device = services.two_factor_start(user=world.chen)
    code = f"{totp(device.bin_key):06d}"
    assert services.two_factor_confirm(user=world.chen, token=code)
    response = client.post(reverse("portal:login"), {"username": "chen", "password": PASSWORD})
    assert response.status_code == 302 and response.url.startswith(reverse("portal:login_verify"))
    assert "_auth_user_id" not in client.session
    bad = client.post(reverse("portal:login_verify"), {"token": "000000"})
    assert bad.status_code == 200 and "_auth_user_id" not in client.session
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.last_t = -1
    device.save()
    good = client.post(reverse("portal:login_verify"), {"token": f"{totp(device.bin_key):06d}"})
    assert good.status_code == 302 and int(client.session["_auth_user_id"]) == world.chen.pk


def test_an_idle_session_is_signed_out(client, world, settings):
    settings.PORTAL_IDLE_TIMEOUT_SECONDS = 60
    client.force_login(world.chen)
    session = client.session
    session["portal_last_seen"] = int(timezone.now().timestamp()) - 120
    session.save()
    response = client.get(reverse("portal:case", args=[world.case_b.pk]))
    assert response.status_code == 302 and response.url == reverse("portal:login")
    assert "_auth_user_id" not in client.session


def test_pages_send_a_content_security_policy_without_inline_code(client, world):
    client.force_login(world.chen)
    response = client.get(reverse("portal:upload", args=[world.case_b.pk]))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    html = response.content.decode()
    assert "<script>" not in html and ' style="' not in html and "onclick" not in html


def test_no_patient_data_appears_in_portal_urls(world):
    for name in ("case", "records", "upload", "messages", "schedule", "eligibility"):
        url = reverse(f"portal:{name}", args=[world.case_b.pk])
        assert world.patient_b.family_name not in url and world.case_b.reference not in url


def test_an_existing_invitation_opens_read_only_in_the_admin(client, world):
    invitation, raw = invite(world)
    client.force_login(world.alice)
    page = client.get(f"/admin/portal/portalinvitation/{invitation.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert invitation.email in html and raw not in html
    assert 'name="email"' not in html  # a sent link is never edited; "resend" makes a new one
