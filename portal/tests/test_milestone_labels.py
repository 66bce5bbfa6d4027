"""Dates on the family's pages read in the family's language, not the coordinators' English titles."""

import datetime as dt

import icalendar
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from documents.services import document_request_create
from portal.copy import DOC_TYPE_LABELS
from scheduling.services import milestone_upsert

pytestmark = pytest.mark.django_db


def _request_and_pathway_dates(world):
    document_request_create(
        case=world.case_b,
        doc_type="cd19_flow",
        description="The latest CD19 flow report",
        due_date=timezone.localdate() + dt.timedelta(days=5),
        actor=world.bob,
    )
    milestone_upsert(
        case=world.case_b,
        key="pathway:mrd_day28",
        kind="mrd_day28",
        due_at=timezone.now() + dt.timedelta(days=9),
        title="Day-28 MRD: bone marrow aspirate at PKUPH",
        concerns_family=True,
    )


@pytest.mark.parametrize("name", ["case", "schedule"])
def test_a_chinese_page_shows_dates_in_chinese(client, world, name):
    _request_and_pathway_dates(world)
    client.force_login(world.chen)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = client.get(reverse(f"portal:{name}", args=[world.case_b.pk])).content.decode()
    assert "Records due" not in html and "bone marrow aspirate" not in html
    with translation.override("zh-hans"):
        record = str(DOC_TYPE_LABELS["cd19_flow"])
    assert f"资料提交截止：{record}" in html
    if name == "schedule":
        assert "第28天 MRD 评估" in html


def test_the_calendar_file_names_the_dates_in_the_familys_language(client, world):
    _request_and_pathway_dates(world)
    client.force_login(world.chen)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    body = client.get(reverse("portal:calendar", args=[world.case_b.pk])).content
    summaries = [str(e.get("summary")) for e in icalendar.Calendar.from_ical(body).walk("VEVENT")]
    assert "تقييم المرض المتبقي في اليوم 28" in summaries
    assert any(s.startswith("موعد إرسال السجل: ") for s in summaries), summaries
