"""The travel inlines on the case page (mounted as the lead adds them to CaseAdmin)."""

import datetime as dt

import pytest

from audit.models import AuditEvent
from travel.tests.helpers import admission, day, journey, leg, stay, traveller

pytestmark = pytest.mark.urls("travel.tests.case_admin_urls")


def test_the_case_page_shows_travel_masked_and_audited_with_its_warnings(world, client):
    t = traveller(world.case_a, world.alice, passport_number="N12345678")
    j = journey(world.case_a, world.alice)
    d = day(30)
    leg(
        j,
        world.alice,
        "ALA",
        "PEK",
        dt.datetime.combine(d, dt.time(23, 55)),
        dt.datetime.combine(d + dt.timedelta(days=1), dt.time(6, 40)),
    )
    admission(world.case_a, world.alice, world.pkuph, d)  # lands the day after admission
    stay(world.case_a, world.alice, d, d + dt.timedelta(days=60))
    client.force_login(world.alice)
    response = client.get(f"/admin/cases/case/{world.case_a.pk}/section/travel/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "N12345678" not in html
    assert "Travel warnings" in html
    assert "after the admission date" in html
    assert (
        AuditEvent.objects.filter(object_type="travel.Traveller", object_id=str(t.pk), detail__via="admin-case").count()
        == 1
    )
