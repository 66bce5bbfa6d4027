"""The way home: the family's home haematologist, the handback packet written for them at
discharge (immutable, versioned), the signed links through which they read it and post
follow-up results, and those results."""

from __future__ import annotations

import hashlib

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from accounts.access import NOBODY, CaseRows, VisibleQuerySet
from accounts.models import validate_time_zone
from scheduling.models import Milestone, MilestoneQuerySet


def staff_only_case_rows(path: str = "case") -> CaseRows:
    """Case data for coordinators only: the family and centres see none of it."""
    return CaseRows(path, family=NOBODY, hospital=NOBODY)


# The portal's languages: the home haematologist's page and reminders are translated into these.
HOME_LANGUAGES = [("en", "English"), ("zh-hans", "简体中文"), ("ar", "العربية"), ("ru", "Русский")]


class HomeHaematologist(models.Model):
    """The haematologist who takes the patient back at home: a contact, not an account. They
    reach the case only through a signed link a coordinator issues (``AccessLink``), and are
    reminded of each follow-up visit in their language and zone while a link is active."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="home_haematologist_contact")
    name = models.CharField(max_length=200)
    centre = models.CharField(max_length=200, blank=True)
    email = models.EmailField()
    phone = PhoneNumberField(blank=True, help_text=_("International format; SMS reminders go here when given."))
    language = models.CharField(
        max_length=10, default="en", choices=HOME_LANGUAGES, help_text=_("Their page and reminders are in it.")
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text=_("Reminders arrive between 09:00 and 20:00 in this zone."),
    )
    receives_reminders = models.BooleanField(
        default=True, help_text=_("Reminders of each follow-up visit, with the link to their page.")
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = VisibleQuerySet.as_manager()
    visibility = staff_only_case_rows()

    def __str__(self) -> str:
        return f"{self.name} ({self.centre})" if self.centre else self.name


class Handback(models.Model):
    """One version of the handback packet: what the treating centre did and what to watch for,
    frozen as content, PDF and FHIR document Bundle. Never changed once stored; a correction
    is a new version."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="handbacks")
    version = models.PositiveIntegerField()
    content = models.JSONField(help_text=_("Everything the handback says, as frozen."))
    bundle = models.JSONField(help_text=_("The FHIR R4 document Bundle."))
    pdf = models.BinaryField()
    digest = models.CharField(max_length=64, help_text=_("SHA-256 of the content."))
    created_at = models.DateTimeField(default=timezone.now)
    created_by_label = models.CharField(max_length=150)

    objects = VisibleQuerySet.as_manager()
    visibility = staff_only_case_rows()

    class Meta:
        ordering = ["case", "-version"]
        constraints = [models.UniqueConstraint(fields=["case", "version"], name="one_handback_version_number")]

    def __str__(self) -> str:
        return f"Handback v{self.version} of {self.case_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("A handback version is never changed; create a new version.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("A handback version is never deleted.")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccessLinkQuerySet(VisibleQuerySet):
    def usable(self, now=None):
        return self.filter(revoked_at=None, expires_at__gt=now or timezone.now())


class AccessLink(models.Model):
    """A revocable, expiring link for the home haematologist: read the case's handback, post
    follow-up results, nothing else. The token is an HMAC of ``nonce`` with the site's secret key
    (as Django's password-reset tokens are), so a reminder can carry the link again; the database
    alone never yields it, and only the token's hash is looked up."""

    haematologist = models.ForeignKey(HomeHaematologist, on_delete=models.CASCADE, related_name="links")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="home_links")
    token_hash = models.CharField(max_length=64, unique=True)
    nonce = models.CharField(max_length=64, blank=True, help_text=_("Empty for links issued before reminders."))
    created_at = models.DateTimeField(default=timezone.now)
    created_by_label = models.CharField(max_length=150)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by_label = models.CharField(max_length=150, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = AccessLinkQuerySet.as_manager()
    visibility = staff_only_case_rows()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="link_expires_after_issue")
        ]

    def __str__(self) -> str:
        return f"Link for {self.haematologist} ({self.state})"

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        return "expired" if self.expires_at <= timezone.now() else "active"


class LinkUse(models.Model):
    """Every use of a home haematologist's link, allowed or refused (revoked, expired, unknown
    token): what was asked, when, from where."""

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", _("Allowed")
        REVOKED = "revoked", _("Refused: revoked")
        EXPIRED = "expired", _("Refused: expired")

    link = models.ForeignKey(AccessLink, on_delete=models.CASCADE, related_name="uses")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    page = models.CharField(max_length=40)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)

    objects = VisibleQuerySet.as_manager()
    visibility = staff_only_case_rows()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.page} {self.outcome} {self.at:%Y-%m-%d %H:%M}"


class FollowUpResult(models.Model):
    """A result the home haematologist (or a coordinator) posted after the patient went home."""

    class Kind(models.TextChoices):
        MRD = "mrd", _("MRD")
        BLOOD_COUNTS = "blood_counts", _("Blood counts")
        IGG = "igg", _("IgG level")
        CAR_T_PERSISTENCE = "car_t_persistence", _("CAR-T persistence / B-cell aplasia")
        INFECTION = "infection", _("Infection")
        RELAPSE = "relapse", _("Relapse")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="followup_results")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    date = models.DateField(_("sample or event date"))
    value = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    unit = models.CharField(max_length=20, blank=True)
    finding = models.CharField(
        max_length=20,
        blank=True,
        help_text=_("negative / positive (MRD), present / lost (B-cell aplasia), or empty."),
    )
    notes = models.TextField(blank=True)
    link = models.ForeignKey(AccessLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="results")
    reported_by_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    objects = VisibleQuerySet.as_manager()
    visibility = staff_only_case_rows()

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date}"


class FollowUpVisitManager(models.Manager.from_queryset(MilestoneQuerySet)):
    def get_queryset(self):
        return super().get_queryset().filter(key__startswith="followup:")


class FollowUpVisit(Milestone):
    """The follow-up visits after discharge among a case's milestones (keys ``followup:...``)."""

    objects = FollowUpVisitManager()

    class Meta:
        proxy = True
        verbose_name = "follow-up visit"
