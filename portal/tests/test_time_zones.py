"""Dates and times on portal pages are in the family member's own time zone."""

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse

from messaging.models import Message
from messaging.services import message_post
from scheduling.services import milestone_upsert

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def test_a_message_time_is_shown_in_the_familys_time_zone(client, world):
    # Chen lives in Asia/Shanghai (UTC+8): 02:30 UTC is 10:30 there.
    message = message_post(author=world.alice, case=world.case_b, kind="family", body="Hello")
    Message.objects.filter(pk=message.pk).update(created_at=dt.datetime(2026, 3, 1, 2, 30, tzinfo=UTC))
    client.force_login(world.chen)
    _english(client)
    html = client.get(reverse("portal:messages", args=[world.case_b.pk])).content.decode()
    assert 'datetime="2026-03-01T10:30:00+08:00"' in html
    assert "10:30" in html


def test_upcoming_dates_are_shown_in_the_familys_time_zone(client, world):
    due = dt.datetime.now(UTC).replace(microsecond=0, second=0, minute=15) + dt.timedelta(days=3)
    milestone_upsert(
        case=world.case_b, key="test:tz", kind="other", due_at=due, title="Clinic visit", concerns_family=True
    )
    client.force_login(world.chen)
    _english(client)
    html = client.get(reverse("portal:schedule", args=[world.case_b.pk])).content.decode()
    local = due.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert f'datetime="{local.isoformat()}"' in html
