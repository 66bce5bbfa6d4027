"""Reading travel data: the itinerary a family or coordinator sees, and the warnings.

``itinerary_for(case, viewer)`` is what the portal and the API show; it checks that the
viewer may see the case (404 otherwise); the view that shows it records the read.
``warnings_for(case)`` runs the checks in ``travel.checks`` over the case's data.
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404
from django.utils import timezone, translation

from accounts.roles import is_family, is_hospital
from cases.models import Case

from . import checks
from .airports import get_airport
from .models import (
    Accommodation,
    Admission,
    AirportPickup,
    InterpreterNeed,
    Journey,
    Leg,
    Traveller,
    VisaApplication,
    visa_lead_days,
)


def scheduled_infusion_date(case) -> dt.date | None:
    """Day 0 as the scheduling app records it (the infusion TreatmentEvent), planned or done."""
    from scheduling.models import TreatmentEvent

    return (
        TreatmentEvent.objects.filter(case_id=case.pk, kind=TreatmentEvent.Kind.INFUSION)
        .values_list("occurred_on", flat=True)
        .first()
    )


def current_admission(admissions) -> Admission | None:
    active = [a for a in admissions if a.status != Admission.Status.CANCELLED]
    return min(active, key=lambda a: (a.admission_date, a.pk)) if active else None


def _leg_label(leg: Leg) -> str:
    return f"{leg.flight_number} {leg.origin}→{leg.destination}".strip()


def travel_facts(case, *, now: dt.datetime | None = None) -> checks.TravelFacts:
    """The plain data the checks need (a fixed number of queries, whatever the case holds)."""
    now = now or timezone.now()
    travellers = list(Traveller.objects.filter(case_id=case.pk))
    visas = list(VisaApplication.objects.filter(case_id=case.pk).order_by("traveller_id", "-id"))
    legs = list(Leg.objects.filter(case_id=case.pk).select_related("journey"))
    stays = list(Accommodation.objects.filter(case_id=case.pk))
    admission = current_admission(list(Admission.objects.filter(case_id=case.pk)))

    latest_visa: dict[int, VisaApplication] = {}
    for visa in visas:
        latest_visa.setdefault(visa.traveller_id, visa)  # newest first
    visa_facts = [
        checks.VisaFacts(
            traveller_id=t.pk,
            traveller_name=t.full_name,
            status=latest_visa[t.pk].status if t.pk in latest_visa else VisaApplication.Status.NOT_STARTED,
        )
        for t in travellers
    ]
    day0 = scheduled_infusion_date(case)
    is_estimate = day0 is None
    if day0 is None and admission is not None:
        day0 = admission.estimated_infusion_date
    return checks.TravelFacts(
        today=timezone.localdate(now),
        now=now,
        travellers=[
            checks.TravellerFacts(
                id=t.pk, name=t.full_name, has_passport=bool(t.passport_number), passport_expiry=t.passport_expiry
            )
            for t in travellers
        ],
        visas=visa_facts,
        legs=[
            checks.LegFacts(
                id=leg.pk,
                journey_id=leg.journey_id,
                direction=leg.journey.direction,
                position=leg.position,
                origin=leg.origin,
                destination=leg.destination,
                departure_at=leg.departure_at,
                arrival_at=leg.arrival_at,
                departure_tz=leg.departure_tz,
                arrival_tz=leg.arrival_tz,
                label=_leg_label(leg),
            )
            for leg in legs
        ],
        stays=[checks.StayFacts(id=s.pk, name=s.name, check_in=s.check_in, check_out=s.check_out) for s in stays],
        admission_date=admission.admission_date if admission else None,
        infusion_day0=day0,
        infusion_is_estimate=is_estimate,
        visa_lead_days=visa_lead_days(),
    )


def warnings_for(case, *, language: str | None = None, now: dt.datetime | None = None) -> list[checks.TravelWarning]:
    """Every travel warning on the case, with texts in ``language`` (default: the active one)."""
    facts = travel_facts(case, now=now)
    if language:
        with translation.override(language):
            return checks.run_all(facts)
    return checks.run_all(facts)


def travel_case_for(case, viewer) -> Case:
    """The case if the viewer may see its travel (family and coordinators), else ``Http404``."""
    if viewer is None or not viewer.is_authenticated or is_hospital(viewer):
        raise Http404
    visible = Case.objects.visible_to(viewer).filter(pk=getattr(case, "pk", case)).first()
    if visible is None:
        raise Http404
    return visible


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _airport(code: str) -> dict:
    airport = get_airport(code)
    if airport is None:
        return {"iata": code, "name": "", "city": "", "country": "", "time_zone": ""}
    return {
        "iata": airport.iata,
        "name": airport.name,
        "city": airport.city,
        "country": airport.country,
        "time_zone": airport.time_zone,
    }


def itinerary_for(case, viewer) -> dict:
    """The case's whole itinerary as plain data for the family or a coordinator.

    Raises ``Http404`` when the viewer may not see the case (hospitals see admissions only,
    through the admissions API). Passport numbers are masked. The read is recorded by the
    page or API view that shows it, not here.
    """
    case = travel_case_for(case, viewer)
    travellers = list(Traveller.objects.filter(case=case))
    visas = list(VisaApplication.objects.filter(case=case).select_related("traveller").order_by("traveller_id", "-id"))
    journeys = list(Journey.objects.filter(case=case).prefetch_related("legs", "travellers"))
    stays = list(Accommodation.objects.filter(case=case).select_related("near_hospital"))
    pickups = list(AirportPickup.objects.filter(case=case).select_related("leg"))
    interpreters = list(InterpreterNeed.objects.filter(case=case))
    admissions = list(Admission.objects.filter(case=case).select_related("hospital"))

    return {
        "case": {"id": case.pk, "reference": case.reference},
        "travellers": [_traveller_data(t) for t in travellers],
        "visas": [_visa_data(v) for v in visas],
        "journeys": [_journey_data(j) for j in journeys],
        "accommodations": [_accommodation_data(s) for s in stays],
        "pickups": [_pickup_data(p) for p in pickups],
        "interpreter_needs": [_interpreter_need_data(n) for n in interpreters],
        "admissions": [_admission_data(a) for a in admissions],
        "warnings": warnings_view_for(case, viewer),
    }


def _traveller_data(t: Traveller) -> dict:
    return {
        "id": t.pk,
        "role": t.role,
        "name": t.full_name,
        "nationality": str(t.nationality),
        "passport_number": t.masked_passport,
        "passport_expiry": _iso(t.passport_expiry),
    }


def _visa_data(v: VisaApplication) -> dict:
    return {
        "id": v.pk,
        "traveller_id": v.traveller_id,
        "traveller": v.traveller.full_name,
        "status": v.status,
        "status_label": str(v.get_status_display()),
        "country": str(v.country),
        "submitted_on": _iso(v.submitted_on),
        "decided_on": _iso(v.decided_on),
        "valid_until": _iso(v.valid_until),
    }


def _journey_data(j: Journey) -> dict:
    return {
        "id": j.pk,
        "direction": j.direction,
        "direction_label": str(j.get_direction_display()),
        "traveller_ids": [t.pk for t in j.travellers.all()],
        "legs": [_leg_data(leg) for leg in j.legs.all()],
    }


def _leg_data(leg: Leg) -> dict:
    return {
        "id": leg.pk,
        "position": leg.position,
        "carrier": leg.carrier,
        "flight_number": leg.flight_number,
        "booking_reference": leg.booking_reference,
        "origin": _airport(leg.origin),
        "destination": _airport(leg.destination),
        "departure_local": _iso(leg.departure_local),
        "arrival_local": _iso(leg.arrival_local),
        "departure_utc": _iso(leg.departure_at),
        "arrival_utc": _iso(leg.arrival_at),
        "duration_minutes": int((leg.arrival_at - leg.departure_at).total_seconds() // 60),
    }


def _accommodation_data(s: Accommodation) -> dict:
    return {
        "id": s.pk,
        "name": s.name,
        "address": s.address,
        "city": s.city,
        "phone": str(s.phone) if s.phone else "",
        "check_in": _iso(s.check_in),
        "check_out": _iso(s.check_out),
        "booking_reference": s.booking_reference,
    }


def _pickup_data(p: AirportPickup) -> dict:
    return {
        "id": p.pk,
        "leg_id": p.leg_id,
        "airport": _airport(p.leg.destination),
        "meet_local": _iso(p.meets_at_local),
        "driver_name": p.driver_name,
        "driver_phone": str(p.driver_phone) if p.driver_phone else "",
        "destination": p.destination,
        "confirmed": p.confirmed,
    }


def _interpreter_need_data(n: InterpreterNeed) -> dict:
    return {
        "id": n.pk,
        "language": n.language,
        "language_name": n.language_name,
        "occasion": n.occasion,
        "occasion_label": str(n.get_occasion_display()),
        "starts_on": _iso(n.starts_on),
        "ends_on": _iso(n.ends_on),
        "arranged": n.arranged,
    }


def _admission_data(a: Admission) -> dict:
    return {
        "id": a.pk,
        "hospital": {"id": a.hospital_id, "name": a.hospital.name_en, "name_zh": a.hospital.name_zh},
        "status": a.status,
        "admission_date": _iso(a.admission_date),
        "ward": a.ward,
        "currency": a.currency,
        "deposit_amount": str(a.deposit_amount) if a.deposit_amount is not None else None,
        "cost_estimate": str(a.cost_estimate) if a.cost_estimate is not None else None,
        "what_to_bring": a.bring_list,
        "estimated_infusion_date": _iso(a.estimated_infusion_date),
    }


def warnings_view_for(case, viewer) -> list[dict]:
    """The warnings as the viewer reads them: plain words for a family, or the coordinator's
    text, in the language of the page or response being rendered (the portal activates the
    family's language when it has it), so a page never mixes two languages. The caller has
    checked that the viewer may see the case."""
    language = translation.get_language()
    return [
        {
            "code": w.code,
            "level": w.level,
            "subject": w.subject,
            "text": w.family_text if is_family(viewer) else w.coordinator_text,
        }
        for w in warnings_for(case, language=language)
    ]
