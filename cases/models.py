"""Patients, their families, and the cases Navigator works."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from accounts.access import CaseRows, StaffOnly, Via, VisibleQuerySet
from accounts.models import validate_language, validate_time_zone

from . import workflow


def age_on(date_of_birth: dt.date, on: dt.date) -> int:
    """Completed years of age on a given date."""
    years = on.year - date_of_birth.year
    if (on.month, on.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


class Indication(models.Model):
    """What a case seeks treatment for. B-ALL CD19 CAR-T today; others can be added as rows."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Patient(models.Model):
    """The person seeking treatment. Identifying health data: read only through ``visible_to``."""

    class Sex(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")
        UNKNOWN = "unknown", _("Unknown")

    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    native_name = models.CharField(
        max_length=200, blank=True, help_text=_("Name in the patient's own script, e.g. 王小明 or Иван Петров.")
    )
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices)
    country = CountryField(help_text=_("Country of residence."))
    preferred_language = models.CharField(max_length=10, default="en", validators=[validate_language])
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    home_haematologist = models.CharField(max_length=200, blank=True)
    home_centre = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = VisibleQuerySet.as_manager()
    # Coordinators see every patient; anyone else the patients of the cases they see.
    visibility = CaseRows("cases")

    class Meta:
        ordering = ["family_name", "given_name"]
        indexes = [
            models.Index(fields=["family_name", "given_name"]),
            # The case search (cases.selectors.case_search): pg_trgm indexes on exactly the
            # UPPER(name) that icontains compares, so a search by any part of a name, in any
            # script, is an index scan. PostgreSQL only (migration 0005 skips them elsewhere).
            # fastupdate off (migration 0007): a new patient goes straight into the index instead
            # of a pending list that every search reads through until a vacuum merges it (at
            # 100,000 patients freshly inserted, 8 ms a search instead of 0.8).
            *(
                GinIndex(OpClass(Upper(field), name="gin_trgm_ops"), name=f"patient_{field}_trgm", fastupdate=False)
                for field in ("family_name", "given_name", "native_name")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age(self, on: dt.date | None = None) -> int:
        return age_on(self.date_of_birth, on or timezone.localdate())

    @property
    def is_child(self) -> bool:
        return self.age() < 18

    def clean(self) -> None:
        super().clean()
        if self.date_of_birth and self.date_of_birth > timezone.localdate():
            raise ValidationError({"date_of_birth": _("The date of birth cannot be in the future.")})
        if self.date_of_birth and self.date_of_birth.year < 1900:
            raise ValidationError({"date_of_birth": _("The date of birth must be after 1900.")})


class FamilyContact(models.Model):
    """A family member or caregiver who speaks for the patient; may have a portal login."""

    class Relationship(models.TextChoices):
        SELF = "self", _("Patient (self)")
        MOTHER = "mother", _("Mother")
        FATHER = "father", _("Father")
        PARENT = "parent", _("Parent")
        SPOUSE = "spouse", _("Spouse or partner")
        CHILD = "child", _("Son or daughter")
        SIBLING = "sibling", _("Brother or sister")
        GUARDIAN = "guardian", _("Legal guardian")
        OTHER = "other", _("Other relative or friend")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    native_name = models.CharField(max_length=200, blank=True)
    relationship = models.CharField(max_length=20, choices=Relationship.choices)
    language = models.CharField(max_length=10, default="en", validators=[validate_language])
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    email = models.EmailField(blank=True)
    phone = PhoneNumberField(blank=True, help_text=_("International format, e.g. +7 912 345 67 89."))
    is_primary = models.BooleanField(default=False)
    receives_reminders = models.BooleanField(default=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="family_contacts",
        help_text=_("Portal login of this family member, if invited."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()
    objects = VisibleQuerySet.as_manager()
    visibility = Via("patient")

    class Meta:
        ordering = ["-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=Q(is_primary=True), name="one_primary_contact_per_patient"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_relationship_display()})"

    def clean(self) -> None:
        super().clean()
        if not self.email and not self.phone:
            raise ValidationError({"email": _("Give an email address or a phone number so the family can be reached.")})
        if self.user_id and self.user.role != self.user.Role.FAMILY:
            raise ValidationError({"user": _("Only a family account can be linked to a family contact.")})


class CaseQuerySet(VisibleQuerySet):
    def for_coordinator(self, user):
        return self.filter(coordinator=user)

    def active(self):
        return self.filter(status__in=workflow.ACTIVE)

    def overdue(self, now=None):
        return self.filter(next_due_at__lt=now or timezone.now())


class Case(models.Model):
    """One patient's journey from first inquiry to follow-up, worked by one coordinator."""

    STATUS_CHOICES = [(s, workflow.LABELS[s]) for s in workflow.MAIN_PATH + workflow.SIDE_EXITS]

    class Priority(models.IntegerChoices):
        ROUTINE = 1, _("Routine")
        HIGH = 2, _("High")
        URGENT = 3, _("Urgent")

    reference = models.CharField(max_length=20, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="cases")
    indication = models.ForeignKey(Indication, on_delete=models.PROTECT, related_name="cases")
    coordinator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="coordinated_cases",
        limit_choices_to={"role__in": ["coordinator", "supervisor"]},
    )
    status = models.CharField(max_length=30, choices=STATUS_CHOICES, default=workflow.INQUIRY, editable=False)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.ROUTINE)
    inquiry_date = models.DateField(default=timezone.localdate)
    target_centres = models.ManyToManyField("hospitals.Hospital", blank=True, related_name="target_cases")
    summary = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The earliest open milestone or deadline, kept up to date by the scheduling app so the
    # caseload can be sorted and filtered by it without a join across 100,000 cases.
    next_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    next_due_title = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords(excluded_fields=["last_activity_at", "next_due_at", "next_due_title"])
    objects = CaseQuerySet.as_manager()
    visibility = CaseRows("")

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "-id"]),
            models.Index(fields=["coordinator", "-id"]),
            # A search by reference is case-insensitive (iexact compares UPPER(reference)).
            models.Index(Upper("reference"), name="case_reference_upper"),
        ]
        permissions = [("reassign_case", "Can reassign a case to another coordinator")]

    def __str__(self) -> str:
        return self.reference

    @property
    def status_label(self) -> str:
        return workflow.LABELS[self.status]

    @property
    def is_overdue(self) -> bool:
        return bool(self.next_due_at and self.next_due_at < timezone.now())


