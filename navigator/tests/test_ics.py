"""One calendar helper: the same row is the same event, with the same UID, in every .ics Navigator serves."""

import datetime as dt

import icalendar
import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from navigator import ics
from scheduling.models import Milestone
from scheduling.services import event_record
from travel.tests.helpers import admission, day, journey, leg, stay

pytestmark = pytest.mark.django_db


def _uids(body: bytes) -> dict[str, str]:
    return {str(e["uid"]): str(e["summary"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}


@pytest.mark.parametrize(
    "site_url, host",
    [
        ("https://navigator.example.org", "navigator.example.org"),
        ("https://Navigator.Example.org:8443/app/", "navigator.example.org"),
        ("http://127.0.0.1:8000", "127.0.0.1"),
        ("", "navigator"),
    ],
)
def test_one_host_form_without_scheme_port_or_path(site_url, host):
    with override_settings(SITE_URL=site_url):
        assert ics.event_uid(ics.MILESTONE, 7) == f"milestone-7@{host}"


@override_settings(SITE_URL="https://navigator.example.org:443")
def test_the_portal_the_milestone_feed_and_the_itinerary_agree_on_every_uid(world, client):
    event_record(
        case=world.case_a,
        kind="infusion",
        occurred_on=timezone.localdate() + dt.timedelta(days=10),
        actor=world.alice,
        hospital=world.pkuph,
    )
    j = journey(world.case_a, world.alice)
    d = day(5)
    flight = leg(
        j,
        world.alice,
        "SVO",
        "PEK",
        dt.datetime.combine(d, dt.time(19, 15)),
        dt.datetime.combine(d + dt.timedelta(days=1), dt.time(7, 45)),
        flight_number="SU204",
    )
    adm = admission(world.case_a, world.alice, world.pkuph, d + dt.timedelta(days=1))
    st = stay(world.case_a, world.alice, d + dt.timedelta(days=1), d + dt.timedelta(days=90))

    api = APIClient()
    api.force_authenticate(world.ivanova)
    feed = _uids(api.get(reverse("case-milestones-ics", args=[world.case_a.pk])).content)
    itinerary = _uids(api.get(f"/api/v1/travel/itineraries/{world.case_a.pk}/ics/").content)
    client.force_login(world.ivanova)
    portal = _uids(client.get(reverse("portal:calendar", args=[world.case_a.pk])).content)

    day28 = Milestone.objects.get(case=world.case_a, key="pathway:mrd_day28")
    assert f"milestone-{day28.pk}@navigator.example.org" in feed
    assert f"milestone-{day28.pk}@navigator.example.org" in portal
    for kind, row in ((ics.TRAVEL_LEG, flight), (ics.TRAVEL_ADMISSION, adm), (ics.TRAVEL_ACCOMMODATION, st)):
        uid = f"{kind}-{row.pk}@navigator.example.org"
        assert uid in itinerary, (uid, itinerary)
        assert uid in portal, (uid, portal)
    assert all(u.endswith("@navigator.example.org") for u in [*feed, *itinerary, *portal])
