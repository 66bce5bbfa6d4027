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

from accounts.access import CaseRows, OwnRows, VisibleQuerySet


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
    TRANSPLANT_WINDOW = "transplant_window", _("Aim to transplant by (planning target)")
    TKI_MAINTENANCE = "tki_maintenance", _("TKI maintenance check")
    DOCUMENT_REQUEST = "document_request", _("Document request due")
    REFERRAL_DEADLINE = "referral_deadline", _("Referral deadline")
    TRAVEL = "travel", _("Travel")
    OTHER = "other", _("Appointment or deadline")


class MilestoneQuerySet(VisibleQuerySet):
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
    # A family sees only the milestones that concern it (not e.g. MDT planning).
    visibility = CaseRows("case", family=Q(concerns_family=True))

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
    mrd_result = models.ForeignKey(
        "scheduling.MRDResult", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = VisibleQuerySet.as_manager()
    visibility = CaseRows("case")

    class Meta:
        ordering = ["-priority", "created_at"]
        constraints = [models.UniqueConstraint(fields=["case", "key"], name="coordinator_task_key_unique_per_case")]
        indexes = [models.Index(fields=["assignee", "status", "-priority"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class TreatmentEvent(models.Model):
    """A dated step of treatment recorded by a coordinator (planned or done); milestones derive from these.

    One row per kind per case: a moved infusion is the same row with a new date.
    """

    class Kind(models.TextChoices):
        APHERESIS = "apheresis", _("Apheresis (T-cell collection)")
        MANUFACTURING_START = "manufacturing_start", _("CAR-T manufacturing started")
        LYMPHODEPLETION = "lymphodepletion", _("Lymphodepletion (fludarabine + cyclophosphamide)")
        INFUSION = "infusion", _("CAR-T infusion (day 0)")
        PH_POSITIVE = "ph_positive", _("Ph+ (BCR::ABL1) confirmed")
        TRANSPLANT = "transplant", _("Allogeneic transplant")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        DONE = "done", _("Took place")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="treatment_events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    occurred_on = models.DateField(_("date"), help_text=_("The date at the treating centre (planned or actual)."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    hospital = models.ForeignKey(
        "hospitals.Hospital", null=True, blank=True, on_delete=models.SET_NULL, related_name="treatment_events"
    )
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()
    visibility = CaseRows("case")

    class Meta:
        ordering = ["occurred_on", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="one_treatment_event_per_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_on:%Y-%m-%d}"


class MRDResult(models.Model):
    """A measurable residual disease result (pathway.md steps 5-7)."""

    class Checkpoint(models.TextChoices):
        DAY_28 = "day28", _("Day 28")
        DAY_60 = "day60", _("Day 60")
        OTHER = "other", _("Other")

    class Sample(models.TextChoices):
        BONE_MARROW = "bone_marrow", _("Bone marrow aspirate")
        PERIPHERAL_BLOOD = "peripheral_blood", _("Peripheral blood")

    class Method(models.TextChoices):
        FLOW = "flow", _("Flow cytometry (sensitivity 10^-4)")
        PCR_5 = "pcr_1e5", _("PCR (sensitivity 10^-5)")
        PCR_6 = "pcr_1e6", _("PCR / NGS (sensitivity 10^-6)")

    SENSITIVITY = {Method.FLOW: 1e-4, Method.PCR_5: 1e-5, Method.PCR_6: 1e-6}

    class Result(models.TextChoices):
        NEGATIVE = "negative", _("MRD-negative")
        POSITIVE = "positive", _("MRD-positive")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="mrd_results")
    checkpoint = models.CharField(max_length=10, choices=Checkpoint.choices)
    sample_date = models.DateField()
    sample = models.CharField(max_length=20, choices=Sample.choices, default=Sample.BONE_MARROW)
    method = models.CharField(max_length=10, choices=Method.choices)
    value = models.DecimalField(
        max_digits=12,
        decimal_places=10,
        null=True,
        blank=True,
        help_text=_("Fraction of leukaemic cells, e.g. 0.0003 for 3 × 10^-4. Blank when undetectable."),
    )
    result = models.CharField(max_length=10, choices=Result.choices)
    complete_remission = models.BooleanField(
        help_text=_("Morphological complete remission (CR/CRi) at this assessment: entered explicitly, never assumed.")
    )
    document = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="mrd_results"
    )
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VisibleQuerySet.as_manager()
    visibility = CaseRows("case")

    class Meta:
        ordering = ["-sample_date", "-id"]
        indexes = [models.Index(fields=["case", "-sample_date"])]
        verbose_name = _("MRD result")

    def __str__(self) -> str:
        return f"{self.get_checkpoint_display()} {self.get_result_display()} ({self.sample_date:%Y-%m-%d})"

    @property
    def is_negative(self) -> bool:
        return self.result == self.Result.NEGATIVE


class TransplantDecision(models.Model):
    """The MDT's decision on allogeneic transplant after CAR-T; the transplant milestones follow it.

    Guide: allo-SCT after CAR-T-induced MRD-negative CR is strongly recommended for adults;
    paediatric patients may achieve sustained remission without transplant in some low-risk
    scenarios, discussed in MDT.
    """

    class Decision(models.TextChoices):
        UNDECIDED = "undecided", _("Not decided yet")
        PLANNED = "planned", _("Transplant planned")
        NOT_PLANNED = "not_planned", _("No transplant planned")

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="transplant_decision")
    decision = models.CharField(max_length=20, choices=Decision.choices, default=Decision.UNDECIDED)
    reason = models.TextField(blank=True, help_text=_("Why no transplant is planned (required then)."))
    decided_on = models.DateField(null=True, blank=True, help_text=_("The date of the MDT meeting."))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()
    visibility = CaseRows("case")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(decision="not_planned") | ~Q(reason=""), name="transplant_not_planned_has_reason"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case}: {self.get_decision_display()}"


