"""Telling people that something happened on a case, without saying what.

A family is told of a new message, a record asked for, a record reviewed and a moved date; a
coordinator of new family messages and uploads. Each event becomes a ``Notice`` for each
recipient; the notices of one recipient gather in one open ``NoticeDigest`` until it falls due
(a short window for a family, pushed past their quiet hours; an hour for a coordinator), and a
digest is sent once per channel as a ``NoticeDelivery``. Reminders are scheduling's own rows;
this app renders and delivers both.

Exactly once comes from the database: one notice per recipient and event (unique key), one open
digest per recipient (partial unique), one delivery per digest and channel (unique), and a
delivery is sent only by the worker whose conditional UPDATE leased it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.access import StaffOnly, Via, VisibleQuerySet


class NoticeKind(models.TextChoices):
    # To the family
    MESSAGE = "message", _("New message from the coordinator")
    DOCUMENT_REQUEST = "document_request", _("Record asked for")
    REVIEW = "review", _("Record reviewed")
    DATE_CHANGED = "date_changed", _("Date changed")
    # To the coordinator
    FAMILY_MESSAGE = "family_message", _("New message from the family")
    UPLOAD = "upload", _("New record from the family")


FAMILY_KINDS = (NoticeKind.MESSAGE, NoticeKind.DOCUMENT_REQUEST, NoticeKind.REVIEW, NoticeKind.DATE_CHANGED)
STAFF_KINDS = (NoticeKind.FAMILY_MESSAGE, NoticeKind.UPLOAD)


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")


class NoticePreference(models.Model):
    """What one family contact wants to be told, how, and when not.

    A contact without a row has the defaults: email and SMS, every kind, quiet from 21:00 to
    08:00 in their time zone. Quiet hours equal at both ends mean none."""

    contact = models.OneToOneField("cases.FamilyContact", on_delete=models.CASCADE, related_name="notice_preference")
    by_email = models.BooleanField(_("by email"), default=True)
    by_sms = models.BooleanField(_("by SMS"), default=True)
    by_whatsapp = models.BooleanField(_("by WhatsApp"), default=False)
    on_message = models.BooleanField(_("a new message"), default=True)
    on_document_request = models.BooleanField(_("a record is asked for"), default=True)
    on_review = models.BooleanField(_("a record was reviewed"), default=True)
    on_date_changed = models.BooleanField(_("a date changed"), default=True)
    quiet_start = models.TimeField(_("quiet from"), default=dt.time(21, 0))
    quiet_end = models.TimeField(_("quiet until"), default=dt.time(8, 0))
    unsubscribed_at = models.DateTimeField(
        _("unsubscribed at"), null=True, blank=True, help_text=_("Set by the unsubscribe link: nothing is sent.")
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()
    visibility = Via("contact")

    class Meta:
        verbose_name = _("notification preference")

    def __str__(self) -> str:
        return f"{self.contact}"

    def wants(self, kind: str) -> bool:
        if self.unsubscribed_at is not None:
            return False
        return bool(getattr(self, f"on_{kind}", False))

    def channels(self) -> list[str]:
        if self.unsubscribed_at is not None:
            return []
        chosen = [(self.by_email, Channel.EMAIL), (self.by_sms, Channel.SMS), (self.by_whatsapp, Channel.WHATSAPP)]
        return [channel for on, channel in chosen if on]


class NoticeDigest(models.Model):
    """The notices of one recipient sent together: open while events gather, closed when sent.

    Exactly one of ``contact`` (a family member) and ``user`` (a coordinator)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Gathering")
        CLOSED = "closed", _("Handed to delivery")

    contact = models.ForeignKey(
        "cases.FamilyContact", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    send_at = models.DateTimeField(help_text=_("When it falls due: the end of the window, after quiet hours."))
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = VisibleQuerySet.as_manager()
    visibility = StaffOnly()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=True, user__isnull=False) | Q(contact__isnull=False, user__isnull=True),
                name="notice_digest_one_recipient",
            ),
            models.UniqueConstraint(fields=["contact"], condition=Q(status="open"), name="one_open_digest_per_contact"),
            models.UniqueConstraint(fields=["user"], condition=Q(status="open"), name="one_open_digest_per_user"),
        ]
        indexes = [
            models.Index(fields=["send_at"], name="notice_digest_open_due", condition=Q(status="open")),
            models.Index(fields=["contact"], name="notice_digest_contact"),
            models.Index(fields=["user"], name="notice_digest_user"),
        ]

    def __str__(self) -> str:
        return f"digest {self.pk} ({'contact' if self.contact_id else 'user'})"

    @property
    def is_family(self) -> bool:
        return self.contact_id is not None


class Notice(models.Model):
    """One event for one recipient: no content, only what kind of thing happened on which case."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    digest = models.ForeignKey(NoticeDigest, on_delete=models.CASCADE, related_name="notices")
    contact = models.ForeignKey(
        "cases.FamilyContact", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=20, choices=NoticeKind.choices)
    key = models.CharField(max_length=120, help_text=_("The event, e.g. message:12; told once per recipient."))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VisibleQuerySet.as_manager()
    visibility = StaffOnly()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "key"], name="notice_once_per_contact_event"),
            models.UniqueConstraint(fields=["user", "key"], name="notice_once_per_user_event"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.key})"


class NoticeDelivery(models.Model):
    """One digest on one channel. Lifecycle as a reminder's: queued -> sending (leased by one
    worker, ``attempts`` is the fencing token) -> sent; back to queued after a temporary failure;
    failed after the last attempt or a permanent refusal; skipped when no longer wanted."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    digest = models.ForeignKey(NoticeDigest, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_ref = models.CharField(max_length=200, blank=True)
    delivery = models.CharField(
        max_length=20,
        blank=True,
        choices=[("exactly_once", _("Exactly once")), ("at_least_once", _("At least once (may have arrived twice)"))],
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()
    visibility = StaffOnly()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("notice deliveries")
        constraints = [
            models.UniqueConstraint(fields=["digest", "channel"], name="notice_delivery_once_per_channel"),
        ]
        indexes = [
            models.Index(fields=["lease_until"], name="notice_delivery_sending", condition=Q(status="sending")),
            models.Index(fields=["claimed_at"], name="notice_delivery_queued", condition=Q(status="queued")),
            models.Index(fields=["updated_at"], name="notice_delivery_failed", condition=Q(status="failed")),
        ]

    def __str__(self) -> str:
        return f"{self.digest} · {self.channel}"

    @property
    def idempotency_key(self) -> str:
        return f"navigator-notice-{self.pk}"
