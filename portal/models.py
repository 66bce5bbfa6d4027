"""Portal access: invitations that turn a family contact into a portal login."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import CaseRows, StaffOnly, VisibleQuerySet


def token_hash(raw_token: str) -> str:
    """Only this digest is stored: a leaked database row cannot be turned back into a link."""
    return hashlib.sha256(raw_token.encode()).hexdigest()


class InvitationQuerySet(VisibleQuerySet):
    def usable(self, now=None):
        return self.filter(used_at=None, revoked_at=None, expires_at__gt=now or timezone.now())


class PortalInvitation(models.Model):
    """A single-use, expiring link emailed to a family contact so they can set a password.

    The raw token exists only in the email; the row keeps its SHA-256. Using it is claimed
    with a conditional UPDATE on ``used_at`` so two clicks cannot both create an account.
    """

    contact = models.ForeignKey("cases.FamilyContact", on_delete=models.CASCADE, related_name="portal_invitations")
    email = models.EmailField(help_text=_("Where the link was sent."))
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The portal login created or updated when the link was used."),
    )

    objects = InvitationQuerySet.as_manager()
    # Invitations are coordinators' work; families and hospitals never list them.
    visibility = StaffOnly()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["contact", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="invitation_expires_after_creation"
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation {self.pk} for contact {self.contact_id}"

    @property
    def state(self) -> str:
        if self.used_at:
            return "used"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"

    @property
    def is_usable(self) -> bool:
        return self.state == "pending"


def _own_mark(user) -> Q:
    return Q(user=user)


class MessageReadMark(models.Model):
    """How far a family member has read their case's messages (drives "new messages")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    visibility = CaseRows("case", family=_own_mark, hospital=_own_mark)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "case"], name="one_read_mark_per_user_and_case")]

    def __str__(self) -> str:
        return f"{self.user_id} read case {self.case_id} up to {self.read_at:%Y-%m-%d %H:%M}"
