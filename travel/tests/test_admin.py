"""The coordinator's travel desk in the admin."""

import datetime as dt

import pytest
from django.contrib import admin as django_admin
from django.test import RequestFactory

from audit.models import AuditEvent
from scheduling.models import Milestone
from travel.admin import TRAVEL_CASE_INLINES, TravelWarningsInline
from travel.models import Leg
from travel.tests.helpers import admission, day, journey, stay, traveller


@pytest.fixture
def admin_client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def test_the_traveller_list_masks_passports_and_audits_the_rows_shown(world, admin_client_for):
    t = traveller(world.case_a, world.alice, passport_number="N12345678")
    response = admin_client_for(world.alice).get("/admin/travel/traveller/")
    assert response.status_code == 200
    assert b"N12345678" not in response.content
    assert "••••••678" in response.content.decode()
    assert AuditEvent.objects.filter(action="list", object_id=str(t.pk), actor=world.alice).exists()


def test_the_traveller_page_shows_the_number_and_audits_the_view(world, admin_client_for):
    t = traveller(world.case_a, world.alice, passport_number="N12345678")
    response = admin_client_for(world.alice).get(f"/admin/travel/traveller/{t.pk}/change/")
    assert b"N12345678" in response.content
    assert AuditEvent.objects.filter(action="view", object_id=str(t.pk), detail__via="admin").exists()


def test_a_flight_entered_in_the_admin_in_local_times_is_stored_as_utc_and_scheduled(world, admin_client_for):
    j = journey(world.case_a, world.alice)
    d = day(20)
    response = admin_client_for(world.alice).post(
        "/admin/travel/leg/add/",
        {
            "journey": j.pk,
            "position": 1,
            "origin": "SVO",
            "destination": "PEK",
            "flight_number": "SU204",
            "departure_at": f"{d}T19:15",
            "arrival_at": f"{d + dt.timedelta(days=1)}T07:45",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    flight = Leg.objects.get()
    assert flight.departure_at == dt.datetime.combine(d, dt.time(16, 15), tzinfo=dt.UTC)
    assert Milestone.objects.filter(key=f"travel-departure:{flight.pk}").exists()


def test_the_admin_refuses_an_arrival_before_departure_with_a_form_error(world, admin_client_for):
    j = journey(world.case_a, world.alice)
    d = day(20)
    response = admin_client_for(world.alice).post(
        "/admin/travel/leg/add/",
        {
            "journey": j.pk,
            "position": 1,
            "origin": "PEK",
            "destination": "ALA",
            "departure_at": f"{d}T10:00",
            "arrival_at": f"{d}T06:30",
        },
    )
    assert response.status_code == 200
    assert "arrival_at" in response.context["adminform"].form.errors
    assert not Leg.objects.exists()


def test_families_and_hospitals_cannot_open_the_travel_admin(world, admin_client_for):
    world.ivanova.is_staff = True
    world.ivanova.save()
    response = admin_client_for(world.ivanova).get("/admin/travel/traveller/")
    assert response.status_code in (302, 403)


def test_the_warnings_panel_lists_the_cases_warnings(world):
    admission(world.case_a, world.alice, world.pkuph, day(30))
    stay(world.case_a, world.alice, day(29), day(35))
    request = RequestFactory().get("/")
    request.user = world.alice
    from cases.models import Case

    inline = TravelWarningsInline(Case, django_admin.site)
    formset = inline.get_formset(request, world.case_a)
    assert "stay_too_short" in {w.code for w in formset.travel_warnings}
    assert TravelWarningsInline in TRAVEL_CASE_INLINES


def test_admin_lists_keep_a_constant_number_of_queries(world, admin_client_for, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.factories import CaseFactory

    c = admin_client_for(world.alice)
    for _ in range(2):
        traveller(CaseFactory(), world.alice)
    c.get("/admin/travel/traveller/")  # the first page also works out the sidebar's list (then kept)
    with CaptureQueriesContext(connection) as few:
        c.get("/admin/travel/traveller/")
    for _ in range(20):
        traveller(CaseFactory(), world.alice)
    with CaptureQueriesContext(connection) as many:
        c.get("/admin/travel/traveller/")
    assert len(many) == len(few)


def test_a_journey_and_its_flight_added_in_one_save_are_both_stored(world, admin_client_for):
    d = day(20)
    response = admin_client_for(world.alice).post(
        "/admin/travel/journey/add/",
        {
            "case": world.case_a.pk,
            "direction": "outbound",
            "notes": "",
            "legs-TOTAL_FORMS": "1",
            "legs-INITIAL_FORMS": "0",
            "legs-MIN_NUM_FORMS": "0",
            "legs-MAX_NUM_FORMS": "1000",
            "legs-0-position": "1",
            "legs-0-origin": "SVO",
            "legs-0-destination": "PEK",
            "legs-0-flight_number": "SU204",
            "legs-0-departure_at": f"{d}T19:15",
            "legs-0-arrival_at": f"{d + dt.timedelta(days=1)}T07:45",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    flight = Leg.objects.get()
    assert flight.journey.case == world.case_a and flight.case == world.case_a
    assert Milestone.objects.filter(key=f"travel-departure:{flight.pk}").exists()
