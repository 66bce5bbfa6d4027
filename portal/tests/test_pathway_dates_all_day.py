"""Pathway dates are all-day dates on the treating centre's calendar wherever a family sees them:
the portal pages, the portal's .ics and the API feed, for families from UTC-10 to UTC+14. The
post-infusion stay is a period, "until at least" its last day."""

import datetime as dt

import icalendar
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from rest_framework.test import APIClient

from scheduling.models import Milestone
from scheduling.services import event_record

pytestmark = pytest.mark.django_db

ZONES = ["Pacific/Honolulu", "America/Sao_Paulo", "UTC", "Asia/Shanghai", "Pacific/Kiritimati"]  # -10 ... +14


def _events(body: bytes) -> dict[str, icalendar.Event]:
    return {str(e["uid"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}


@pytest.mark.parametrize("zone", ZONES)
def test_the_day_28_marrow_is_the_same_calendar_day_in_every_zone(client, world, zone):
    infusion = timezone.localdate() + dt.timedelta(days=3)
    event_record(case=world.case_a, kind="infusion", occurred_on=infusion, actor=world.alice, hospital=world.pkuph)
    day28 = infusion + dt.timedelta(days=28)
    world.ivanova.time_zone = zone
    world.ivanova.save()
    client.force_login(world.ivanova)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    html = client.get(reverse("portal:schedule", args=[world.case_a.pk])).content.decode()
    assert f'<time datetime="{day28.isoformat()}">' in html
    with translation.override("en"):
        shown = date_format(day28, "DATE_FORMAT")
    assert f"Stay near the treating centre until at least {shown}" in html

    m28 = Milestone.objects.get(case=world.case_a, key="pathway:mrd_day28")
    stay = Milestone.objects.get(case=world.case_a, key="pathway:stay_near_centre")
    portal = _events(client.get(reverse("portal:calendar", args=[world.case_a.pk])).content)
    api = APIClient()
    api.force_authenticate(world.ivanova)
    feed = _events(api.get(reverse("case-milestones-ics", args=[world.case_a.pk])).content)
    for events in (portal, feed):
        e28 = next(e for uid, e in events.items() if uid.startswith(f"milestone-{m28.pk}@"))
        assert e28["dtstart"].dt == day28 and not isinstance(e28["dtstart"].dt, dt.datetime)
        assert e28["dtend"].dt == day28 + dt.timedelta(days=1)
        # The stay is a period from the infusion until at least day 28 (DTEND is exclusive).
        es = next(e for uid, e in events.items() if uid.startswith(f"milestone-{stay.pk}@"))
        assert es["dtstart"].dt == infusion and es["dtend"].dt == day28 + dt.timedelta(days=1)


def test_a_coordinators_own_appointment_keeps_its_time(client, world):
    from scheduling.services import milestone_upsert

    due = dt.datetime.now(dt.UTC).replace(microsecond=0, second=0, minute=15) + dt.timedelta(days=3)
    milestone_upsert(
        case=world.case_b, key="test:tz", kind="other", due_at=due, title="Clinic visit", concerns_family=True
    )
    client.force_login(world.chen)
    html = client.get(reverse("portal:schedule", args=[world.case_b.pk])).content.decode()
    local = due.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert f'datetime="{local.isoformat()}"' in html


def test_the_transplant_target_reads_as_a_planning_target_worded_for_a_child_or_an_adult(client, world):
    from scheduling.services import mrd_result_record, transplant_decision_record

    infusion = timezone.localdate() - dt.timedelta(days=30)
    event_record(case=world.case_a, kind="infusion", occurred_on=infusion, actor=world.alice, status="done")
    mrd_result_record(
        case=world.case_a,
        actor=world.alice,
        checkpoint="day28",
        sample_date=infusion + dt.timedelta(days=28),
        method="flow",
        result="negative",
        complete_remission=True,
    )
    client.force_login(world.ivanova)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("portal:schedule", args=[world.case_a.pk])).content.decode()
    assert "Aim to transplant" not in html  # no MDT decision yet: no transplant date shown
    transplant_decision_record(case=world.case_a, actor=world.alice, decision="planned")
    html = client.get(reverse("portal:schedule", args=[world.case_a.pk])).content.decode()
    child = world.case_a.patient.age() < 18
    assert "(planning target)" in html
    assert ("for your child" in html) == child and ("For adults" in html) == (not child)
