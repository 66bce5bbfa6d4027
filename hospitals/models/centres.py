"""Treating centres, the people in their international departments, and their API credentials."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from phonenumber_field.modelfields import PhoneNumberField

from accounts.access import CentreRows, VisibleQuerySet
from accounts.models import validate_time_zone


def validate_language_list(value) -> None:
    """A list of language codes the centre's staff read and write (BCP 47-ish: en, zh-hans, ru...)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and 2 <= len(v) <= 16 for v in value):
        raise ValidationError(
            _('Give the languages as a list of codes, e.g. ["en", "zh-hans"].'), code="invalid_languages"
        )


class Hospital(models.Model):
    """A treating centre (e.g. PKUPH Beijing) with an international department, or a trial team
    that screens patients for a study. Both receive referrals (for a trial team, screening
    requests) with the same packets, API credentials, webhooks, deadlines and answers."""

    class Kind(models.TextChoices):
        CENTRE = "centre", _("Treating centre")
        TRIAL_TEAM = "trial_team", _("Trial team")

    code = models.SlugField(max_length=40, unique=True, help_text=_("Short stable code, e.g. pkuph."))
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    city = models.CharField(max_length=100)
    country = CountryField(default="CN")
    time_zone = models.CharField(max_length=64, default="Asia/Shanghai", validators=[validate_time_zone])
    languages = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_language_list],
        help_text=_('Languages the international department works in, e.g. ["zh-hans", "en"].'),
    )
    indications = models.ManyToManyField(
        "cases.Indication",
        blank=True,
        related_name="hospitals",
        help_text=_("Indications this centre accepts referrals for."),
    )
    eligibility_notes = models.TextField(
        blank=True,
        help_text=_("How this centre's criteria differ from the standard pre-screen (e.g. accepts CNS2)."),
    )
    response_days = models.PositiveSmallIntegerField(
        default=7, help_text=_("Working answer time: the default response deadline of a referral, in days.")
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CENTRE)
    is_active = models.BooleanField(default=True)

    objects = VisibleQuerySet.as_manager()
    visibility = CentreRows("pk")

    class Meta:
        ordering = ["name_en"]

    def __str__(self) -> str:
        return self.name_en

    @property
    def display_name(self) -> str:
        return f"{self.name_en} ({self.name_zh})" if self.name_zh else self.name_en


class HospitalContact(models.Model):
    """A person (or shared mailbox) of a centre's international department."""

    hospital = models.ForeignKey(Hospital, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=100, blank=True, help_text=_("e.g. International patient coordinator."))
    email = models.EmailField(blank=True)
    phone = PhoneNumberField(blank=True, help_text=_("International format, e.g. +86 10 8832 6666."))
    languages = models.JSONField(default=list, blank=True, validators=[validate_language_list])
    is_primary = models.BooleanField(default=False)

    visibility = CentreRows("hospital_id")

    class Meta:
        ordering = ["-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["hospital"], condition=Q(is_primary=True), name="one_primary_contact_per_hospital"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.hospital.code})"

    def clean(self) -> None:
        super().clean()
        if not self.email and not self.phone:
            raise ValidationError({"email": _("Give an email address or a phone number for this contact.")})


class RequiredRecord(models.Model):
    """A record type a centre requires before it reviews a case: the packet builder checks it."""

    hospital = models.ForeignKey(Hospital, on_delete=models.CASCADE, related_name="required_records")
    doc_type = models.CharField(max_length=30, help_text=_("A document type (see documents.models.DocType)."))
    note = models.CharField(
        max_length=300, blank=True, help_text=_("What exactly, e.g. 'CD19 flow from the last 30 days'.")
    )
    max_age_days = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Only a record whose clinical date is this recent counts.")
    )

    visibility = CentreRows("hospital_id")

    class Meta:
        ordering = ["hospital", "doc_type"]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "doc_type"], name="one_required_record_per_type"),
        ]

    def __str__(self) -> str:
        return f"{self.hospital.code}: {self.doc_type_label}"

    @property
    def doc_type_label(self) -> str:
        from documents.models import DocType

        return str(dict(DocType.choices).get(self.doc_type, self.doc_type))

    def clean(self) -> None:
        super().clean()
        from documents.models import DocType

        if self.doc_type not in DocType.values:
            raise ValidationError({"doc_type": _("Choose one of the document types.")})


TOKEN_PREFIX = "nvk"


def _hash_secret(secret: str) -> str:
    # The secret is 256 random bits, so a plain SHA-256 cannot be brute-forced; a slow hash
    # would only slow down every API request.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiCredentialQuerySet(VisibleQuerySet):
    def usable(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at=None).filter(Q(expires_at=None) | Q(expires_at__gt=now))


class ApiCredential(models.Model):
    """An API key of a centre: ``nvk_<key_id>_<secret>``. Only a hash of the secret is stored;
    the full key is shown once, when issued. It acts as its ``user`` (hospital staff or the
    centre's service account), so it sees exactly what that hospital may see."""

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="api_credentials")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_credentials")
    label = models.CharField(max_length=100, help_text=_("Which system uses it, e.g. 'PKUPH referral inbox'."))
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_reason = models.CharField(max_length=300, blank=True)
    rotated_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rotated_to"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiCredentialQuerySet.as_manager()
    visibility = CentreRows("hospital_id")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API credential")

    def __str__(self) -> str:
        return f"{TOKEN_PREFIX}_{self.key_id}_… ({self.hospital.code}: {self.label})"

    @staticmethod
    def new_secret() -> tuple[str, str, str]:
        """(key_id, secret, secret_hash) for a new credential."""
        secret = secrets.token_urlsafe(32)
        return secrets.token_hex(8), secret, _hash_secret(secret)

    @staticmethod
    def token_for(key_id: str, secret: str) -> str:
        return f"{TOKEN_PREFIX}_{key_id}_{secret}"

    @staticmethod
    def parse_token(token: str) -> tuple[str, str] | None:
        prefix, _sep, rest = token.partition("_")
        key_id, _sep, secret = rest.partition("_")
        if prefix != TOKEN_PREFIX or len(key_id) != 16 or not secret:
            return None
        return key_id, secret

    def secret_matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, _hash_secret(secret))

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"
