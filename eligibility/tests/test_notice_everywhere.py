"""README: "Every screen that shows an eligibility result says so" (the treating haematologist
decides, nothing is guaranteed). Walks every admin list and record page and the API, finds those
that show a verdict, and requires the notice on each."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin

from cases.workplace import TABS
from eligibility.models import VERDICT_CHOICES
from eligibility.services import assessment_run, family_summary_publish
from eligibility.summary import STAFF_NOTICE

pytestmark = pytest.mark.django_db
VERDICT_LABELS = [str(label) for _, label in VERDICT_CHOICES]


def shows_a_result(html: str) -> bool:
    # The list filters name every choice, results or not (a case status "Not eligible" too): not a result.
    html = re.sub(r'<nav id="changelist-filter".*?</nav>', "", html, flags=re.DOTALL)
    return any(re.search(rf">\s*{re.escape(label)}\s*<", html) for label in VERDICT_LABELS)


def admin_pages(request_user):
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        yield f"/admin/{info[0]}/{info[1]}/"
        fake = type("R", (), {"user": request_user, "GET": {}, "method": "GET"})()
        first = model_admin.get_queryset(fake).order_by("-pk").first()
        if first is not None:
            yield f"/admin/{info[0]}/{info[1]}/{first.pk}/change/"


def test_every_admin_page_that_shows_an_eligibility_result_carries_the_notice(client, world):
    assessments = assessment_run(case=world.case_a, actor=world.alice)
    family_summary_publish(assessment=assessments[0], language="en", actor=world.alice)
    client.force_login(world.sam)
    with_result = []
    case_page = f"/admin/cases/case/{world.case_a.pk}/change/"
    sections = [f"/admin/cases/case/{world.case_a.pk}/section/{key}/" for key, _title in TABS]
    for url in [*admin_pages(world.sam), case_page, f"{case_page}?open=eligibility", *sections]:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        if shows_a_result(html):
            with_result.append(url)
            assert STAFF_NOTICE in html, f"{url} shows an eligibility result without the notice"
    # The guard looked where results are: the assessments, the profile and the case page's eligibility
    # section, in the page and on its own.
    expected = {
        "/admin/eligibility/assessment/",
        f"/admin/eligibility/assessment/{assessments[-1].pk}/change/",
        "/admin/eligibility/clinicalprofile/",
        f"{case_page}?open=eligibility",
        f"/admin/cases/case/{world.case_a.pk}/section/eligibility/",
    }
    assert expected <= set(with_result), set(with_result)


def test_the_api_result_carries_the_notice(client, world):
    first = assessment_run(case=world.case_a, actor=world.alice)[0]
    client.force_login(world.alice)
    listed = client.get("/api/v1/eligibility-assessments/", {"case": world.case_a.pk})
    one = client.get(f"/api/v1/eligibility-assessments/{first.pk}/")
    assert listed.status_code == one.status_code == 200
    assert one.json()["disclaimer"] == STAFF_NOTICE
    assert all(row["disclaimer"] == STAFF_NOTICE for row in listed.json()["results"])
