"""Flights in local time: arithmetic across zones, and bad input refused with nothing saved."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from travel.airports import to_instant
from travel.models import Journey, Leg
from travel.services import travel_save
from travel.tests.helpers import future_date, journey, leg, local


def test_a_flight_from_auckland_lands_in_honolulu_the_calendar_day_before_it_left(world):
    j = journey(world.case_a, world.alice)
    d = future_date(7, 15)  # NZ winter (UTC+12), Hawaii UTC-10
    flight = leg(
        j,
        world.alice,
        "AKL",
        "HNL",
        dt.datetime.combine(d, dt.time(9, 0)),
        dt.datetime.combine(d - dt.timedelta(days=1), dt.time(19, 30)),
    )
    flight.refresh_from_db()
    assert flight.departure_local.date() == d
    assert flight.arrival_local.date() == d - dt.timedelta(days=1)
    assert flight.arrival_at - flight.departure_at == dt.timedelta(hours=8, minutes=30)
    assert flight.departure_tz == "Pacific/Auckland" and flight.arrival_tz == "Pacific/Honolulu"


def test_an_overnight_flight_to_beijing_arrives_the_next_local_morning(world):
    j = journey(world.case_a, world.alice)
    d = future_date(3, 10)
    flight = leg(
        j,
        world.alice,
        "SVO",
        "PEK",
        dt.datetime.combine(d, dt.time(19, 15)),
        dt.datetime.combine(d + dt.timedelta(days=1), dt.time(7, 45)),
        flight_number="SU204",
    )
    flight.refresh_from_db()
    assert flight.arrival_at - flight.departure_at == dt.timedelta(hours=7, minutes=30)
    assert flight.arrival_local.strftime("%H:%M") == "07:45"
    assert flight.arrival_local.utcoffset() == dt.timedelta(hours=8)


def test_arrival_before_departure_in_absolute_time_is_refused_and_nothing_is_saved(world):
    j = journey(world.case_a, world.alice)
    d = future_date(3, 10)
    # 10:00 in Beijing to 09:00 in Almaty the same day looks plausible but is 1 hour *before* in UTC+5... check:
    # PEK 10:00 = 02:00 UTC; ALA 06:30 (UTC+5) = 01:30 UTC: before departure.
    bad = Leg(
        journey=j,
        origin="PEK",
        destination="ALA",
        departure_at=local("PEK", dt.datetime.combine(d, dt.time(10, 0))),
        arrival_at=local("ALA", dt.datetime.combine(d, dt.time(6, 30))),
    )
    with pytest.raises(ValidationError) as error:
        travel_save(obj=bad, actor=world.alice)
    assert "arrival_at" in error.value.message_dict
    assert Leg.objects.count() == 0


def test_a_departure_in_the_past_is_refused_for_a_new_booking(world):
    j = journey(world.case_a, world.alice)
    bad = Leg(
        journey=j,
        origin="ALA",
        destination="PEK",
        departure_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        arrival_at=dt.datetime(2020, 1, 1, 5, tzinfo=dt.UTC),
    )
    with pytest.raises(ValidationError) as error:
        travel_save(obj=bad, actor=world.alice)
    assert "departure_at" in error.value.message_dict
    assert not Leg.objects.exists()


def test_an_unknown_airport_is_refused(world):
    j = journey(world.case_a, world.alice)
    d = future_date(3, 10)
    bad = Leg(
        journey=j,
        origin="QQQ",
        destination="PEK",
        departure_at=dt.datetime.combine(d, dt.time(1), tzinfo=dt.UTC),
        arrival_at=dt.datetime.combine(d, dt.time(5), tzinfo=dt.UTC),
    )
    with pytest.raises(ValidationError) as error:
        travel_save(obj=bad, actor=world.alice)
    assert "origin" in error.value.message_dict
    assert "QQQ" in error.value.message_dict["origin"][0]


def test_a_wall_time_skipped_by_daylight_saving_is_refused():
    with pytest.raises(ValidationError, match="does not exist"):
        to_instant(dt.datetime(2030, 3, 10, 2, 30), "America/New_York")


def test_a_wall_time_that_occurs_twice_asks_for_the_offset():
    with pytest.raises(ValidationError, match="occurs twice"):
        to_instant(dt.datetime(2030, 11, 3, 1, 30), "America/New_York")
    explicit = dt.datetime(2030, 11, 3, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert to_instant(explicit, "America/New_York") == dt.datetime(2030, 11, 3, 6, 30, tzinfo=dt.UTC)


def test_a_leg_moved_to_a_journey_sets_its_case_from_the_journey(world):
    j = journey(world.case_b, world.bob, Journey.Direction.RETURN)
    d = future_date(5, 1)
    flight = leg(
        j, world.bob, "PEK", "SIN", dt.datetime.combine(d, dt.time(9)), dt.datetime.combine(d, dt.time(15, 30))
    )
    assert flight.case_id == world.case_b.pk
