"""The pre-screen run from the case page, and the family summary published and withdrawn from the
assessment page through the services (audited)."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEvent
from eligibility.models import Assessment, FamilySummary

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(world):
    client = Client()
    client.force_login(world.alice)
    return client


def test_the_pre_screen_runs_from_the_case_page(world, coordinator):
    page = coordinator.get(f"/admin/cases/case/{world.case_a.pk}/change/").content.decode()
    url = f"/admin/eligibility/assessment/run/{world.case_a.pk}/"
    assert f'action="{url}"' in page
    response = coordinator.post(url, follow=True)
    assert response.redirect_chain[-1][0].endswith(
        f"/cases/case/{world.case_a.pk}/change/?open=eligibility#tab-eligibility"
    )
    assert "Pre-screen run for" in response.content.decode()
    assert 'id="tab-eligibility" data-section-url' in response.content.decode()
    assert "data-loaded open" in response.content.decode().split('id="tab-eligibility"')[1].split(">")[0]
    assert Assessment.objects.filter(case=world.case_a, run_by=world.alice, trigger="manual").exists()


def test_a_family_member_cannot_run_the_pre_screen(world):
    family = Client()
    family.force_login(world.ivanova)
    family.post(f"/admin/eligibility/assessment/run/{world.case_a.pk}/")
    assert not Assessment.objects.filter(case=world.case_a).exists()


def test_the_summary_is_published_and_withdrawn_from_the_assessment_page(world, coordinator):
    coordinator.post(f"/admin/eligibility/assessment/run/{world.case_a.pk}/")
    base = Assessment.objects.get(case=world.case_a, centre=None)
    url = f"/admin/eligibility/assessment/{base.pk}/change/"
    page = coordinator.get(url).content.decode()
    assert 'name="_publish_summary"' in page
    coordinator.post(url, {"_publish_summary": "1", "summary_language": "ru"})
    summary = FamilySummary.objects.published().get(case=world.case_a)
    assert summary.language == "ru" and summary.published_by == world.alice
    assert AuditEvent.objects.filter(action="send", object_id=str(summary.pk), actor=world.alice).exists()
    page = coordinator.get(url).content.decode()
    assert 'name="_withdraw_summary"' in page
    coordinator.post(f"{url}?summary={summary.pk}", {"_withdraw_summary": "1"})
    assert not FamilySummary.objects.published().filter(case=world.case_a).exists()
    summary.refresh_from_db()
    assert summary.withdrawn_at is not None
    assert AuditEvent.objects.filter(action="update", object_id=str(summary.pk), detail__withdrawn=True).exists()


def test_publishing_in_an_unknown_language_is_refused_with_a_message(world, coordinator):
    coordinator.post(f"/admin/eligibility/assessment/run/{world.case_a.pk}/")
    base = Assessment.objects.get(case=world.case_a, centre=None)
    url = f"/admin/eligibility/assessment/{base.pk}/change/"
    response = coordinator.post(url, {"_publish_summary": "1", "summary_language": "xx"}, follow=True)
    assert "Choose a language" in response.content.decode()
    assert not FamilySummary.objects.filter(case=world.case_a).exists()
