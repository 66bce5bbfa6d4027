"""The pre-screen re-runs when data it reads changes in the cases app (date of birth, target centres)."""

from __future__ import annotations

import datetime as dt

import pytest

from eligibility import rules
from eligibility.models import Assessment
from eligibility.selectors import latest_assessments

from .test_services import TODAY, complete_profile

pytestmark = pytest.mark.django_db


def test_correcting_the_date_of_birth_reruns_the_prescreen(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        complete_profile(world)
    assert latest_assessments(world.case_a)[0].criterion("age")["outcome"] == rules.MET

    with django_capture_on_commit_callbacks(execute=True):
        world.patient_a.date_of_birth = TODAY.replace(year=TODAY.year - 65, day=1)  # 65, not 9: fitness decides
        world.patient_a.save()

    latest = latest_assessments(world.case_a)[0]
    assert latest.criterion("age")["outcome"] == rules.MET  # no upper age limit
    # The child's Lansky score does not fit an adult of 65: an ECOG or Karnofsky score is needed.
    assert latest.criterion("fitness")["outcome"] == rules.MISSING
    assert latest.trigger == Assessment.Trigger.PROFILE_CHANGE
    assert latest.verdict == rules.INCOMPLETE


def test_saving_the_patient_without_a_change_adds_no_assessment(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        complete_profile(world)
    before = Assessment.objects.filter(case=world.case_a).count()
    with django_capture_on_commit_callbacks(execute=True):
        world.patient_a.save()
    assert Assessment.objects.filter(case=world.case_a).count() == before


def test_a_case_without_eligibility_work_gets_no_assessment_from_a_patient_edit(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        world.patient_b.date_of_birth = TODAY - dt.timedelta(days=4000)
        world.patient_b.save()
    assert not Assessment.objects.filter(case=world.case_b).exists()


def test_adding_and_removing_a_target_centre_assesses_the_case_against_it(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        complete_profile(world)
    with django_capture_on_commit_callbacks(execute=True):
        world.case_a.target_centres.add(world.ruijin)
    latest = latest_assessments(world.case_a)
    assert [a.centre_id for a in latest] == [None, world.ruijin.pk]
    assert latest[1].trigger == Assessment.Trigger.TARGET_CENTRES

    # From the centre's side too (hospital.target_cases).
    with django_capture_on_commit_callbacks(execute=True):
        world.pkuph.target_cases.add(world.case_a)
    assert [a.centre_id for a in latest_assessments(world.case_a)] == [None, world.pkuph.pk, world.ruijin.pk]

    # A centre taken off the list is no longer among the latest results; its history stays.
    with django_capture_on_commit_callbacks(execute=True):
        world.case_a.target_centres.remove(world.ruijin)
    assert [a.centre_id for a in latest_assessments(world.case_a)] == [None, world.pkuph.pk]
    assert Assessment.objects.filter(case=world.case_a, centre=world.ruijin).exists()
