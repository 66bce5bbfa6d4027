"""Referrals: a case sent to a centre, the history of its status, slots the centre proposes."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import CentreRows, Via, VisibleQuerySet
from cases.models import CaseShare
from cases.services import case_shares_sync

from .. import workflow
from .centres import Hospital

# A change to any of these may change what a referral shares.
SHARE_FIELDS = frozenset({"status", "case", "case_id", "hospital", "hospital_id"})


def referral_shares_sync(pks, *, using: str) -> None:
    """A referral shares its case with its centre exactly while its status is shared
    (``Referral.SHARED_STATUSES``). Every path that writes a referral's status ends here."""
    pks = list(pks)
    for start in range(0, len(pks), 2000):
        rows = (
            Referral.objects.using(using)
            .filter(pk__in=pks[start : start + 2000])
            .values_list("pk", "case_id", "hospital_id", "status")
        )
        case_shares_sync(
            source_model=Referral,
            grants={
                pk: (case_id, CaseShare.Party.CENTRE, hospital_id) if status in Referral.SHARED_STATUSES else None
                for pk, case_id, hospital_id, status in rows
            },
            using=using,
        )


def referral_shares_revoke(pks, *, using: str) -> None:
    """Deleted referrals share nothing (their shares stay, revoked, as a record)."""
    case_shares_sync(source_model=Referral, grants=dict.fromkeys(pks), using=using)


# Fields a centre never sees: writing only them does not make the referral "updated".
INTERNAL_FIELDS = frozenset({"deadline_near_notified_at"})


class ReferralQuerySet(VisibleQuerySet):
    """Bulk writes keep the case shares right too (``update(status=...)`` in a data fix or a test)."""

    def update(self, **kwargs):
        # A bulk write changes what a centre polls with ``updated_since`` too (auto_now only
        # stamps save()); the deadline-near claim is bookkeeping a centre never sees.
        if not set(kwargs) <= INTERNAL_FIELDS:
            kwargs.setdefault("updated_at", timezone.now())
        if SHARE_FIELDS.isdisjoint(kwargs):
            return super().update(**kwargs)
        with transaction.atomic(using=self.db):
            pks = list(self.order_by().values_list("pk", flat=True))
            # Exactly the rows read, so none is changed without its shares being synced.
            count = super(ReferralQuerySet, Referral.objects.using(self.db).filter(pk__in=pks)).update(**kwargs)
            referral_shares_sync(pks, using=self.db)
        return count

    def bulk_create(self, objs, *args, **kwargs):
        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            pks = [referral.pk for referral in created]
            if None in pks:
                # Conflicts ignored: the rows are found by their unique (case, centre).
                pairs = Q(pk__in=[])
                for referral in created:
                    pairs |= Q(case_id=referral.case_id, hospital_id=referral.hospital_id)
                pks = Referral.objects.using(self.db).filter(pairs).values_list("pk", flat=True)
            referral_shares_sync(pks, using=self.db)
        return created

    def delete(self):
        with transaction.atomic(using=self.db):
            pks = list(self.order_by().values_list("pk", flat=True))
            deleted = super(ReferralQuerySet, Referral.objects.using(self.db).filter(pk__in=pks)).delete()
            referral_shares_revoke(pks, using=self.db)
        return deleted

    def bulk_update(self, objs, fields, *args, **kwargs):
        with transaction.atomic(using=self.db):
            count = super().bulk_update(objs, fields, *args, **kwargs)
            if not SHARE_FIELDS.isdisjoint(fields):
                referral_shares_sync([referral.pk for referral in objs], using=self.db)
        return count

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
    visibility = CentreRows("hospital_id", hospital=Q(status__in=SHARED_STATUSES))

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

    def save(self, *args, **kwargs):
        using = kwargs.get("using") or router.db_for_write(Referral, instance=self)
        update_fields = kwargs.get("update_fields")
        with transaction.atomic(using=using):
            super().save(*args, **kwargs)
            if update_fields is None or not SHARE_FIELDS.isdisjoint(update_fields):
                referral_shares_sync([self.pk], using=using)

    def delete(self, *args, **kwargs):
        using = kwargs.get("using") or router.db_for_write(Referral, instance=self)
        pk = self.pk
        with transaction.atomic(using=using):
            deleted = super().delete(*args, **kwargs)
            referral_shares_revoke([pk], using=using)
        return deleted

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

    visibility = Via("referral")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["referral", "-at"])]

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.from_status or '∅'} → {self.to_status}"


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

    objects = VisibleQuerySet.as_manager()
    visibility = Via("referral")

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
