"""Treating centres and what has been shared with them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField


class HospitalQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated:
            return self.none()
        if user.is_coordinator:
            return self
        if user.is_hospital:
            return self.filter(pk=user.hospital_id)
        return self.none()


class Hospital(models.Model):
    """A treating centre (e.g. PKUPH Beijing) with an international department."""

    code = models.SlugField(max_length=40, unique=True, help_text=_("Short stable code, e.g. pkuph."))
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    city = models.CharField(max_length=100)
    country = CountryField(default="CN")
    time_zone = models.CharField(max_length=64, default="Asia/Shanghai")
    is_active = models.BooleanField(default=True)

    objects = HospitalQuerySet.as_manager()

    class Meta:
        ordering = ["name_en"]

    def __str__(self) -> str:
        return self.name_en


class ReferralQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated:
            return self.none()
        if user.is_coordinator:
            return self
        if user.is_hospital:
            return self.filter(hospital_id=user.hospital_id, status__in=Referral.SHARED_STATUSES)
        return self.none()


class Referral(models.Model):
    """A case sent to a centre. Once sent, the centre may see the case's shared data."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENT = "sent", _("Sent")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        UNDER_REVIEW = "under_review", _("Under review")
        ACCEPTED = "accepted", _("Accepted for screening")
        MORE_INFO = "more_info", _("More information requested")
        DECLINED = "declined", _("Declined")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    # A draft has not been shared yet: the centre must not learn of it.
    UNSHARED_STATUSES = (Status.DRAFT,)
    SHARED_STATUSES = (
        Status.SENT,
        Status.ACKNOWLEDGED,
        Status.UNDER_REVIEW,
        Status.ACCEPTED,
        Status.MORE_INFO,
        Status.DECLINED,
        Status.WITHDRAWN,
    )

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="referrals")
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="referrals")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["case", "hospital"], name="one_referral_per_case_and_hospital")]

    def __str__(self) -> str:
        return f"{self.case} → {self.hospital}"
