import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["case", "records", "upload", "messages", "schedule", "eligibility", "checklist"])
def test_a_family_sees_each_page_of_its_own_case(client, world, name):
    client.force_login(world.chen)
    response = client.get(reverse(f"portal:{name}", args=[world.case_b.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "name", ["case", "records", "upload", "messages", "schedule", "eligibility", "checklist", "calendar"]
)
def test_a_family_gets_404_for_every_page_of_another_familys_case(client, world, name):
    client.force_login(world.chen)
    response = client.get(reverse(f"portal:{name}", args=[world.case_a.pk]))
    assert response.status_code == 404