class ReminderRule(models.Model):
    """When reminders of a kind of milestone go out, and to whom. Edited by administrators.

    ``offset_days`` is relative to the due date: -7 a week before, 0 on the day, +3 three
    days late. An escalation rule fires only while the milestone is still open, and also
    escalates the milestone itself (an urgent coordinator task).
    """

    class FamilyChannels(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")
        BOTH = "both", _("Email and SMS")

    kind = models.CharField(max_length=30, choices=MilestoneKind.choices)
    offset_days = models.SmallIntegerField(help_text=_("Days relative to the due date: -7, -1, 0, or +3 when late."))
    is_escalation = models.BooleanField(
        default=False, help_text=_("Sent only if the milestone is still open; escalates it to an urgent task.")
    )
    to_coordinator = models.BooleanField(default=True)
    to_family = models.BooleanField(default=True, help_text=_("Only for milestones that concern the family."))
    to_hospital = models.BooleanField(default=False, help_text=_("Staff of the milestone's centre, if shared."))
    to_home_haematologist = models.BooleanField(
        default=True,
        help_text=_("The home haematologist: follow-up visits after discharge only, while their link is active."),
    )
    family_channels = models.CharField(max_length=10, choices=FamilyChannels.choices, default=FamilyChannels.BOTH)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "offset_days"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "offset_days", "is_escalation"], name="one_reminder_rule_per_slot"),
            models.CheckConstraint(
                condition=Q(is_escalation=False) | Q(offset_days__gt=0), name="escalation_rule_is_after_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.slot}"

    @property
    def slot(self) -> str:
        label = "on the day" if self.offset_days == 0 else f"{self.offset_days:+d}d"
        return f"{label} escalation" if self.is_escalation else label


class Reminder(models.Model):
    """One message to one recipient on one channel about one milestone.

    Lifecycle: pending -> queued (claimed by the sweep) -> sending (leased by one worker)
    -> sent; or failed after the last retry; cancelled/skipped when the milestone no longer
    needs it. Every step is a conditional UPDATE, so the database decides who sends.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        SKIPPED = "skipped", _("Skipped (no longer needed)")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    class Audience(models.TextChoices):
        COORDINATOR = "coordinator", _("Coordinator")
        FAMILY = "family", _("Family")
        HOSPITAL = "hospital", _("Hospital")
        HOME_HAEMATOLOGIST = "home", _("Home haematologist")

    # No index of its own: the unique constraints below start with milestone. Fewer indexes
    # also keep the sweep's claim UPDATE cheap as the table grows.
    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="reminders", db_index=False)
    rule = models.ForeignKey(
        ReminderRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="reminders", db_index=False
    )
    slot = models.CharField(max_length=40, help_text=_("Which rule slot, e.g. -7d or +3d escalation."))
    is_escalation = models.BooleanField(default=False)
    audience = models.CharField(max_length=12, choices=Audience.choices)
    recipient = models.CharField(max_length=40, help_text=_("user:<id>, contact:<id> or home:<id>."))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(
        "cases.FamilyContact", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    language = models.CharField(max_length=10, default="en")
    time_zone = models.CharField(max_length=64, default="UTC")
    send_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_ref = models.CharField(max_length=200, blank=True)
    delivery = models.CharField(
        max_length=20,
        blank=True,
        choices=[("exactly_once", _("Exactly once")), ("at_least_once", _("At least once (may have arrived twice)"))],
        help_text=_("Set when sent: whether the channel's provider honours the idempotency key."),
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()
    visibility = CaseRows("milestone__case")

    class Meta:
        ordering = ["send_at", "id"]
        constraints = [
            # Deferred: re-planning moves several rows of a milestone at once inside one
            # transaction (serialised by a lock on the milestone); uniqueness holds at commit.
            models.UniqueConstraint(
                fields=["milestone", "recipient", "channel", "send_at"],
                name="reminder_unique_per_recipient_time",
                deferrable=models.Deferrable.DEFERRED,
            ),
            models.UniqueConstraint(
                fields=["milestone", "recipient", "channel", "slot"],
                name="reminder_unique_per_slot",
                deferrable=models.Deferrable.DEFERRED,
            ),
        ]
        indexes = [
            # The sweep reads only due pending rows: its cost does not grow with future reminders.
            models.Index(fields=["send_at"], name="reminder_pending_send_at", condition=Q(status="pending")),
            models.Index(fields=["lease_until"], name="reminder_sending_lease", condition=Q(status="sending")),
            models.Index(fields=["claimed_at"], name="reminder_queued_claimed", condition=Q(status="queued")),
            models.Index(fields=["updated_at"], name="reminder_failed", condition=Q(status="failed")),
        ]

    def __str__(self) -> str:
        # By audience, not by the recipient's internal id: this is what the admin shows.
        return f"{self.milestone} → {self.get_audience_display().lower()} ({self.channel}, {self.slot})"

    @property
    def idempotency_key(self) -> str:
        """Given to the provider so a retried send of the same reminder is not delivered twice."""
        return f"navigator-reminder-{self.pk}"


class CalendarLinkQuerySet(VisibleQuerySet):
    def usable(self, now=None):
        return self.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


class CalendarLink(models.Model):
    """One private subscription link to a case's calendar feed, for one user.

    The URL carries a signed token naming this row; the feed answers only while the row is
    neither expired (``CALENDAR_LINK_DAYS`` after issue) nor revoked. A family revokes a
    link from the portal's Dates page, a coordinator from the admin; changing the password
    still revokes every link of that user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_links")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="calendar_links")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = CalendarLinkQuerySet.as_manager()
    # Coordinators see every link (to revoke one); anyone else only their own.
    visibility = OwnRows("user")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "case", "-created_at"])]

    def __str__(self) -> str:
        return f"calendar link {self.pk} of case {self.case_id}"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
