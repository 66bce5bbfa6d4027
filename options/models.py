"""The options register (treatments and trials a coordinator can propose when CAR-T at a
referral centre does not fit), the versions of each entry as its registry published them, and
the options shortlisted for a case.

An option is not case data: coordinators keep the register. A shortlist entry is: it names a
case, and its family sees it only once a coordinator has shared it with them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import NOBODY, CaseRows, StaffOnly, VisibleQuerySet
from cases.models import Case


class Option(models.Model):
    """A treatment or trial in the register: what it targets, for whom, where, whom to ask."""

    class Kind(models.TextChoices):
        CAR_T = "car_t", _("CAR-T therapy")
        ANTIBODY = "antibody", _("Antibody or antibody-drug conjugate")
        BISPECIFIC = "bispecific", _("Bispecific T-cell engager")
        TRANSPLANT = "transplant", _("Stem cell transplant")
        OTHER = "other", _("Other treatment")

    class Setting(models.TextChoices):
        RELAPSED_REFRACTORY = "relapsed_refractory", _("Relapsed or refractory disease")
        MRD_POSITIVE = "mrd_positive", _("MRD-positive remission")
        CONSOLIDATION = "consolidation", _("Consolidation in remission")
        AFTER_CAR_T = "after_car_t", _("Relapse after CAR-T")

    class Status(models.TextChoices):
        # ClinicalTrials.gov's overallStatus values, plus AVAILABLE for an approved treatment.
        AVAILABLE = "AVAILABLE", _("Available (approved treatment)")
        NOT_YET_RECRUITING = "NOT_YET_RECRUITING", _("Not yet recruiting")
        RECRUITING = "RECRUITING", _("Recruiting")
        ENROLLING_BY_INVITATION = "ENROLLING_BY_INVITATION", _("Enrolling by invitation")
        ACTIVE_NOT_RECRUITING = "ACTIVE_NOT_RECRUITING", _("Active, not recruiting")
        SUSPENDED = "SUSPENDED", _("Suspended")
        TERMINATED = "TERMINATED", _("Terminated")
        COMPLETED = "COMPLETED", _("Completed")
        WITHDRAWN = "WITHDRAWN", _("Withdrawn")
        UNKNOWN = "UNKNOWN", _("Unknown status")

    OPEN_STATUSES = (Status.AVAILABLE, Status.RECRUITING, Status.NOT_YET_RECRUITING, Status.ENROLLING_BY_INVITATION)

    class Registry(models.TextChoices):
        NONE = "", _("Not a registered trial")
        CTGOV = "ctgov", _("ClinicalTrials.gov")
        CHICTR = "chictr", _("Chinese Clinical Trial Registry (ChiCTR)")
        OTHER = "other", _("Other registry")

    class PriorCarT(models.TextChoices):
        ALLOWED = "allowed", _("Allowed")
        REQUIRED = "required", _("Required (for relapse after CAR-T)")
        EXCLUDED = "excluded", _("Excluded")
        UNKNOWN = "unknown", _("Not stated")

    class CnsPolicy(models.TextChoices):
        ACTIVE_EXCLUDED = "active_excluded", _("Active CNS disease (CNS3) excluded")
        ALLOWED = "allowed", _("CNS disease allowed")
        UNKNOWN = "unknown", _("Not stated")

    title = models.CharField(max_length=300)
    short_name = models.CharField(max_length=120, help_text=_("What the coordinator and family call it."))
    kind = models.CharField(max_length=20, choices=Kind.choices)
    is_trial = models.BooleanField(default=False)
    registry = models.CharField(max_length=10, choices=Registry.choices, blank=True, default="")
    registry_id = models.CharField(
        max_length=40, blank=True, help_text=_("e.g. NCT04340167 or ChiCTR2000032211; empty for a treatment.")
    )
    target_antigens = models.JSONField(default=list, blank=True, help_text=_('e.g. ["CD22"] or ["CD19", "CD22"].'))
    setting = models.CharField(max_length=30, choices=Setting.choices, default=Setting.RELAPSED_REFRACTORY)
    b_all = models.BooleanField(_("for B-cell ALL"), default=True)
    min_age_months = models.PositiveIntegerField(null=True, blank=True, help_text=_("Empty = no lower limit."))
    max_age_months = models.PositiveIntegerField(null=True, blank=True, help_text=_("Empty = no upper limit."))
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.UNKNOWN)
    prior_cd19_car_t = models.CharField(
        _("prior CD19 CAR-T"), max_length=10, choices=PriorCarT.choices, default=PriorCarT.UNKNOWN
    )
    cns = models.CharField(_("CNS disease"), max_length=20, choices=CnsPolicy.choices, default=CnsPolicy.UNKNOWN)
    countries = models.JSONField(default=list, blank=True, help_text=_('ISO codes of its locations, e.g. ["CN"].'))
    locations = models.JSONField(default=list, blank=True, help_text=_("Sites: facility, city, country, status."))
    contacts = models.JSONField(default=list, blank=True, help_text=_("People to ask: name, role, email, phone."))
    interventions = models.JSONField(default=list, blank=True, help_text=_("Arms and interventions, by name."))
    eligibility_criteria = models.TextField(blank=True, help_text=_("The registry's criteria, word for word."))
    source = models.CharField(max_length=200, help_text=_("Where this entry comes from (registry, label, paper)."))
    source_url = models.URLField(blank=True)
    summary_en = models.TextField(
        _("plain summary (English)"), blank=True, help_text=_("One or two sentences for a family, no promises.")
    )
    trial_team = models.ForeignKey(
        "hospitals.Hospital",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="options",
        help_text=_("The trial team (or centre) a screening request goes to."),
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()
    visibility = StaffOnly()

    class Meta:
        ordering = ["short_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["registry", "registry_id"], condition=~Q(registry_id=""), name="one_option_per_registry_id"
            ),
            models.CheckConstraint(
                condition=Q(min_age_months=None)
                | Q(max_age_months=None)
                | Q(max_age_months__gte=models.F("min_age_months")),
                name="option_age_bounds_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.short_name} ({self.registry_id})" if self.registry_id else self.short_name

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class OptionVersion(models.Model):
    """One version of a registry's record of an option, kept as it was received: an import that
    finds a changed record adds a version; an unchanged one adds nothing."""

    option = models.ForeignKey(Option, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    document = models.JSONField(help_text=_("The record as the registry gave it."))
    digest = models.CharField(max_length=64, help_text=_("SHA-256 of the record in canonical JSON."))
    last_update = models.DateField(null=True, blank=True, help_text=_("The registry's last update date."))
    source_url = models.CharField(max_length=500, blank=True, help_text=_("File or URL it was imported from."))
    imported_at = models.DateTimeField(default=timezone.now)
    imported_by_label = models.CharField(max_length=150)

    objects = VisibleQuerySet.as_manager()
    visibility = StaffOnly()

    class Meta:
        ordering = ["option", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["option", "number"], name="one_option_version_number"),
            models.UniqueConstraint(fields=["option", "digest"], name="one_option_version_per_content"),
        ]

    def __str__(self) -> str:
        return f"{self.option} v{self.number}"


class ShortlistQuerySet(VisibleQuerySet):
    def current(self):
        return self.filter(removed_at=None)


class ShortlistEntry(models.Model):
    """An option a coordinator shortlisted for a case, with why. A shortlist is never a
    decision: the treating team decides whether the patient can take part or be treated."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="shortlist")
    option = models.ForeignKey(Option, on_delete=models.PROTECT, related_name="shortlisted")
    reason = models.TextField(help_text=_("Why this option was shortlisted (for the team, not the family)."))
    screen = models.JSONField(default=dict, help_text=_("The pre-filter's result and reasons when it was shortlisted."))
    shared_with_family = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_by_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_reason = models.TextField(blank=True)
    screening_referral = models.ForeignKey(
        "hospitals.Referral",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The screening request sent to the option's trial team (a referral like any other)."),
    )

    objects = ShortlistQuerySet.as_manager()
    # Families see what a coordinator shared with them and still stands; centres nothing.
    visibility = CaseRows("case", family=Q(shared_with_family=True, removed_at=None), hospital=NOBODY)

    class Meta:
        ordering = ["case", "-created_at", "-id"]
        verbose_name_plural = "shortlist entries"
        constraints = [
            models.UniqueConstraint(
                fields=["case", "option"], condition=Q(removed_at=None), name="one_current_shortlist_entry"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.option} for {self.case_id}"


class CaseOptions(Case):
    """The coordinator's desk for a case's options: why they are offered, the register screened
    against the case, the shortlist."""

    class Meta:
        proxy = True
        verbose_name = "case options"
        verbose_name_plural = "options for cases"
