"""Travel and admission: who travels, their visas, flights, where they stay near the centre,
who meets them, who interprets, and the admission itself.

Identity data of travellers (passport numbers, dates of birth) is held like medical data:
read only through ``visible_to``, every read audited, passport numbers masked in lists.
Hospitals see the admission at their own centre for cases shared with them, nothing else.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.conf import settings
from django.conf.locale import LANG_INFO
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from phonenumber_field.modelfields import PhoneNumberField

from accounts.access import NOBODY, CaseRows, VisibleQuerySet

from .airports import get_airport, to_local, validate_iata, validate_zone

PASSPORT_RE = re.compile(r"^[A-Z0-9]{5,20}$")
FLIGHT_RE = re.compile(r"^(?:[A-Z0-9]{2}[A-Z]?)?\d{1,4}[A-Z]?$")
# Longer than any scheduled non-stop flight: a leg this long is a typing mistake in a date.
MAX_LEG_HOURS = 24


class Currency(models.TextChoices):
    """ISO 4217 codes of the currencies deposits and estimates are quoted or paid in."""

    CNY = "CNY", _("Chinese yuan (CNY)")
    USD = "USD", _("US dollar (USD)")
    EUR = "EUR", _("Euro (EUR)")
    GBP = "GBP", _("Pound sterling (GBP)")
    HKD = "HKD", _("Hong Kong dollar (HKD)")
    SGD = "SGD", _("Singapore dollar (SGD)")
    RUB = "RUB", _("Russian rouble (RUB)")
    KZT = "KZT", _("Kazakhstani tenge (KZT)")
    UZS = "UZS", _("Uzbekistani som (UZS)")
    AED = "AED", _("UAE dirham (AED)")
    SAR = "SAR", _("Saudi riyal (SAR)")
    EGP = "EGP", _("Egyptian pound (EGP)")
    VND = "VND", _("Vietnamese dong (VND)")
    IDR = "IDR", _("Indonesian rupiah (IDR)")
    MYR = "MYR", _("Malaysian ringgit (MYR)")
    THB = "THB", _("Thai baht (THB)")
    AUD = "AUD", _("Australian dollar (AUD)")
    NZD = "NZD", _("New Zealand dollar (NZD)")
    CAD = "CAD", _("Canadian dollar (CAD)")
    JPY = "JPY", _("Japanese yen (JPY)")
    KRW = "KRW", _("South Korean won (KRW)")


def language_choices() -> list[tuple[str, str]]:
    return sorted(((code, info["name"]) for code, info in LANG_INFO.items() if "name" in info), key=lambda c: c[1])


def validate_interpreter_language(value: str) -> None:
    if value not in LANG_INFO or "name" not in LANG_INFO[value]:
        raise ValidationError(
            _("“%(value)s” is not a known language code; use one such as ru, ar, kk or zh-hans."),
            params={"value": value},
            code="invalid_language",
        )


def _today() -> dt.date:
    return timezone.localdate()


def _refuse_past_date(errors: dict, field: str, value: dt.date | None, what: str) -> None:
    if value is not None and value < _today():
        errors[field] = _("%(what)s is in the past (%(date)s); a new booking must be for today or later.") % {
            "what": what,
            "date": value.isoformat(),
        }


def _refuse_future_date(errors: dict, field: str, value: dt.date | None, what: str) -> None:
    if value is not None and value > _today():
        errors[field] = _("%(what)s cannot be in the future (%(date)s); enter the day it happened.") % {
            "what": what,
            "date": value.isoformat(),
        }


# Rows that belong to a case and are shared with the family and coordinators only.
FAMILY_AND_COORDINATORS = CaseRows("case", hospital=NOBODY)


class AdmissionQuerySet(VisibleQuerySet):
    def current(self):
        return self.exclude(status=Admission.Status.CANCELLED)


class Traveller(models.Model):
    """The patient or a caregiver travelling to the centre, with only the identity data that
    tickets, visas and the hospital's invitation letter need (names exactly as in the passport)."""

    class Role(models.TextChoices):
        PATIENT = "patient", _("Patient")
        CAREGIVER = "caregiver", _("Caregiver")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="travellers")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CAREGIVER)
    surname = models.CharField(_("surname (as in passport)"), max_length=100)
    given_names = models.CharField(_("given names (as in passport)"), max_length=150)
    nationality = CountryField()
    date_of_birth = models.DateField()
    passport_number = models.CharField(max_length=20, blank=True)
    passport_expiry = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()
    visibility = FAMILY_AND_COORDINATORS

    class Meta:
        ordering = ["case_id", "-role", "id"]  # the patient first
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(role="patient"), name="one_patient_traveller_per_case")
        ]

    def __str__(self) -> str:
        return f"{self.given_names} {self.surname}"

    @property
    def full_name(self) -> str:
        return f"{self.given_names} {self.surname}".strip()

    @property
    def masked_passport(self) -> str:
        """The last three characters only, as lists show it (e.g. ••••••123)."""
        number = self.passport_number or ""
        if not number:
            return ""
        shown = number[-3:] if len(number) > 4 else ""
        return "•" * (len(number) - len(shown)) + shown

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        self.passport_number = re.sub(r"[\s-]", "", self.passport_number or "").upper()
        if self.passport_number and not PASSPORT_RE.match(self.passport_number):
            errors["passport_number"] = _(
                "A passport number has 5 to 20 letters and digits; copy it from the photo page without spaces."
            )
        if self.date_of_birth and self.date_of_birth > _today():
            errors["date_of_birth"] = _("The date of birth cannot be in the future.")
        if self.date_of_birth and self.date_of_birth.year < 1900:
            errors["date_of_birth"] = _("The date of birth must be after 1900.")
        if self.passport_number and not self.passport_expiry:
            errors["passport_expiry"] = _("Give the passport's expiry date with its number.")
        if errors:
            raise ValidationError(errors)


