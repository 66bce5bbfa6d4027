"""The coordinator's admin: the profile with inlines refuses contradictions as form errors,
saves re-run the pre-screen, assessments show history and what changed, overrides are kept."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.factories import CaseFactory
from eligibility.models import Assessment, CentreCriteria, CnsAssessment, CriterionOverride
from eligibility.services import assessment_run, profile_for, profile_record_fact, profile_update
from eligibility.tasks import centre_assessments_rerun

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def ago(days):
    return (TODAY - dt.timedelta(days=days)).isoformat()


def inline_management(prefix, total=0, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def profile_post(profile, **extra):
    data = {
        "case": profile.case_id,
        "diagnosis_lineage": "b_all",
        "diagnosis_method": "flow_cytometry",
        "diagnosis_date": ago(500),
        "primary_refractory": "unknown",
        "prior_transplant": "unknown",
        "philadelphia_status": "negative",
    }
    for prefix in (
        "cd19result_set",
        "relapse_set",
        "therapyline_set",
        "transplant_set",
        "cnsassessment_set",
        "fitnessassessment_set",
        "organfunctionresult_set",
        "infection_set",
        "marrowassessment_set",
        "bodymeasurement_set",
        "serologyresult_set",
        "lymphocytecount_set",
    ):
        data.update(inline_management(prefix))
    data.update(extra)
    return data


def test_cns3_and_cns1_on_the_same_date_in_the_admin_are_a_form_error_and_nothing_is_saved(client, world):
    client.force_login(world.alice)
    profile = profile_for(world.case_a)
    data = profile_post(
        profile,
        **inline_management("cnsassessment_set", total=2),
        **{
            "cnsassessment_set-0-status": "cns3",
            "cnsassessment_set-0-date": ago(3),
            "cnsassessment_set-1-status": "cns1",
            "cnsassessment_set-1-date": ago(3),
        },
    )
    r = client.post(f"/admin/eligibility/clinicalprofile/{profile.pk}/change/", data)
    assert r.status_code == 200
    assert "one CSF result per date" in r.content.decode()
    assert not CnsAssessment.objects.exists()
    profile.refresh_from_db()
    assert profile.diagnosis_lineage == "unknown"


def test_a_valid_admin_save_reruns_the_prescreen_on_commit(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.alice)
    profile = profile_for(world.case_a)
    data = profile_post(
        profile,
        **inline_management("cnsassessment_set", total=1),
        **{"cnsassessment_set-0-status": "cns2", "cnsassessment_set-0-date": ago(3)},
    )
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/admin/eligibility/clinicalprofile/{profile.pk}/change/", data)
    assert r.status_code == 302, r.content.decode()[:3000]
    latest = Assessment.objects.filter(case=world.case_a).latest("id")
    assert latest.criterion("cns")["outcome"] == "needs_review"
    assert latest.run_by == world.alice


def test_the_assessment_page_shows_what_changed_and_takes_an_override(client, world):
    client.force_login(world.alice)
    profile_record_fact(case=world.case_a, kind="cns_assessments", actor=world.alice, status="cns1", date=TODAY)
    [first] = assessment_run(case=world.case_a, actor=world.alice)
    profile_update(case=world.case_a, actor=world.alice, philadelphia_status="positive", current_tki="ponatinib")
    [second] = assessment_run(case=world.case_a, actor=world.alice)
    page = client.get(f"/admin/eligibility/assessment/{second.pk}/change/").content.decode()
    assert "philadelphia_status" in page and "What changed" in page
    assert "TKI" in page  # the Ph+ note
    r = client.post(
        f"/admin/eligibility/assessment/{second.pk}/change/",
        {
            "override-criterion": "philadelphia",
            "override-outcome": "needs_review",
            "override-reason": "Check ABL1 kinase mutations first",
        },
    )
    assert r.status_code == 302
    assert CriterionOverride.objects.get().reason == "Check ABL1 kinase mutations first"
    latest = Assessment.objects.latest("id")
    assert latest.criterion("philadelphia")["override"]["from"] == "met"
    assert latest.criterion("philadelphia")["outcome"] == "needs_review"
    assert first.verdict == "incomplete"


def test_the_case_history_is_listed_with_a_constant_number_of_queries(client, world):
    client.force_login(world.alice)

    def fill(n):
        for _ in range(n):
            assessment_run(case=CaseFactory(patient=world.patient_a), actor=world.alice)

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    fill(2)
    count("/admin/eligibility/assessment/")  # the first page also works out the sidebar's list (then kept)
    a, p = count("/admin/eligibility/assessment/"), count("/admin/eligibility/clinicalprofile/")
    fill(20)
    assert count("/admin/eligibility/assessment/") == a
    assert count("/admin/eligibility/clinicalprofile/") == p


def test_changing_a_centres_criteria_reassesses_the_cases_that_target_it(world):
    world.case_a.target_centres.set([world.pkuph])
    profile_record_fact(case=world.case_a, kind="cns_assessments", actor=world.alice, status="cns2", date=TODAY)
    assessment_run(case=world.case_a, actor=world.alice)
    CentreCriteria.objects.create(hospital=world.pkuph, cns2_policy="exclude")
    assert centre_assessments_rerun(world.pkuph.pk) == 1
    latest = Assessment.objects.filter(case=world.case_a, centre=world.pkuph).latest("id")
    assert latest.verdict == "not_eligible" and latest.trigger == "centre_criteria"
    before = Assessment.objects.count()
    centre_assessments_rerun(world.pkuph.pk)  # twice: nothing new
    assert Assessment.objects.count() == before
