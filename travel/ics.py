"""The journey as an iCalendar file (RFC 5545): flights, accommodation, admission.

Flights carry their real time zones (DTSTART with the origin's TZID, DTEND with the
destination's, and the VTIMEZONE definitions), so a phone shows the right hour wherever
the family is; stays and the admission are all-day events.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from navigator import ics

from .airports import get_airport

PRODID = "-//Navigator//Travel itinerary//EN"


def _place(code: str) -> str:
    airport = get_airport(code)
    return f"{airport.name}, {airport.city} ({code})" if airport else code


def itinerary_calendar(*, case, legs, stays, admissions, stamp: dt.datetime | None = None) -> bytes:
    """Build the calendar from rows the caller has already authorised and loaded."""
    stamp = stamp or timezone.now()
    cal = ics.new_calendar(prodid=PRODID, name=f"Travel {case.reference}", method="PUBLISH")

    for leg in legs:
        flight = " ".join(p for p in (leg.carrier, leg.flight_number) if p)
        lines = [f"From {_place(leg.origin)}", f"To {_place(leg.destination)}"]
        if leg.booking_reference:
            lines.append(f"Booking reference: {leg.booking_reference}")
        ics.add_event(
            cal,
            uid=ics.event_uid(ics.TRAVEL_LEG, leg.pk),
            stamp=stamp,
            summary=f"✈ {flight + ' ' if flight else ''}{leg.origin} → {leg.destination}",
            start=leg.departure_local,
            end=leg.arrival_local,
            keep_zone=True,
            location=_place(leg.origin),
            description="\n".join(lines),
        )

    for stay in stays:
        ics.add_event(
            cal,
            uid=ics.event_uid(ics.TRAVEL_ACCOMMODATION, stay.pk),
            stamp=stamp,
            summary=f"Stay: {stay.name}",
            start=stay.check_in,
            end=stay.check_out,  # all-day DTEND is exclusive: the check-out morning
            location=f"{stay.address}, {stay.city}",
            transparent=True,
            description=f"Booking reference: {stay.booking_reference}" if stay.booking_reference else "",
        )

    for admission in admissions:
        ward = f" – {admission.ward}" if admission.ward else ""
        ics.add_event(
            cal,
            uid=ics.event_uid(ics.TRAVEL_ADMISSION, admission.pk),
            stamp=stamp,
            summary=f"Hospital admission: {admission.hospital.name_en}{ward}",
            start=admission.admission_date,
            location=f"{admission.hospital.name_en} {admission.hospital.name_zh}, {admission.hospital.city}",
            description=(
                "What to bring:\n" + "\n".join(f"- {item}" for item in admission.bring_list)
                if admission.bring_list
                else ""
            ),
        )

    return ics.to_bytes(cal, with_time_zones=True)