class VisaApplication(models.Model):
    """One traveller's visa for the treatment stay, step by step from the centre's invitation
    letter to the decision. A refused application is kept and a new one opened."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", _("Not started")
        INVITATION_REQUESTED = "invitation_requested", _("Invitation letter requested from the centre")
        INVITATION_RECEIVED = "invitation_received", _("Invitation letter received")
        SUBMITTED = "submitted", _("Application submitted")
        GRANTED = "granted", _("Granted")
        REFUSED = "refused", _("Refused")
        NOT_REQUIRED = "not_required", _("Not required (citizen or visa-free for the whole stay)")

    OPEN_STATUSES = (Status.NOT_STARTED, Status.INVITATION_REQUESTED, Status.INVITATION_RECEIVED, Status.SUBMITTED)
    READY_STATUSES = (Status.GRANTED, Status.NOT_REQUIRED)
    # Which date records reaching which step; steps are in this order.
    STEP_DATES = (
        (Status.INVITATION_REQUESTED, "invitation_requested_on"),
        (Status.INVITATION_RECEIVED, "invitation_received_on"),
        (Status.SUBMITTED, "submitted_on"),
        (Status.GRANTED, "decided_on"),
        (Status.REFUSED, "decided_on"),
    )

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="visa_applications")
    traveller = models.ForeignKey(Traveller, on_delete=models.CASCADE, related_name="visa_applications")
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.NOT_STARTED)
    country = CountryField(default="CN", help_text=_("Country issuing the visa."))
    visa_type = models.CharField(max_length=40, blank=True, help_text=_("e.g. S2 (family visit), L, medical."))
    invitation_requested_on = models.DateField(null=True, blank=True)
    invitation_received_on = models.DateField(null=True, blank=True)
    submitted_on = models.DateField(null=True, blank=True)
    decided_on = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    documents = models.ManyToManyField(
        "documents.Document",
        blank=True,
        related_name="visa_applications",
        help_text=_("Invitation letter, visa page, application receipt."),
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()
    visibility = FAMILY_AND_COORDINATORS

    class Meta:
        ordering = ["case_id", "traveller_id", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["traveller"], condition=~Q(status="refused"), name="one_open_visa_per_traveller"
            )
        ]

    def __str__(self) -> str:
        return f"{self.traveller}: {self.get_status_display()}"

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        if self.traveller_id and self.case_id and self.traveller.case_id != self.case_id:
            errors["traveller"] = _("This traveller belongs to another case.")
        for field, what in (
            ("invitation_requested_on", _("The invitation request date")),
            ("invitation_received_on", _("The invitation received date")),
            ("submitted_on", _("The submission date")),
            ("decided_on", _("The decision date")),
        ):
            _refuse_future_date(errors, field, getattr(self, field), what)
        # A step's date cannot precede an earlier step's date.
        previous = None
        for field in ("invitation_requested_on", "invitation_received_on", "submitted_on", "decided_on"):
            value = getattr(self, field)
            if value is None or field in errors:
                continue
            if previous and value < previous[1]:
                errors[field] = _("This date is before the previous step (%(date)s); check the order of the dates.") % {
                    "date": previous[1].isoformat()
                }
            previous = (field, value)
        if self.status in (self.Status.GRANTED, self.Status.REFUSED) and not self.decided_on:
            self.decided_on = _today()
        if self.status == self.Status.GRANTED and self.valid_until and self.decided_on:
            if self.valid_until < self.decided_on:
                errors["valid_until"] = _("The visa cannot expire before it was granted.")
        if errors:
            raise ValidationError(errors)

    def fill_step_date(self) -> None:
        """Record today as the date of the step just reached, when none was given."""
        for status, field in self.STEP_DATES:
            if self.status == status and getattr(self, field) is None:
                setattr(self, field, _today())


class Journey(models.Model):
    """A one-way trip made of connected flights, e.g. Almaty → Urumqi → Beijing."""

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", _("To the centre")
        RETURN = "return", _("Return home")
        OTHER = "other", _("Other trip")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="journeys")
    direction = models.CharField(max_length=20, choices=Direction.choices, default=Direction.OUTBOUND)
    travellers = models.ManyToManyField(Traveller, blank=True, related_name="journeys")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()
    visibility = FAMILY_AND_COORDINATORS

    class Meta:
        ordering = ["case_id", "id"]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} ({self.case})"


class Leg(models.Model):
    """One flight. Times are stored as UTC instants plus each airport's IANA zone, so the
    ticket's local times and the real order of events are both kept."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="travel_legs", editable=False)
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="legs")
    position = models.PositiveSmallIntegerField(default=1, help_text=_("1 for the first flight of the journey."))
    origin = models.CharField(max_length=3, validators=[validate_iata], help_text=_("IATA code, e.g. ALA."))
    destination = models.CharField(max_length=3, validators=[validate_iata], help_text=_("IATA code, e.g. PEK."))
    carrier = models.CharField(max_length=100, blank=True, help_text=_("Airline, e.g. Air Astana."))
    flight_number = models.CharField(max_length=10, blank=True, help_text=_("e.g. KC887."))
    booking_reference = models.CharField(max_length=20, blank=True)
    departure_at = models.DateTimeField()
    departure_tz = models.CharField(max_length=64, validators=[validate_zone], editable=False)
    arrival_at = models.DateTimeField()
    arrival_tz = models.CharField(max_length=64, validators=[validate_zone], editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()
    visibility = FAMILY_AND_COORDINATORS

    class Meta:
        ordering = ["journey_id", "position", "departure_at", "id"]
        indexes = [models.Index(fields=["case", "departure_at"])]

    def __str__(self) -> str:
        flight = f"{self.flight_number} " if self.flight_number else ""
        return f"{flight}{self.origin}→{self.destination}"

    def save(self, *args, **kwargs):
        if self.journey_id and not self.case_id:
            self.case_id = self.journey.case_id
        super().save(*args, **kwargs)

    @property
    def departure_local(self) -> dt.datetime | None:
        return to_local(self.departure_at, self.departure_tz)

    @property
    def arrival_local(self) -> dt.datetime | None:
        return to_local(self.arrival_at, self.arrival_tz)

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        self.origin = (self.origin or "").strip().upper()
        self.destination = (self.destination or "").strip().upper()
        self.flight_number = re.sub(r"\s", "", self.flight_number or "").upper()
        self.booking_reference = (self.booking_reference or "").strip().upper()
        if self.journey_id:
            self.case_id = self.journey.case_id
        origin, destination = get_airport(self.origin), get_airport(self.destination)
        if origin:
            self.departure_tz = origin.time_zone
        if destination:
            self.arrival_tz = destination.time_zone
        if origin and destination and self.origin == self.destination:
            errors["destination"] = _("The destination is the same airport as the origin.")
        if self.flight_number and not FLIGHT_RE.match(self.flight_number):
            errors["flight_number"] = _("A flight number is the airline code and digits, e.g. CA910 or KC887.")
        if self.departure_at and self.arrival_at:
            if self.arrival_at <= self.departure_at:
                errors["arrival_at"] = _(
                    "The arrival (%(arrival)s) is not after the departure (%(departure)s) once both local times "
                    "are converted; check the dates and the airports."
                ) % {
                    "arrival": _fmt(self.arrival_local),
                    "departure": _fmt(self.departure_local),
                }
            elif self.arrival_at - self.departure_at > dt.timedelta(hours=MAX_LEG_HOURS):
                errors["arrival_at"] = _(
                    "This flight would last %(hours)d hours; no flight is that long. Check the arrival date."
                ) % {"hours": (self.arrival_at - self.departure_at).total_seconds() // 3600}
        if self._state.adding and self.departure_at and self.departure_at < timezone.now():
            errors["departure_at"] = _(
                "The departure (%(departure)s) is in the past; a new booking must be in the future."
            ) % {"departure": _fmt(self.departure_local)}
        if errors:
            raise ValidationError(errors)


def _fmt(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M %Z") if value else ""


class Accommodation(models.Model):
    """Where the family stays near the centre (and the patient, between admissions)."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="accommodations")
    name = models.CharField(max_length=200, help_text=_("e.g. the serviced apartment's name."))
    address = models.TextField()
    city = models.CharField(max_length=100)
    near_hospital = models.ForeignKey(
        "hospitals.Hospital", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    check_in = models.DateField()
    check_out = models.DateField()
    phone = PhoneNumberField(blank=True)
    booking_reference = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()
    visibility = FAMILY_AND_COORDINATORS

    class Meta:
        ordering = ["case_id", "check_in", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.check_in} – {self.check_out})"

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        if self.check_in and self.check_out and self.check_out <= self.check_in:
            errors["check_out"] = _("Check-out must be after check-in.")
        if self._state.adding:
            _refuse_past_date(errors, "check_in", self.check_in, _("The check-in date"))
        if errors:
            raise ValidationError(errors)


class AirportPickup(models.Model):
    """Someone meeting the family at arrivals, usually with a sign in their language."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="airport_pickups")
    leg = models.ForeignKey(Leg, on_delete=models.CASCADE, related_name="pickups", help_text=_("The arriving flight."))
    meet_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Leave empty to meet the flight at its arrival time.")
    )
    driver_name = models.CharField(max_length=100, blank=True)
    driver_phone = PhoneNumberField(blank=True)
    destination = models.CharField(max_length=200, blank=True, help_text=_("e.g. the accommodation or the ward."))
    confirmed = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()
    visibility = FAMILY_AND_COORDINATORS

    class Meta:
        ordering = ["case_id", "id"]

    def __str__(self) -> str:
        return f"Pickup at {self.leg.destination}" if self.leg_id else "Pickup"

    @property
    def airport(self) -> str:
        return self.leg.destination if self.leg_id else ""

    @property
    def meets_at(self) -> dt.datetime | None:
        return self.meet_at or (self.leg.arrival_at if self.leg_id else None)

    @property
    def meets_at_local(self) -> dt.datetime | None:
        return to_local(self.meets_at, self.leg.arrival_tz) if self.leg_id else None

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        if self.leg_id and self.case_id and self.leg.case_id != self.case_id:
            errors["leg"] = _("This flight belongs to another case.")
        if self._state.adding and self.meet_at and self.meet_at < timezone.now():
            errors["meet_at"] = _("The meeting time is in the past; a new pickup must be in the future.")
        if errors:
            raise ValidationError(errors)


class InterpreterNeed(models.Model):
    """An interpreter the family needs: which language, for what, and when."""

    class Occasion(models.TextChoices):
        ARRIVAL = "arrival", _("Arrival and settling in")
        ADMISSION = "admission", _("Admission day")
        CONSULTATIONS = "consultations", _("Consultations and consent")
        WARD = "ward", _("Daily ward rounds")
        INFUSION = "infusion", _("Infusion and monitoring")
        DISCHARGE = "discharge", _("Discharge")
        OTHER = "other", _("Other")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="interpreter_needs")
    language = models.CharField(max_length=10, validators=[validate_interpreter_language])
    occasion = models.CharField(max_length=20, choices=Occasion.choices, default=Occasion.CONSULTATIONS)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    arranged = models.BooleanField(default=False)
    interpreter_name = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()
    visibility = FAMILY_AND_COORDINATORS

    class Meta:
        ordering = ["case_id", "starts_on", "id"]

    def __str__(self) -> str:
        return f"{self.language_name} – {self.get_occasion_display()} ({self.starts_on})"

    @property
    def language_name(self) -> str:
        return LANG_INFO.get(self.language, {}).get("name", self.language)

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            errors["ends_on"] = _("The last day cannot be before the first day.")
        if self._state.adding:
            _refuse_past_date(errors, "starts_on", self.starts_on, _("The first day"))
        if errors:
            raise ValidationError(errors)


class Admission(models.Model):
    """Admission to the treating centre: the day, the ward, the money and what to bring."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        CONFIRMED = "confirmed", _("Confirmed by the centre")
        ADMITTED = "admitted", _("Admitted")
        DISCHARGED = "discharged", _("Discharged")
        CANCELLED = "cancelled", _("Cancelled")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="admissions")
    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="admissions")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    admission_date = models.DateField()
    ward = models.CharField(max_length=100, blank=True)
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.CNY)
    deposit_amount = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    cost_estimate = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    what_to_bring = models.TextField(
        blank=True, help_text=_("One item a line: passports, original reports, medicines, cash for the deposit...")
    )
    infusion_estimate_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=21,
        help_text=_(
            "Planned days from admission to infusion (day 0): apheresis, manufacturing, lymphodepletion. "
            "Used until the centre's infusion date is scheduled."
        ),
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AdmissionQuerySet.as_manager()
    # Families and coordinators per the case rule; a centre sees admissions at itself, on
    # cases shared with it.
    visibility = CaseRows("case", hospital=lambda user: Q(hospital_id=user.hospital_id))

    class Meta:
        ordering = ["case_id", "admission_date", "id"]

    def __str__(self) -> str:
        return f"{self.hospital} {self.admission_date}" if self.hospital_id else str(self.admission_date)

    @property
    def bring_list(self) -> list[str]:
        return [line.strip(" -•\t") for line in self.what_to_bring.splitlines() if line.strip(" -•\t")]

    @property
    def estimated_infusion_date(self) -> dt.date | None:
        if self.admission_date is None or self.infusion_estimate_days is None:
            return None
        return self.admission_date + dt.timedelta(days=self.infusion_estimate_days)

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        if self._state.adding:
            _refuse_past_date(errors, "admission_date", self.admission_date, _("The admission date"))
        if self.infusion_estimate_days is not None and self.infusion_estimate_days > 120:
            errors["infusion_estimate_days"] = _("Give the days from admission to infusion (at most 120).")
        if errors:
            raise ValidationError(errors)


TRAVEL_MODELS = (Traveller, VisaApplication, Journey, Leg, Accommodation, AirportPickup, InterpreterNeed, Admission)


def visa_lead_days() -> int:
    """Days before departure by which every visa should be granted (setting TRAVEL_VISA_LEAD_DAYS)."""
    return int(getattr(settings, "TRAVEL_VISA_LEAD_DAYS", 14))
