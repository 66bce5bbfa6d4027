"""Sending one message by email, SMS or WhatsApp (the one door to outside messaging services),
and recording notices: the events a family or a coordinator is told of, gathered into digests."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from cases.models import Case, FamilyContact

from .models import FAMILY_KINDS, STAFF_KINDS, Notice, NoticeDigest, NoticePreference
from .quiet import after_quiet
from .sms import get_sms_backend, get_whatsapp_backend

log = logging.getLogger(__name__)

EMAIL = "email"
SMS = "sms"
WHATSAPP = "whatsapp"
EXACTLY_ONCE = "exactly_once"
AT_LEAST_ONCE = "at_least_once"


def _backend(channel: str):
    return get_whatsapp_backend() if channel == WHATSAPP else get_sms_backend()


def delivery_guarantee(channel: str) -> str:
    """What a retried send of one message can cause on this channel.

    Email is at least once (a retried send after a crash reaches the server twice; the shared
    Message-ID lets clients fold duplicates). SMS and WhatsApp are exactly once only through a
    backend that honours idempotency keys (``honours_idempotency_key``)."""
    if channel in (SMS, WHATSAPP) and _backend(channel).honours_idempotency_key:
        return EXACTLY_ONCE
    return AT_LEAST_ONCE


def message_send(
    *,
    channel: str,
    to: str,
    subject: str,
    body: str,
    idempotency_key: str,
    headers: dict | None = None,
    language: str = "",
) -> str:
    """Deliver a message; returns a provider reference. Raises on failure (callers retry;
    ``sms.PermanentSendError`` means retrying cannot help).

    Email carries the idempotency key as its Message-ID, so a mail server or client that
    sees a retried message recognises the duplicate. ``headers`` are extra email headers
    (List-Unsubscribe).
    """
    if channel == EMAIL:
        domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "navigator.local"
        message_id = f"<{idempotency_key}@{domain}>"
        EmailMessage(
            subject=subject,
            body=body,
            to=[to],
            headers={"Message-ID": message_id, "X-Navigator-Idempotency-Key": idempotency_key, **(headers or {})},
        ).send(fail_silently=False)
        return f"email:{message_id}"
    if channel in (SMS, WHATSAPP):
        return _backend(channel).send(to=to, body=body, idempotency_key=idempotency_key, language=language)
    raise ValueError(f"Unknown channel {channel!r}")


# --- Notices -------------------------------------------------------------------------------

UNSUBSCRIBE_SALT = "notifications.unsubscribe"


def preference_of(contact: FamilyContact) -> NoticePreference:
    """The contact's preference, or the defaults (unsaved) if they never changed it."""
    found = NoticePreference.objects.filter(contact_id=contact.pk).first()
    return found if found is not None else NoticePreference(contact=contact)


def address_of(contact: FamilyContact, channel: str) -> str:
    """Where the contact is reached on ``channel`` today (a changed number is used); "" if nowhere."""
    if channel == EMAIL:
        return contact.email or ""
    return str(contact.phone) if contact.phone else ""


def _open_digest(*, send_at: dt.datetime, contact: FamilyContact | None = None, user=None) -> NoticeDigest:
    """The recipient's open digest, locked; a new one due at ``send_at`` if none is open.

    One open digest per recipient is a partial unique constraint: two events at once end up in
    the same digest. A digest the sweep is closing is locked by it: we wait, see it closed, and
    open the next one."""
    who = {"contact": contact} if contact is not None else {"user": user}
    digest = NoticeDigest.objects.select_for_update().filter(status=NoticeDigest.Status.OPEN, **who).first()
    if digest is not None:
        return digest
    try:
        with transaction.atomic():
            return NoticeDigest.objects.create(status=NoticeDigest.Status.OPEN, send_at=send_at, **who)
    except IntegrityError:
        return NoticeDigest.objects.select_for_update().get(status=NoticeDigest.Status.OPEN, **who)


def _notice_add(*, case: Case, kind: str, key: str, send_at: dt.datetime, contact=None, user=None) -> bool:
    who = {"contact": contact} if contact is not None else {"user": user}
    if Notice.objects.filter(key=key, **who).exists():
        return False
    digest = _open_digest(send_at=send_at, **who)
    try:
        with transaction.atomic():
            Notice.objects.create(case=case, digest=digest, kind=kind, key=key[:120], **who)
    except IntegrityError:
        return False  # the same event recorded by a concurrent caller
    return True


