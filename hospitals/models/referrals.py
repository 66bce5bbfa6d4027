"""Referrals: a case sent to a centre, the history of its status, slots the centre proposes."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.access import restrict_to_hospital

from .. import workflow
from .centres import Hospital


class ReferralQuerySet(models.QuerySet):
    def visible_to(self, user):
        return restrict_to_hospital(self, user, status__in=Referral.SHARED_STATUSES)

    def awaiting_answer(self):
        return self.filter(status__in=workflow.AWAITING_ANSWER)

    def overdue(self, now=None):
        return self.awaiting_answer().filter(response_due_at__lt=now or timezone.now())


class Referral(models.Model):
    """A case sent to a centre. Once sent, the centre may see the case's shared data."""

    class Status(models.TextChoices):
        DRAFT = workflow.DRAFT, _("Draft")
        SENT = workflow.SENT, _("Sent")
        ACKNOWLEDGED = workflow.ACKNOWLEDGED, _("Acknowledged")
        UNDER_REVIEW = workflow.UNDER_REVIEW, _("Under review")
        ACCEPTED = workflow.ACCEPTED, _("Accepted for screening")
        MORE_INFO = workflow.MORE_INFO, _("More information requested")
        DECLINED = workflow.DECLINED, _("Declined")
        WITHDRAWN = workflow.WITHDRAWN, _("Withdrawn")

    # A draft has not been shared yet: the centre must not learn of it. A withdrawn referral is
    # no longer shared: the centre loses the case, its packets and documents (minimum necessary;
    # its earlier reads stay in the audit trail). A declined one stays shared, read-only in
    # effect: the centre may need to look back at what it decided on.
    UNSHARED_STATUSES = (Status.DRAFT, Status.WITHDRAWN)
    SHARED_STATUSES = (
        Status.SENT,
        Status.ACKNOWLEDGED,
        Status.UNDER_REVIEW,
        Status.ACCEPTED,
        Status.MORE_INFO,
        Status.DECLINED,
    )

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="referrals")
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="referrals")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    cover_note = models.TextField(
        blank=True, help_text=_("The coordinator's note to the centre, sent with the packet.")
    )
    sent_at = models.DateTimeField(null=True, blank=True, help_text=_("When the latest packet was sent."))
    first_sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    review_started_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True, help_text=_("When the centre last answered."))
    closed_at = models.DateTimeField(null=True, blank=True, help_text=_("When declined or withdrawn."))
    response_due_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text=_("The centre is asked to answer by then.")
    )
    deadline_near_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    decline_reason = models.TextField(blank=True)
    withdraw_reason = models.TextField(blank=True)
    information_requested = models.JSONField(
        default=list, blank=True, help_text=_("What the centre asked for, item by item.")
    )
    answer_note = models.TextField(blank=True, help_text=_("The centre's latest comment with its answer."))

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["case", "hospital"], name="one_referral_per_case_and_hospital"),
            models.CheckConstraint(
                condition=~Q(status="declined") | ~Q(decline_reason=""), name="referral_decline_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["status", "response_due_at"])]

    def __str__(self) -> str:
        return f"{self.case} → {self.hospital}"

    @property
    def milestone_key(self) -> str:
        return f"referral-deadline:{self.pk}"

    @property
    def is_shared(self) -> bool:
        return self.status in self.SHARED_STATUSES

    @property
    def awaits_answer(self) -> bool:
        return self.status in workflow.AWAITING_ANSWER

    @property
    def is_overdue(self) -> bool:
        return bool(self.awaits_answer and self.response_due_at and self.response_due_at < timezone.now())


class ReferralEvent(models.Model):
    """One move of a referral: who (coordinator or centre), when, from, to, why. Never edited."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["referral", "-at"])]

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.from_status or '∅'} → {self.to_status}"


class AppointmentSlotQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(referral__in=Referral.objects.visible_to(user))


class AppointmentSlot(models.Model):
    """A date the centre proposes: a tele-consultation or an admission. The coordinator
    confirms one with the family; the others lapse."""

    class Kind(models.TextChoices):
        TELECONSULTATION = "teleconsultation", _("Tele-consultation")
        ADMISSION = "admission", _("Admission")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        CONFIRMED = "confirmed", _("Confirmed")
        LAPSED = "lapsed", _("Not taken")
        CANCELLED = "cancelled", _("Cancelled")

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="slots")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    location = models.CharField(max_length=300, blank=True, help_text=_("Ward or video-call link."))
    note = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROPOSED, db_index=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = AppointmentSlotQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at=None) | Q(ends_at__gt=models.F("starts_at")), name="slot_ends_after_start"
            ),
            models.UniqueConstraint(
                fields=["referral", "kind"], condition=Q(status="confirmed"), name="one_confirmed_slot_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        super().clean()
        if self.ends_at and self.starts_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("The end must come after the start.")})