class ReferenceCounter(models.Model):
    """Last case number issued in a year: NAV-2026-00042 is the 42nd case of 2026."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class StatusChange(models.Model):
    """One move of a case through the workflow: who, when, from, to and why. Never edited."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    visibility = CaseRows("case")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["case", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.from_status or '∅'} → {self.to_status}"

    @property
    def from_label(self) -> str:
        return workflow.LABELS.get(self.from_status, "")

    @property
    def to_label(self) -> str:
        return workflow.LABELS.get(self.to_status, self.to_status)


class CaseShareQuerySet(VisibleQuerySet):
    def active(self):
        return self.filter(revoked_at=None)


class CaseShare(models.Model):
    """A case shared with a party other than its family, by a source that grants it (a centre,
    through a referral that was sent). The case rule (``cases.access``) reads active shares.

    The app that owns the source keeps its shares right (hospitals: ``Referral``); this app
    never learns what a source is beyond its model label and id. Revoking keeps the row, so
    who could see a case, and when, stays answerable. One source grants at most one active
    share (a constraint); a referral sent again after a withdrawal grants a new one.
    """

    class Party(models.TextChoices):
        CENTRE = "centre", _("Treating centre")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="shares")
    party_kind = models.CharField(max_length=20, choices=Party.choices)
    party_id = models.PositiveBigIntegerField(help_text=_("The party's id: for a centre, the hospital's."))
    source_type = models.CharField(
        max_length=100, help_text=_('The granting model\'s label, e.g. "hospitals.referral".')
    )
    source_id = models.PositiveBigIntegerField()
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = CaseShareQuerySet.as_manager()
    visibility = StaffOnly()

    class Meta:
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_type", "source_id"], condition=Q(revoked_at=None), name="one_active_share_per_source"
            ),
            models.CheckConstraint(
                condition=Q(revoked_at=None) | Q(revoked_at__gte=models.F("granted_at")),
                name="case_share_revoked_after_granted",
            ),
        ]
        indexes = [
            models.Index(
                fields=["party_kind", "party_id", "case"], condition=Q(revoked_at=None), name="active_shares_by_party"
            ),
            models.Index(fields=["case", "party_kind", "party_id"], name="shares_by_case"),
        ]

    def __str__(self) -> str:
        state = f"revoked {self.revoked_at:%Y-%m-%d}" if self.revoked_at else "active"
        return f"{self.case_id} shared with {self.party_kind} {self.party_id} ({state})"
