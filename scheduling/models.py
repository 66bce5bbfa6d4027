"""Dates on a case's treatment pathway: milestones, the events they derive from, MRD
results, coordinator tasks, and the reminders sent about them.

Milestones are never typed in by hand. They are derived from recorded treatment events
(``scheduling.pathway``) or handed over by other apps through
``scheduling.services.milestone_upsert`` (document requests, referrals, travel).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.access import restrict


class CaseDataQuerySet(models.QuerySet):
    def visible_to(self, user):
        return restrict(self, user, "case")


class MilestoneKind(models.TextChoices):
    """Kinds of milestone. Reminder rules are configured per kind."""

    APHERESIS = "apheresis", _("Apheresis")
    DONOR_SEARCH = "donor_search", _("Donor search starts")
    LYMPHODEPLETION = "lymphodepletion", _("Lymphodepletion")
    INFUSION = "infusion", _("CAR-T infusion (day 0)")
    STAY_NEAR_CENTRE = "stay_near_centre", _("Stay near the treating centre")
    MRD_DAY_28 = "mrd_day28", _("Day-28 MRD assessment")
    MRD_DAY_60 = "mrd_day60", _("Day-60 MRD assessment")
    TRANSPLANT_PLANNING = "transplant_planning", _("Transplant planning")
    TRANSPLANT_WINDOW = "transplant_window", _("Transplant window")
    TKI_MAINTENANCE = "tki_maintenance", _("TKI maintenance check")
    DOCUMENT_REQUEST = "document_request", _("Document request due")
    REFERRAL_DEADLINE = "referral_deadline", _("Referral deadline")
    TRAVEL = "travel", _("Travel")
    OTHER = "other", _("Other")


class MilestoneQuerySet(CaseDataQuerySet):
    def open(self):
        return self.filter(status__in=Milestone.OPEN_STATUSES)

    def overdue(self, now=None):
        return self.open().filter(due_at__lt=now or timezone.now())

    def due_between(self, start, end):
        return self.open().filter(due_at__gte=start, due_at__lt=end)


class Milestone(models.Model):
    """A date on a case's pathway that someone must act on (an MRD assessment, a deadline).

    ``key`` names the milestone within its case ("pathway:mrd_day28",
    "document-request:42"): upserting the same key moves the milestone instead of
    adding a second one.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")
        ESCALATED = "escalated", _("Overdue, escalated")

    OPEN_STATUSES = (Status.PENDING, Status.ESCALATED)

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="milestones")
    key = models.CharField(max_length=100, help_text=_("Stable name within the case, e.g. pathway:mrd_day28."))
    kind = models.CharField(max_length=30, choices=MilestoneKind.choices)
    title = models.CharField(max_length=200)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    concerns_family = models.BooleanField(
        default=False, help_text=_("The family is reminded too (in their language and time zone).")
    )
    hospital = models.ForeignKey(
        "hospitals.Hospital", null=True, blank=True, on_delete=models.SET_NULL, related_name="milestones"
    )
    # Where the milestone comes from: a row of another app (generic) and/or a readable label.
    source_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source_id = models.CharField(max_length=64, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    source_label = models.CharField(max_length=200, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MilestoneQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "key"], name="milestone_key_unique_per_case")]
        indexes = [
            models.Index(fields=["case", "due_at"]),
            # The caseload views and the escalation sweep read open milestones by date.
            models.Index(
                fields=["due_at"], name="milestone_open_due", condition=Q(status__in=["pending", "escalated"])
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.due_at:%Y-%m-%d})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at < timezone.now()

    @property
    def coordinator(self):
        return self.case.coordinator


class CoordinatorTask(models.Model):
    """Work a coordinator must do, created by the pathway (MRD-positive result, an overdue checkpoint).

    ``key`` makes creation idempotent: the same cause never opens two tasks.
    """

    class Priority(models.IntegerChoices):
        NORMAL = 1, _("Normal")
        HIGH = 2, _("High")
        URGENT = 3, _("Urgent")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="coordinator_tasks")
    key = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="coordinator_tasks"
    )
    milestone = models.ForeignKey(Milestone, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CaseDataQuerySet.as_manager()

    class Meta:
        ordering = ["-priority", "created_at"]
        constraints = [models.UniqueConstraint(fields=["case", "key"], name="coordinator_task_key_unique_per_case")]
        indexes = [models.Index(fields=["assignee", "status", "-priority"])]

    def __str__(self) -> str:
        return self.title
