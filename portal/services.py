"""Portal access workflows: inviting a family contact, accepting the invitation, two-factor."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import is_coordinator, is_family
from audit.services import audit_record
from cases.models import FamilyContact
from messaging.models import Thread
from messaging.services import message_post
from navigator.errors import DomainError

from . import formats
from .languages import portal_language
from .models import MessageReadMark, PortalInvitation, token_hash


def invitation_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=getattr(settings, "PORTAL_INVITATION_HOURS", 72))


@transaction.atomic
def invitation_create(*, contact: FamilyContact, actor, email: str = "") -> tuple[PortalInvitation, str]:
    """Issue a fresh link for a contact; earlier unused links for the same contact stop working.

    Returns the invitation and the raw token, which only the email ever carries.
    """
    if actor is None or not is_coordinator(actor):
        raise DomainError("Only a coordinator can invite a family member to the portal.", field="contact")
    email = (email or contact.email or "").strip()
    if not email:
        raise DomainError(
            "This family contact has no email address; add one before sending a portal invitation.", field="email"
        )
    if contact.user is not None and contact.user.role != User.Role.FAMILY:
        raise DomainError(
            "This contact is linked to a staff login; a portal login must be a family account.", field="contact"
        )
    now = timezone.now()
    PortalInvitation.objects.filter(contact=contact, used_at=None, revoked_at=None).update(revoked_at=now)
    raw = secrets.token_urlsafe(32)
    invitation = PortalInvitation.objects.create(
        contact=contact,
        email=email,
        token_hash=token_hash(raw),
        invited_by=actor,
        created_at=now,
        expires_at=now + invitation_lifetime(),
    )
    audit_record(actor=actor, action="create", obj=invitation, detail={"contact": contact.pk})
    return invitation, raw


def invitation_url(raw_token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("portal:accept_invitation", args=[raw_token])


def invitation_send(*, invitation: PortalInvitation, raw_token: str) -> None:
    """Email the link in the contact's language. The message names no patient and no diagnosis."""
    contact = invitation.contact
    with translation.override(portal_language(contact.language)):
        context = {
            "contact_name": contact.name,
            "url": invitation_url(raw_token),
            "expires_at": invitation.expires_at,
            "time_zone": contact.time_zone,
            "zone_name": formats.isolate(formats.zone_name(contact.time_zone)),
        }
        subject = _("Your invitation to the Navigator family portal")
        body = render_to_string("portal/email/invitation.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])


def invitation_create_and_send(*, contact: FamilyContact, actor, email: str = "") -> PortalInvitation:
    invitation, raw = invitation_create(contact=contact, actor=actor, email=email)
    invitation_send(invitation=invitation, raw_token=raw)
    return invitation


def invitation_revoke(*, invitation: PortalInvitation, actor) -> bool:
    done = PortalInvitation.objects.filter(pk=invitation.pk, used_at=None, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    if done:
        audit_record(actor=actor, action="update", obj=invitation, detail={"revoked": True})
    return bool(done)


def invitation_for_token(raw_token: str) -> PortalInvitation | None:
    """The invitation a link carries, whatever its state (the view explains used or expired)."""
    if not raw_token or len(raw_token) > 100:
        return None
    return (
        PortalInvitation.objects.select_related("contact", "contact__user")
        .filter(token_hash=token_hash(raw_token))
        .first()
    )


def invitation_accept(*, raw_token: str, username: str, password: str) -> User:
    """Use a link once: create (or update) the family login linked to the contact and set its password.

    Raises ``ValidationError`` with field errors for the form; nothing is written then.
    """
    invitation = invitation_for_token(raw_token)
    if invitation is None or not invitation.is_usable:
        raise ValidationError(_("This invitation link is no longer valid. Ask your coordinator for a new one."))
    contact = invitation.contact
    user = contact.user or User(
        username=username.strip(),
        email=invitation.email,
        role=User.Role.FAMILY,
        first_name=contact.name[:150],
        preferred_language=portal_language(contact.language),
        time_zone=contact.time_zone,
    )
    if not contact.user_id:
        if not user.username:
            raise ValidationError({"username": _("Choose a user name.")})
        if User.objects.filter(username__iexact=user.username).exists():
            raise ValidationError({"username": _("This user name is taken; choose another one.")})
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password1": exc.messages})
    now = timezone.now()
    try:
        with transaction.atomic():
            # The claim: exactly one request may use the link, whatever races it.
            claimed = PortalInvitation.objects.filter(
                pk=invitation.pk, used_at=None, revoked_at=None, expires_at__gt=now
            ).update(used_at=now)
            if claimed != 1:
                raise ValidationError(_("This invitation link is no longer valid. Ask your coordinator for a new one."))
            user.set_password(password)
            user.is_active = True
            user.save()
            FamilyContact.objects.filter(pk=contact.pk).update(user=user)
            PortalInvitation.objects.filter(pk=invitation.pk).update(user=user)
            audit_record(actor=user, action="update", obj=invitation, detail={"accepted": True})
    except IntegrityError:
        raise ValidationError({"username": _("This user name is taken; choose another one.")})
    return user


# --- Two-factor (TOTP, RFC 6238) -------------------------------------------------------------


def totp_device_for(user, *, confirmed: bool | None = True):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    qs = TOTPDevice.objects.filter(user=user)
    if confirmed is not None:
        qs = qs.filter(confirmed=confirmed)
    return qs.order_by("-id").first()


def two_factor_enabled(user) -> bool:
    return totp_device_for(user) is not None


@transaction.atomic
def two_factor_start(*, user):
    """A new unconfirmed device with a fresh secret; it counts only once a code from it is entered."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="portal", confirmed=False)


def two_factor_confirm(*, user, token: str) -> bool:
    device = totp_device_for(user, confirmed=False)
    if device is None or not device.verify_token(_clean_token(token)):
        return False
    with transaction.atomic():
        from django_otp.plugins.otp_totp.models import TOTPDevice

        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        audit_record(actor=user, action="update", obj=user, detail={"two_factor": "enabled"})
    return True


def two_factor_verify(*, user, token: str) -> bool:
    device = totp_device_for(user)
    return bool(device and device.verify_token(_clean_token(token)))


def two_factor_disable(*, user, token: str) -> bool:
    if not two_factor_verify(user=user, token=token):
        return False
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=user).delete()
    audit_record(actor=user, action="update", obj=user, detail={"two_factor": "disabled"})
    return True


def _clean_token(token: str) -> str:
    return "".join(ch for ch in (token or "") if ch.isdigit())[:8]


def totp_secret_base32(device) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode().rstrip("=")


# --- The family's own pages ------------------------------------------------------------------


def messages_mark_read(*, user, case) -> None:
    """Everything in the case's family thread up to now counts as read by ``user``."""
    MessageReadMark.objects.update_or_create(user=user, case=case, defaults={"read_at": timezone.now()})


def family_message_send(*, case, user, body: str, language: str):
    """Post in the case's family thread (created on first use) through the messaging service."""
    return message_post(author=user, body=body, case=case, kind=Thread.Kind.FAMILY, language=language)


def user_language_set(*, user, language: str) -> None:
    """Remember a family member's portal language (messages and reminders follow it)."""
    if is_family(user) and user.preferred_language != language:
        User.objects.filter(pk=user.pk).update(preferred_language=language)
