"""A journey to the centre for the demo family that is travelling."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from cases import workflow
from hospitals.models import Hospital

from .airports import to_instant
from .models import Accommodation, Admission, Journey, Leg, Traveller, VisaApplication
from .services import travel_save


def seed_case(*, case, story, rng, actor) -> None:
    if case.status != workflow.TRAVEL:
        return
    today = timezone.localdate()
    centre = Hospital.objects.get(code="pkuph")
    patient = case.patient
    contact = patient.contacts.filter(is_primary=True).first()
    child = travel_save(
        obj=Traveller(
            case=case,
            role=Traveller.Role.PATIENT,
            surname=patient.family_name.upper(),
            given_names=patient.given_name.upper(),
            nationality=patient.country,
            date_of_birth=patient.date_of_birth,
            passport_number="75" + str(rng.randint(1000000, 9999999)),
            passport_expiry=today + dt.timedelta(days=900),
        ),
        actor=actor,
        via="demo",
    )
    parent = travel_save(
        obj=Traveller(
            case=case,
            role=Traveller.Role.CAREGIVER,
            surname=contact.name.split()[-1].upper(),
            given_names=contact.name.split()[0].upper(),
            nationality=patient.country,
            date_of_birth=today - dt.timedelta(days=365 * 34),
            passport_number="76" + str(rng.randint(1000000, 9999999)),
            passport_expiry=today + dt.timedelta(days=140),  # expires within six months of arrival: a warning
        ),
        actor=actor,
        via="demo",
    )
    for traveller, status in ((child, VisaApplication.Status.SUBMITTED), (parent, VisaApplication.Status.GRANTED)):
        travel_save(
            obj=VisaApplication(
                case=case,
                traveller=traveller,
                status=status,
                visa_type="S2",
                invitation_requested_on=today - dt.timedelta(days=20),
                invitation_received_on=today - dt.timedelta(days=12),
                submitted_on=today - dt.timedelta(days=6),
                decided_on=today - dt.timedelta(days=1) if status == VisaApplication.Status.GRANTED else None,
            ),
            actor=actor,
            via="demo",
        )
    journey = travel_save(obj=Journey(case=case, direction=Journey.Direction.OUTBOUND), actor=actor, via="demo")
    journey.travellers.set([child, parent])
    departure = dt.datetime.combine(today + dt.timedelta(days=9), dt.time(23, 55))
    travel_save(
        obj=Leg(
            case=case,
            journey=journey,
            position=1,
            origin="SVO",
            destination="PEK",
            carrier="Aeroflot",
            flight_number="SU204",
            booking_reference="DEMO42",
            departure_at=to_instant(departure, "Europe/Moscow"),
            arrival_at=to_instant(departure + dt.timedelta(hours=12, minutes=50), "Asia/Shanghai"),
        ),
        actor=actor,
        via="demo",
    )
    admission_date = today + dt.timedelta(days=11)
    travel_save(
        obj=Accommodation(
            case=case,
            name="Xizhimen serviced apartments (synthetic)",
            address="11 Xizhimen South Street",
            city="Beijing",
            near_hospital=centre,
            check_in=today + dt.timedelta(days=10),
            check_out=admission_date + dt.timedelta(days=60),
        ),
        actor=actor,
        via="demo",
    )
    travel_save(
        obj=Admission(
            case=case,
            hospital=centre,
            admission_date=admission_date,
            ward="Paediatric haematology",
            what_to_bring="Passport, visa, all original reports, current medication list.",
        ),
        actor=actor,
        via="demo",
    )
