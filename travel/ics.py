"""The journey as an iCalendar file (RFC 5545): flights, accommodation, admission.

Flights carry their real time zones (DTSTART with the origin's TZID, DTEND with the
destination's, and the VTIMEZONE definitions), so a phone shows the right hour wherever
the family is; stays and the admission are all-day events.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from .airports import get_airport

PRODID = "-//Navigator//Travel itinerary//EN"


def _uid(kind: str, pk) -> str:
    host = settings.SITE_URL.split("//")[-1].split("/")[0].split(":")[0] or "navigator"
    return f"travel-{kind}-{pk}@{host}"


def _place(code: str) -> str:
    airport = get_airport(code)
    return f"{airport.name}, {airport.city} ({code})" if airport else code


def itinerary_calendar(*, case, legs, stays, admissions, stamp: dt.datetime | None = None) -> bytes:
    """Build the calendar from rows the caller has already authorised and loaded."""
    stamp = stamp or timezone.now()
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"Travel {case.reference}")

    for leg in legs:
        event = Event()
        flight = " ".join(p for p in (leg.carrier, leg.flight_number) if p)
        event.add("uid", _uid("leg", leg.pk))
        event.add("dtstamp", stamp)
        event.add("summary", f"✈ {flight + ' ' if flight else ''}{leg.origin} → {leg.destination}")
        event.add("dtstart", leg.departure_local)
        event.add("dtend", leg.arrival_local)
        event.add("location", _place(leg.origin))
        lines = [f"From {_place(leg.origin)}", f"To {_place(leg.destination)}"]
        if leg.booking_reference:
            lines.append(f"Booking reference: {leg.booking_reference}")
        event.add("description", "\n".join(lines))
        cal.add_component(event)

    for stay in stays:
        event = Event()
        event.add("uid", _uid("accommodation", stay.pk))
        event.add("dtstamp", stamp)
        event.add("summary", f"Stay: {stay.name}")
        event.add("dtstart", stay.check_in)
        event.add("dtend", stay.check_out)  # all-day DTEND is exclusive: the check-out morning
        event.add("location", f"{stay.address}, {stay.city}")
        event.add("transp", "TRANSPARENT")
        if stay.booking_reference:
            event.add("description", f"Booking reference: {stay.booking_reference}")
        cal.add_component(event)

    for admission in admissions:
        event = Event()
        event.add("uid", _uid("admission", admission.pk))
        event.add("dtstamp", stamp)
        ward = f" – {admission.ward}" if admission.ward else ""
        event.add("summary", f"Hospital admission: {admission.hospital.name_en}{ward}")
        event.add("dtstart", admission.admission_date)
        event.add("dtend", admission.admission_date + dt.timedelta(days=1))
        event.add("location", f"{admission.hospital.name_en} {admission.hospital.name_zh}, {admission.hospital.city}")
        if admission.bring_list:
            event.add("description", "What to bring:\n" + "\n".join(f"- {item}" for item in admission.bring_list))
        cal.add_component(event)

    cal.add_missing_timezones()
    return cal.to_ical()
