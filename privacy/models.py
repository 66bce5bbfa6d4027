"""What the privacy app records: one row per erased case."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.access import StaffOnly, VisibleQuerySet
from cases.models import Case


class Erasure(models.Model):
    """A closed case whose personal data was erased after its retention period.

    One row per case (a unique constraint): running the erasure twice is a no-op, and the
    reference stays so the audit trail, which keeps ``case_id`` and ``case_reference`` as
    plain columns, still reads as a history."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="erasure")
    case_reference = models.CharField(max_length=20)
    erased_at = models.DateTimeField(default=timezone.now)
    erased_by = models.CharField(max_length=150, help_text="User name, or the task that erased it.")
    summary = models.JSONField(default=dict, blank=True, help_text="Rows scrubbed or removed, files deleted.")

    objects = VisibleQuerySet.as_manager()
    visibility = StaffOnly()

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self) -> str:
        return f"{self.case_reference} erased {self.erased_at:%Y-%m-%d}"


class CaseDataRequest(Case):
    """The coordinators' desk for a family's data requests: export a case, erase a closed one."""

    class Meta:
        proxy = True
        verbose_name = "case data request"
        verbose_name_plural = "case data (export and erasure)"


class ErasureFailureQuerySet(VisibleQuerySet):
    def unresolved(self):
        return self.filter(resolved_at__isnull=True)


class ErasureFailure(models.Model):
    """A case whose erasure failed: how often, the last error, and when it finally succeeded.

    The counter is the metric supervisors watch (admin "Erasure failures"): a row without
    ``resolved_at`` is personal data still kept past its retention period."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="erasure_failure")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    first_failed_at = models.DateTimeField(default=timezone.now)
    last_failed_at = models.DateTimeField(default=timezone.now)
    reported_at = models.DateTimeField(null=True, blank=True, help_text="When a supervisor task was opened.")
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="When the erasure finally succeeded.")

    objects = ErasureFailureQuerySet.as_manager()
    visibility = StaffOnly()

    class Meta:
        ordering = ["-last_failed_at"]

    def __str__(self) -> str:
        return f"erasure of case {self.case_id} failed {self.attempts}×"


class TwoFactorEnrolmentCode(models.Model):
    """A one-time code that lets a staff member enrol a two-factor device.

    Without one, a password alone cannot enrol a device (no trust on first use). A supervisor
    issues it in the admin, or the staff member has it sent to the email address on file.
    Only a SHA-256 hash is stored; the code is shown or sent once, expires after
    ``TWO_FACTOR_ENROLMENT_CODE_MINUTES`` and is spent by its first use."""

    class Channel(models.TextChoices):
        SUPERVISOR = "supervisor", "issued by a supervisor"
        EMAIL = "email", "sent to the email on file"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="two_factor_enrolment_codes"
    )
    code_hash = models.CharField(max_length=64, unique=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"two-factor enrolment code for user {self.user_id} ({self.channel})"