def notice_family(*, case: Case, kind: str, key: str, contacts: Iterable[FamilyContact] | None = None) -> int:
    """Tell the case's family (or ``contacts``) that ``kind`` happened; ``key`` names the event
    (e.g. ``message:12``), so the same event is told once however often this is called.

    Runs in the caller's transaction. Each contact's notices gather for NOTICE_DEBOUNCE_SECONDS
    from the first, and wait past the contact's quiet hours. Returns how many contacts will be told.
    """
    if kind not in FAMILY_KINDS:
        raise ValueError(f"{kind!r} is not a notice to a family")
    now = timezone.now()
    window = dt.timedelta(seconds=settings.NOTICE_DEBOUNCE_SECONDS)
    if contacts is None:
        contacts = FamilyContact.objects.filter(patient_id=case.patient_id).order_by("pk")
    told = 0
    for contact in contacts:
        preference = preference_of(contact)
        if not preference.wants(kind):
            continue
        if not any(address_of(contact, channel) for channel in preference.channels()):
            continue
        send_at = after_quiet(
            now + window, start=preference.quiet_start, end=preference.quiet_end, time_zone=contact.time_zone
        )
        told += _notice_add(case=case, kind=kind, key=key, send_at=send_at, contact=contact)
    return told


def notice_coordinator(*, case: Case, kind: str, key: str) -> bool:
    """Tell the case's coordinator, in their next digest (at most one per NOTICE_DIGEST_SECONDS)."""
    if kind not in STAFF_KINDS:
        raise ValueError(f"{kind!r} is not a notice to a coordinator")
    coordinator = case.coordinator
    if coordinator is None or not coordinator.is_active or not coordinator.email:
        return False
    send_at = timezone.now() + dt.timedelta(seconds=settings.NOTICE_DIGEST_SECONDS)
    return _notice_add(case=case, kind=kind, key=key, send_at=send_at, user=coordinator)


PREFERENCE_FIELDS = (
    "by_email",
    "by_sms",
    "by_whatsapp",
    "on_message",
    "on_document_request",
    "on_review",
    "on_date_changed",
    "quiet_start",
    "quiet_end",
)


@transaction.atomic
def notice_preference_update(*, contact: FamilyContact, actor, subscribed: bool = True, **changes) -> NoticePreference:
    """Change what a contact is told and how (the family in the portal, a coordinator in the admin).
    ``subscribed=True`` undoes an unsubscribe."""
    unknown = set(changes) - set(PREFERENCE_FIELDS)
    if unknown:
        raise ValueError(f"Not a notification preference: {', '.join(sorted(unknown))}")
    preference, _created = NoticePreference.objects.select_for_update().get_or_create(contact=contact)
    before = {name: getattr(preference, name) for name in (*PREFERENCE_FIELDS, "unsubscribed_at")}
    for name, value in changes.items():
        setattr(preference, name, value)
    if subscribed:
        preference.unsubscribed_at = None
    elif preference.unsubscribed_at is None:
        preference.unsubscribed_at = timezone.now()
    preference.save()
    changed = sorted(n for n, v in before.items() if getattr(preference, n) != v)
    if changed:
        audit_record(
            actor=actor, action="update", obj=preference, case=None, detail={"contact": contact.pk, "changed": changed}
        )
    return preference


def unsubscribe_token(contact: FamilyContact) -> str:
    """A signed token naming the contact, for the unsubscribe link (no sign-in needed, no expiry:
    an old email's link must still work)."""
    return signing.dumps(contact.pk, salt=UNSUBSCRIBE_SALT, compress=False)


def contact_for_unsubscribe_token(token: str) -> FamilyContact | None:
    try:
        pk = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return FamilyContact.objects.filter(pk=pk).first() if isinstance(pk, int) else None


@transaction.atomic
def notice_unsubscribe(*, contact: FamilyContact, via: str = "link") -> bool:
    """Stop every notice to the contact (the unsubscribe link). True if this call did it."""
    preference, _created = NoticePreference.objects.select_for_update().get_or_create(contact=contact)
    if preference.unsubscribed_at is not None:
        return False
    preference.unsubscribed_at = timezone.now()
    preference.save(update_fields=["unsubscribed_at", "updated_at"])
    audit_record(
        actor=f"notifications.unsubscribe-{via}", action="update", obj=preference, detail={"unsubscribed": True}
    )
    log.info("contact unsubscribed from notices", extra={"contact": contact.pk, "via": via})
    return True
