"""Time passes: the daily re-assessment records a new assessment only for open cases whose result
the date changed (a first birthday, a CD19 result ageing past its validity window)."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django_celery_beat.models import PeriodicTask

from cases import workflow
from eligibility import rules
from eligibility.models import Assessment
from eligibility.selectors import latest_assessments
from eligibility.services import assessment_run, assessments_rerun_for_time, profile_update
from eligibility.tasks import assessments_rerun_daily

from .test_services import TODAY, ago, complete_profile

pytestmark = pytest.mark.django_db


def test_a_cd19_result_ageing_past_90_days_is_re_assessed_once_as_time_passed(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        complete_profile(world)
    assert latest_assessments(world.case_a)[0].criterion("cd19")["outcome"] == rules.MET
    before = Assessment.objects.filter(case=world.case_a).count()

    # Nothing changes tomorrow: no new row.
    assert assessments_rerun_for_time(today=TODAY + dt.timedelta(days=1)) == []
    assert Assessment.objects.filter(case=world.case_a).count() == before

    # The CD19 sample (29 days old today) passes 90 days in 62 days: re-test needed (ELIANA: within 3 months).
    later = TODAY + dt.timedelta(days=62)
    assert assessments_rerun_for_time(today=later) == [world.case_a.pk]
    latest = latest_assessments(world.case_a)[0]
    assert latest.trigger == Assessment.Trigger.TIME_PASSED and latest.assessed_on == later
    assert latest.criterion("cd19")["code"] == "cd19_stale"
    assert latest.run_by_label == "system: daily re-assessment"
    # Idempotent: the same day again changes nothing.
    assert assessments_rerun_for_time(today=later) == []


def test_a_first_birthday_turns_review_into_met(world, django_capture_on_commit_callbacks):
    world.patient_a.date_of_birth = TODAY - dt.timedelta(days=360)
    world.patient_a.save()
    with django_capture_on_commit_callbacks(execute=True):
        profile_update(case=world.case_a, actor=world.alice, diagnosis_lineage="b_all", diagnosis_date=ago(300))
    assert latest_assessments(world.case_a)[0].criterion("age")["outcome"] == rules.NEEDS_REVIEW
    birthday = world.patient_a.date_of_birth.replace(year=world.patient_a.date_of_birth.year + 1)
    assert assessments_rerun_for_time(today=birthday - dt.timedelta(days=1)) == []
    assert assessments_rerun_for_time(today=birthday) == [world.case_a.pk]
    assert latest_assessments(world.case_a)[0].criterion("age")["outcome"] == rules.MET


def test_closed_cases_and_cases_never_assessed_are_left_alone(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        complete_profile(world)
    assessment_run(case=world.case_a, actor=world.alice)
    type(world.case_a).objects.filter(pk=world.case_a.pk).update(status=workflow.CLOSED)
    assert assessments_rerun_for_time(today=TODAY + dt.timedelta(days=200)) == []
    assert assessments_rerun_daily() == 0


def test_the_daily_run_is_scheduled_in_celery_beat_by_a_migration():
    PeriodicTask.objects.filter(task="eligibility.assessments_rerun_daily").delete()
    migration = importlib.import_module("eligibility.migrations.0003_daily_reassessment_schedule")
    from django.apps import apps

    migration.forward(apps, None)
    task = PeriodicTask.objects.get(task="eligibility.assessments_rerun_daily")
    assert task.enabled and task.crontab.hour == "0"


def test_ago_is_relative_to_today():
    assert ago(0) == TODAY
