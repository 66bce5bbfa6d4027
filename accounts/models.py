"""People who sign in: coordinators, family members, hospital staff."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import roles


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("“%(value)s” is not a known IANA time zone; use a name such as Asia/Shanghai or Europe/Moscow."),
            params={"value": value},
            code="invalid_time_zone",
        )


def validate_language(value: str) -> None:
    codes = {code for code, _name in settings.LANGUAGES}
    if value not in codes:
        raise ValidationError(
            _("“%(value)s” is not a supported language; choose one of %(codes)s."),
            params={"value": value, "codes": ", ".join(sorted(codes))},
            code="invalid_language",
        )


class User(AbstractUser):
    """A person who signs in. The role (``accounts.roles.role_of``) decides what they may see
    (``cases.access``)."""

    class Role(models.TextChoices):
        COORDINATOR = "coordinator", _("Coordinator")
        SUPERVISOR = "supervisor", _("Supervising coordinator")
        FAMILY = "family", _("Family member")
        HOSPITAL = "hospital", _("Hospital staff")

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.FAMILY, db_index=True)
    hospital = models.ForeignKey(
        "hospitals.Hospital",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        help_text=_("For hospital staff: the hospital whose shared cases they may see."),
    )
    preferred_language = models.CharField(
        max_length=10, default="en", validators=[validate_language], help_text=_("Language of the portal and messages.")
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])

    class Meta:
        ordering = ["username"]

    def clean(self) -> None:
        super().clean()
        if self.role == self.Role.HOSPITAL and not self.hospital_id:
            raise ValidationError({"hospital": _("Hospital staff must belong to a hospital.")})
        if self.role != self.Role.HOSPITAL and self.hospital_id:
            raise ValidationError({"hospital": _("Only hospital staff belong to a hospital.")})
        if self.role in (self.Role.COORDINATOR, self.Role.SUPERVISOR) and not self.is_staff:
            self.is_staff = True

    # The same questions as ``accounts.roles`` (which code asks); kept for templates.
    @property
    def is_coordinator(self) -> bool:
        """Coordinators (and supervisors, and superusers) work every case."""
        return roles.is_coordinator(self)

    @property
    def is_supervisor(self) -> bool:
        return roles.is_supervisor(self)

    @property
    def is_family(self) -> bool:
        return roles.is_family(self)

    @property
    def is_hospital(self) -> bool:
        return roles.is_hospital(self)

    @property
    def role_label(self) -> str:
        return "superuser" if self.is_superuser else self.role

    @property
    def pseudonym(self) -> str:
        """How stored labels (audit entries, message authors) name this person.

        Staff by their user name, a work identity the service gives them; a family member by
        role and number only, because a family's user name is usually their name, and those
        labels outlive the case's erasure."""
        if self.role == self.Role.FAMILY and not self.is_superuser:
            return f"family-{self.pk}"
        return self.get_username()
