"""Admin forms: flight times typed as the local wall time on the ticket; passport numbers
never printed back into a list page."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from .airports import get_airport, to_instant
from .models import Leg, Traveller

LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M")


class LocalDateTimeField(forms.DateTimeField):
    """A wall time with no zone attached: the zone is the airport's, applied by the form."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=None) if value.tzinfo is None else value
        text = str(value).strip()
        try:
            parsed = parse_datetime(text)
        except ValueError:
            parsed = None
        if parsed is None:
            for fmt in LOCAL_FORMATS:
                try:
                    parsed = dt.datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if parsed is None:
            raise ValidationError(_("Enter the local time as on the ticket, e.g. 2026-05-01 23:55."), code="invalid")
        return parsed


class LegForm(forms.ModelForm):
    departure_at = LocalDateTimeField(label=_("Departure (local time at the origin)"))
    arrival_at = LocalDateTimeField(label=_("Arrival (local time at the destination)"))

    class Meta:
        model = Leg
        fields = [
            "journey",
            "position",
            "origin",
            "destination",
            "carrier",
            "flight_number",
            "booking_reference",
            "departure_at",
            "arrival_at",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name, local in (
                ("departure_at", self.instance.departure_local),
                ("arrival_at", self.instance.arrival_local),
            ):
                if local is not None:
                    self.initial[name] = local.replace(tzinfo=None)

    def clean(self):
        data = super().clean()
        for name, code_field in (("departure_at", "origin"), ("arrival_at", "destination")):
            local = data.get(name)
            airport = get_airport(data.get(code_field) or "")
            if local is None or airport is None:
                continue  # the field's own error (or the airport's) is already shown
            try:
                data[name] = to_instant(local, airport.time_zone)
            except ValidationError as exc:
                self.add_error(name, exc)
        return data


class MaskedPassportInput(forms.TextInput):
    """Shows the masked number as a placeholder, never the number itself."""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, None, attrs)
        if value:
            shown = str(value)[-3:] if len(str(value)) > 4 else ""
            context["widget"]["attrs"]["placeholder"] = "•" * (len(str(value)) - len(shown)) + shown
        return context


class TravellerInlineForm(forms.ModelForm):
    """On the case page the passport number is masked; typing a new one replaces it,
    leaving it empty keeps the number on file."""

    class Meta:
        model = Traveller
        fields = [
            "role",
            "surname",
            "given_names",
            "nationality",
            "date_of_birth",
            "passport_number",
            "passport_expiry",
        ]
        widgets = {"passport_number": MaskedPassportInput()}
        help_texts = {"passport_number": _("Masked. Type a new number to replace it; leave empty to keep it.")}

    def clean_passport_number(self):
        value = self.cleaned_data.get("passport_number", "")
        if not value and self.instance.pk:
            return self.instance.passport_number
        return value
