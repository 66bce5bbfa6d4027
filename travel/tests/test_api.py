"""The travel API per role: coordinators edit, a family reads only its own case, a hospital
only admissions at its centre for cases shared with it; every traveller read is audited."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from icalendar import Calendar
from rest_framework.test import APIClient

from audit.models import AuditEvent
from cases.factories import CaseFactory
from travel.models import Leg, Traveller
from travel.tests.helpers import admission, day, journey, leg, stay, traveller


def client_for(user):
    c = APIClient()
    c.force_authenticate(user)
    return c


@pytest.fixture
def trip(world):
    t = traveller(world.case_a, world.alice, passport_number="N12345678")
    j = journey(world.case_a, world.alice)
    d = day(30)
    flight = leg(
        j,
        world.alice,
        "SVO",
        "PEK",
        dt.datetime.combine(d, dt.time(19, 15)),
        dt.datetime.combine(d + dt.timedelta(days=1), dt.time(7, 45)),
        flight_number="SU204",
        booking_reference="ABC123",
    )
    a = admission(world.case_a, world.alice, world.pkuph, d + dt.timedelta(days=1), ward="Haematology 3")
    s = stay(world.case_a, world.alice, d + dt.timedelta(days=1), d + dt.timedelta(days=90))
    return {"traveller": t, "journey": j, "leg": flight, "admission": a, "stay": s}


def test_a_coordinator_adds_a_flight_in_local_times_and_reads_it_back_with_offsets(world):
    j = journey(world.case_a, world.alice)
    d = day(20)
    response = client_for(world.alice).post(
        "/api/v1/travel/legs/",
        {
            "journey": j.pk,
            "origin": "akl",
            "destination": "HNL",
            "flight_number": "NZ 10",
            "departure_local": f"{d}T09:00",
            "arrival_local": f"{d - dt.timedelta(days=1)}T19:30",
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["origin"] == "AKL" and body["flight_number"] == "NZ10"
    assert body["departure_tz"] == "Pacific/Auckland"
    assert body["arrival_local"].startswith(f"{d - dt.timedelta(days=1)}T19:30")
    assert body["case"] == world.case_a.pk


def test_arrival_before_departure_is_refused_with_a_field_message_and_nothing_saved(world):
    j = journey(world.case_a, world.alice)
    d = day(20)
    response = client_for(world.alice).post(
        "/api/v1/travel/legs/",
        {
            "journey": j.pk,
            "origin": "PEK",
            "destination": "ALA",
            "departure_local": f"{d}T10:00",
            "arrival_local": f"{d}T06:30",
        },
    )
    assert response.status_code == 400
    assert "arrival_local" in response.json()["fields"]
    assert not Leg.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"origin": "XXZ"}, "origin"),
        ({"departure_local": "2020-01-01T10:00", "arrival_local": "2020-01-01T15:00"}, "departure_local"),
        ({"departure_local": "tomorrow"}, "departure_local"),
    ],
)
def test_bad_flights_are_refused_naming_the_field(world, payload, field):
    j = journey(world.case_a, world.alice)
    d = day(20)
    data = {
        "journey": j.pk,
        "origin": "ALA",
        "destination": "PEK",
        "departure_local": f"{d}T10:00",
        "arrival_local": f"{d}T18:00",
        **payload,
    }
    response = client_for(world.alice).post("/api/v1/travel/legs/", data)
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    assert not Leg.objects.exists()


def test_a_new_admission_in_the_past_is_refused(world):
    response = client_for(world.alice).post(
        "/api/v1/travel/admissions/",
        {"case": world.case_a.pk, "hospital": world.pkuph.pk, "admission_date": "2020-01-01"},
    )
    assert response.status_code == 400
    assert "admission_date" in response.json()["fields"]


def test_a_family_reads_its_own_itinerary_in_its_language(world, trip):
    response = client_for(world.ivanova).get(f"/api/v1/travel/itineraries/{world.case_a.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["journeys"][0]["legs"][0]["arrival_local"].endswith("+08:00")
    assert body["travellers"][0]["passport_number"] == "••••••678"
    assert body["admissions"][0]["ward"] == "Haematology 3"


def test_a_family_cannot_see_another_familys_itinerary(world, trip):
    c = client_for(world.chen)
    assert c.get(f"/api/v1/travel/itineraries/{world.case_a.pk}/").status_code == 404
    assert c.get(f"/api/v1/travel/itineraries/{world.case_a.pk}/ics/").status_code == 404
    assert c.get(f"/api/v1/travel/travellers/{trip['traveller'].pk}/").status_code == 404
    assert c.get(f"/api/v1/travel/legs/{trip['leg'].pk}/").status_code == 404
    assert c.get("/api/v1/travel/travellers/").json()["results"] == []


def test_a_family_cannot_change_its_itinerary(world, trip):
    c = client_for(world.ivanova)
    response = c.patch(f"/api/v1/travel/legs/{trip['leg'].pk}/", {"booking_reference": "ZZZ999"})
    assert response.status_code == 403
    trip["leg"].refresh_from_db()
    assert trip["leg"].booking_reference == "ABC123"


def test_a_hospital_sees_the_admission_at_its_centre_and_nothing_else(world, trip):
    li = client_for(world.dr_li)
    assert li.get(f"/api/v1/travel/admissions/{trip['admission'].pk}/").status_code == 200
    assert li.get(f"/api/v1/travel/travellers/{trip['traveller'].pk}/").status_code == 404
    assert li.get(f"/api/v1/travel/itineraries/{world.case_a.pk}/").status_code == 404
    assert li.patch(f"/api/v1/travel/admissions/{trip['admission'].pk}/", {"ward": "X"}).status_code == 403
    wang = client_for(world.dr_wang)
    assert wang.get(f"/api/v1/travel/admissions/{trip['admission'].pk}/").status_code == 404


def test_every_traveller_read_is_audited_and_lists_mask_the_passport(world, trip):
    t = trip["traveller"]
    c = client_for(world.alice)
    listed = c.get(f"/api/v1/travel/travellers/?case={world.case_a.pk}").json()["results"]
    assert listed[0]["passport_number"] == "••••••678"
    assert c.get(f"/api/v1/travel/travellers/{t.pk}/").json()["passport_number"] == "N12345678"
    client_for(world.ivanova).get(f"/api/v1/travel/itineraries/{world.case_a.pk}/")
    events = AuditEvent.objects.filter(object_type="travel.Traveller", object_id=str(t.pk))
    assert set(events.values_list("action", "actor__username")) >= {
        ("list", "alice"),
        ("view", "alice"),
        ("view", "ivanova"),
    }
    assert all(e.case_id == world.case_a.pk for e in events)


def test_the_ics_carries_each_airports_time_zone(world, trip):
    response = client_for(world.ivanova).get(f"/api/v1/travel/itineraries/{world.case_a.pk}/ics/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    flights = [e for e in cal.walk("VEVENT") if "SVO" in str(e["summary"])]
    assert len(flights) == 1
    start, end = flights[0].decoded("dtstart"), flights[0].decoded("dtend")
    assert str(start.tzinfo) == "Europe/Moscow" and str(end.tzinfo) == "Asia/Shanghai"
    assert end - start == dt.timedelta(hours=7, minutes=30)
    assert {str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")} >= {"Europe/Moscow", "Asia/Shanghai"}
    summaries = [str(e["summary"]) for e in cal.walk("VEVENT")]
    assert any(s.startswith("Hospital admission") for s in summaries)
    assert any(s.startswith("Stay") for s in summaries)
    assert AuditEvent.objects.filter(action="download", object_type="travel.Itinerary", actor=world.ivanova).exists()


def test_the_family_sees_warnings_in_plain_words_and_the_coordinator_what_to_fix(world, trip):
    # The flight lands the morning of the admission day; shorten the stay to trip the stay check.
    s = trip["stay"]
    s.check_out = s.check_in + dt.timedelta(days=10)
    from travel.services import travel_save

    travel_save(obj=s, actor=world.alice)
    family = client_for(world.ivanova).get(f"/api/v1/travel/itineraries/{world.case_a.pk}/warnings/").json()
    coord = client_for(world.alice).get(f"/api/v1/travel/itineraries/{world.case_a.pk}/warnings/").json()
    assert "stay_too_short" in {w["code"] for w in family}
    fam = next(w for w in family if w["code"] == "stay_too_short")
    co = next(w for w in coord if w["code"] == "stay_too_short")
    assert fam["text"] != co["text"]


def _add_case_with_travellers(world, n):
    for _ in range(n):
        case = CaseFactory(coordinator=world.alice)
        traveller(case, world.alice)
        j = journey(case, world.alice)
        d = day(25)
        leg(j, world.alice, "ALA", "PEK", dt.datetime.combine(d, dt.time(10)), dt.datetime.combine(d, dt.time(18)))


@pytest.mark.parametrize("url", ["/api/v1/travel/travellers/", "/api/v1/travel/journeys/", "/api/v1/travel/legs/"])
def test_list_endpoints_keep_a_constant_number_of_queries(world, url):
    c = client_for(world.alice)
    _add_case_with_travellers(world, 2)
    with CaptureQueriesContext(connection) as few:
        assert c.get(url).status_code == 200
    _add_case_with_travellers(world, 20)
    with CaptureQueriesContext(connection) as many:
        assert c.get(url).status_code == 200
    assert len(many) == len(few)


def test_a_traveller_cannot_be_added_to_a_case_twice_as_the_patient(world):
    traveller(world.case_a, world.alice, role=Traveller.Role.PATIENT, surname="IVANOV", given_names="MIKHAIL")
    response = client_for(world.alice).post(
        "/api/v1/travel/travellers/",
        {
            "case": world.case_a.pk,
            "role": "patient",
            "surname": "IVANOV",
            "given_names": "MISHA",
            "nationality": "KZ",
            "date_of_birth": "2016-01-01",
        },
    )
    assert response.status_code == 400
