"""travel_create / travel_update: the one path by which the API writes travel rows."""

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from audit.models import AuditEvent
from navigator.errors import DomainError
from travel.models import Accommodation, Journey, Traveller
from travel.services import travel_create, travel_update
from travel.tests.helpers import day, journey, traveller


def test_travel_create_saves_the_row_then_its_many_to_many_and_records_every_field(world):
    olga = traveller(world.case_a, world.alice)
    created = travel_create(
        model=Journey, actor=world.alice, data={"case": world.case_a, "direction": "outbound", "travellers": [olga]}
    )
    assert list(Journey.objects.get(pk=created.pk).travellers.all()) == [olga]
    event = AuditEvent.objects.get(action="create", object_type="travel.Journey")
    assert event.detail == {"via": "api", "fields": ["case", "direction", "travellers"]}


def test_travel_update_changes_the_row_and_records_the_fields(world):
    j = journey(world.case_a, world.alice)
    travel_update(obj=j, actor=world.alice, data={"notes": "Aisle seats"})
    assert Journey.objects.get(pk=j.pk).notes == "Aisle seats"
    assert AuditEvent.objects.get(action="update", object_type="travel.Journey").detail["fields"] == ["notes"]


def test_travel_update_never_moves_a_row_to_another_case(world):
    olga = traveller(world.case_a, world.alice)
    with pytest.raises(DomainError) as error:
        travel_update(obj=olga, actor=world.alice, data={"case": world.case_b})
    assert error.value.field == "case"
    assert Traveller.objects.get(pk=olga.pk).case == world.case_a


def test_a_row_that_does_not_validate_leaves_nothing_behind(world):
    data = {"case": world.case_a, "name": "Flat", "address": "1 Road", "city": "Beijing"}
    with pytest.raises(ValidationError):
        travel_create(model=Accommodation, actor=world.alice, data={**data, "check_in": day(10), "check_out": day(5)})
    assert not Accommodation.objects.exists()
    assert not AuditEvent.objects.filter(object_type="travel.Accommodation").exists()


def test_the_api_moves_no_travel_row_to_another_case(world):
    olga = traveller(world.case_a, world.alice)
    client = APIClient()
    client.force_authenticate(world.alice)
    response = client.patch(f"/api/v1/travel/travellers/{olga.pk}/", {"case": world.case_b.pk}, format="json")
    assert response.status_code == 400 and "case" in response.json()["fields"]
    assert Traveller.objects.get(pk=olga.pk).case == world.case_a
