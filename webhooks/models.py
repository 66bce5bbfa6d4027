"""Webhooks: endpoints a centre registers, the events it is sent, and every delivery attempt.

The tables keep the names they had when these models lived in ``hospitals`` (``db_table``):
moving the code moved no rows (see migrations/0001_initial.py)."""

from __future__ import annotations

import base64
import secrets
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import CentreRows, Via, VisibleQuerySet
from hospitals.models import Hospital

from .egress import host_problem, is_loopback_host, loopback_allowed

EVENT_TYPES = [
    ("referral.sent", _("A referral (or a new packet version) was sent")),
    ("packet.updated", _("A new packet version is available")),
    ("message.posted", _("The coordinator posted a message")),
    ("deadline.near", _("A response deadline is near")),
    ("deadline.changed", _("The coordinator changed a response deadline")),
    ("referral.withdrawn", _("The coordinator withdrew a referral")),
]
EVENT_TYPE_VALUES = [value for value, _label in EVENT_TYPES]


def new_signing_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def validate_endpoint_url(value: str) -> None:
    """HTTPS to a public host only. Plain http, and loopback at all, are allowed to
    127.0.0.1/localhost in development and tests (see ``webhooks.egress``)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValidationError(
            _("Enter a valid URL, e.g. https://his.example.cn/navigator/webhooks."), code="invalid"
        ) from None
    if not parts.hostname:
        raise ValidationError(_("Enter a full URL, e.g. https://his.example.cn/navigator/webhooks."), code="invalid")
    if parts.username or parts.password:
        raise ValidationError(_("Do not put credentials in the URL; verify our signature instead."), code="invalid")
    insecure_ok = loopback_allowed()
    problem = host_problem(parts.hostname, allow_loopback=insecure_ok)
    if problem:
        raise ValidationError(
            _(
                "Webhooks are only sent to public internet addresses; %(host)s is a %(problem)s. "
                "Use your centre's public host name, e.g. https://his.example.cn/navigator/webhooks."
            ),
            params={"host": parts.hostname, "problem": problem},
            code="internal_address",
        )
    local_receiver = insecure_ok and is_loopback_host(parts.hostname)
    if parts.port is not None and parts.port not in settings.WEBHOOKS_ALLOWED_PORTS and not local_receiver:
        raise ValidationError(
            _("Webhooks are sent to port %(ports)s only; use your receiver's standard HTTPS address."),
            params={"ports": " or ".join(str(p) for p in sorted(settings.WEBHOOKS_ALLOWED_PORTS))},
            code="port",
        )
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and local_receiver:
        return
    raise ValidationError(_("The endpoint must use https:// (patient data never travels unencrypted)."), code="https")


class WebhookEndpoint(models.Model):
    """An HTTPS URL of a centre that receives signed events."""

    hospital = models.ForeignKey(Hospital, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500, validators=[validate_endpoint_url])
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=100, default=new_signing_secret, editable=False)
    # After a rotation, the secret before it still signs (beside the new one) until it expires,
    # so a centre can switch its receiver without refusing a delivery.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    event_types = models.JSONField(default=list, blank=True, help_text=_("Empty means every event type."))
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = VisibleQuerySet.as_manager()
    visibility = CentreRows("hospital_id")

    class Meta:
        db_table = "hospitals_webhookendpoint"
        ordering = ["hospital", "id"]
        constraints = [models.UniqueConstraint(fields=["hospital", "url"], name="one_endpoint_per_url")]

    def __str__(self) -> str:
        return f"{self.hospital.code}: {self.url}"

    def clean(self) -> None:
        super().clean()
        unknown = [t for t in self.event_types or [] if t not in EVENT_TYPE_VALUES]
        if unknown:
            raise ValidationError(
                {"event_types": _("Unknown event types: %(u)s.") % {"u": ", ".join(map(str, unknown))}}
            )

    def signing_secrets(self, now=None) -> list[str]:
        """The secrets a delivery is signed with now: the current one, and the one before it
        while its grace period runs."""
        now = now or timezone.now()
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            return [self.secret, self.previous_secret]
        return [self.secret]

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


def new_event_id() -> str:
    return "msg_" + uuid.uuid4().hex


class WebhookEvent(models.Model):
    """Something a centre is told about. Its id is the ``webhook-id`` receivers deduplicate on."""

    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    hospital = models.ForeignKey(Hospital, on_delete=models.CASCADE, related_name="webhook_events")
    type = models.CharField(max_length=40, choices=EVENT_TYPES)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Events that must happen once per thing (e.g. "deadline near" per referral and deadline).
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)

    visibility = CentreRows("hospital_id")

    class Meta:
        db_table = "hospitals_webhookevent"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookDeliveryQuerySet(VisibleQuerySet):
    def due(self, now=None):
        return self.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now or timezone.now())


class WebhookDelivery(models.Model):
    """One event to one endpoint, attempted until it succeeds or the retry schedule runs out."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed (retries exhausted)")

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Attempts made before the last replay: the retry schedule counts from here.
    attempt_offset = models.PositiveSmallIntegerField(default=0, editable=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WebhookDeliveryQuerySet.as_manager()
    visibility = CentreRows("endpoint__hospital_id")

    class Meta:
        db_table = "hospitals_webhookdelivery"
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("webhook deliveries")
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_event_endpoint")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="hospitals_w_status_e8a820_idx")]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: the log a coordinator reads when a centre says it got nothing."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    visibility = Via("delivery")

    class Meta:
        db_table = "hospitals_webhookattempt"
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="one_attempt_number_per_delivery")]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}: {self.status_code or self.error}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
