"""The itinerary for a fixed travel world, pinned byte for byte.

Every travel row is created with a fixed id and fixed dates (far enough ahead that no check
depending on today changes its mind), so ``itinerary_for`` must give exactly the JSON in
``data/itinerary.json``; only the ids and the reference that the shared world assigns
(the case, the centres) are put into the pinned text before comparing.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

from travel.models import (
    Accommodation,
    Admission,
    AirportPickup,
    InterpreterNeed,
    Journey,
    Leg,
    Traveller,
    VisaApplication,
)
from travel.selectors import itinerary_for
from travel.services import travel_save

from .helpers import local

PINNED = Path(__file__).parent / "data" / "itinerary.json"
pytestmark = pytest.mark.django_db


def build_fixed_travel(w) -> None:
    case, actor = w.case_a, w.alice
    mother = travel_save(
        obj=Traveller(
            pk=7101,
            case=case,
            role=Traveller.Role.CAREGIVER,
            surname="IVANOVA",
            given_names="OLGA",
            nationality="KZ",
            date_of_birth=dt.date(1988, 3, 4),
            passport_number="N12345678",
            passport_expiry=dt.date(2095, 6, 30),
        ),
        actor=actor,
    )
    child = travel_save(
        obj=Traveller(
            pk=7102,
            case=case,
            role=Traveller.Role.PATIENT,
            surname="IVANOV",
            given_names="MIKHAIL",
            nationality="KZ",
            date_of_birth=dt.date(2017, 10, 22),
            passport_number="",
        ),
        actor=actor,
    )
    travel_save(
        obj=VisaApplication(
            pk=7201,
            case=case,
            traveller=mother,
            status=VisaApplication.Status.REFUSED,
            decided_on=dt.date(2025, 9, 1),
        ),
        actor=actor,
    )
    travel_save(
        obj=VisaApplication(
            pk=7202,
            case=case,
            traveller=mother,
            status=VisaApplication.Status.GRANTED,
            submitted_on=dt.date(2025, 11, 1),
            decided_on=dt.date(2025, 11, 20),
            valid_until=dt.date(2090, 11, 20),
        ),
        actor=actor,
    )
    travel_save(obj=VisaApplication(pk=7203, case=case, traveller=child), actor=actor)

    outbound = travel_save(obj=Journey(pk=7301, case=case, direction=Journey.Direction.OUTBOUND), actor=actor)
    outbound.travellers.set([mother, child])
    homeward = travel_save(obj=Journey(pk=7302, case=case, direction=Journey.Direction.RETURN), actor=actor)
    homeward.travellers.set([mother])
    legs = [
        (7401, outbound, 1, "ALA", "URC", dt.datetime(2090, 1, 10, 8, 5), dt.datetime(2090, 1, 10, 12, 40), "KC887"),
        (7402, outbound, 2, "URC", "PEK", dt.datetime(2090, 1, 10, 14, 0), dt.datetime(2090, 1, 10, 18, 20), "CZ6901"),
        (7403, homeward, 1, "PEK", "ALA", dt.datetime(2090, 6, 1, 9, 0), dt.datetime(2090, 6, 1, 12, 30), ""),
    ]
    saved = {}
    for pk, journey, position, origin, destination, departs, arrives, flight in legs:
        saved[pk] = travel_save(
            obj=Leg(
                pk=pk,
                journey=journey,
                position=position,
                origin=origin,
                destination=destination,
                departure_at=local(origin, departs),
                arrival_at=local(destination, arrives),
                carrier="Air Astana" if flight.startswith("KC") else "",
                flight_number=flight,
                booking_reference="QX7P2L" if flight else "",
            ),
            actor=actor,
        )
    travel_save(
        obj=Accommodation(
            pk=7501,
            case=case,
            name="Garden Apartments",
            address="1 Xizhimen South St",
            city="Beijing",
            near_hospital=w.pkuph,
            check_in=dt.date(2090, 1, 10),
            check_out=dt.date(2090, 6, 1),
            phone="+8610 6831 1234",
            booking_reference="GA-991",
        ),
        actor=actor,
    )
    travel_save(
        obj=Accommodation(
            pk=7502,
            case=case,
            name="Airport hotel",
            address="Capital Airport Rd 5",
            city="Beijing",
            check_in=dt.date(2090, 6, 1),
            check_out=dt.date(2090, 6, 2),
        ),
        actor=actor,
    )
    travel_save(
        obj=AirportPickup(
            pk=7601,
            case=case,
            leg=saved[7402],
            driver_name="Mr Zhang",
            driver_phone="+86 138 0013 8000",
            destination="Garden Apartments",
            confirmed=True,
        ),
        actor=actor,
    )
    travel_save(
        obj=AirportPickup(pk=7602, case=case, leg=saved[7403], meet_at=local("ALA", dt.datetime(2090, 6, 1, 13, 0))),
        actor=actor,
    )
    travel_save(
        obj=InterpreterNeed(
            pk=7701,
            case=case,
            language="ru",
            occasion=InterpreterNeed.Occasion.CONSULTATIONS,
            starts_on=dt.date(2090, 1, 11),
            ends_on=dt.date(2090, 1, 20),
            arranged=True,
        ),
        actor=actor,
    )
    travel_save(
        obj=InterpreterNeed(
            pk=7702, case=case, language="kk", occasion=InterpreterNeed.Occasion.INFUSION, starts_on=dt.date(2090, 2, 1)
        ),
        actor=actor,
    )
    travel_save(
        obj=Admission(
            pk=7801,
            case=case,
            hospital=w.pkuph,
            status=Admission.Status.CONFIRMED,
            admission_date=dt.date(2090, 1, 12),
            ward="Haematology 3",
            deposit_amount=Decimal("50000.00"),
            cost_estimate=Decimal("1200000"),
            what_to_bring="Passports\nOriginal reports\n\nCash for the deposit",
        ),
        actor=actor,
    )
    travel_save(
        obj=Admission(
            pk=7802,
            case=case,
            hospital=w.ruijin,
            status=Admission.Status.CANCELLED,
            admission_date=dt.date(2090, 1, 5),
            infusion_estimate_days=None,
        ),
        actor=actor,
    )


def pinned_for(w) -> dict:
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    pinned["case"] = {"id": w.case_a.pk, "reference": w.case_a.reference}
    centres = {w.pkuph.name_en: w.pkuph.pk, w.ruijin.name_en: w.ruijin.pk}
    for admission in pinned["admissions"]:
        admission["hospital"]["id"] = centres[admission["hospital"]["name"]]
    return pinned


@pytest.mark.parametrize("viewer", ["alice", "ivanova"])
def test_the_itinerary_of_a_fixed_world_is_byte_identical_to_the_pinned_one(world, viewer):
    build_fixed_travel(world)
    pinned = pinned_for(world)
    with translation.override("en"):
        itinerary = itinerary_for(world.case_a, getattr(world, viewer))
    if viewer == "ivanova":  # a family reads the same itinerary with the warnings in plain words
        assert [w["code"] for w in itinerary["warnings"]] == [w["code"] for w in pinned["warnings"]]
        itinerary["warnings"] = pinned["warnings"]
    assert json.dumps(itinerary, ensure_ascii=False) == json.dumps(pinned, ensure_ascii=False)
