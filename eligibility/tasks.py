"""Background work of eligibility: re-assessing the cases a centre is targeted by."""

from __future__ import annotations

from celery import shared_task

from cases import workflow
from cases.models import Case

from .models import Assessment


@shared_task(acks_late=True)
def centre_assessments_rerun(hospital_id: int) -> int:
    """Re-run the pre-screen of every active case targeting a centre whose criteria changed.

    Safe to run twice: ``assessment_run`` stores a new assessment only when its inputs changed.
    """
    from django.core.exceptions import ValidationError

    from .services import assessment_run

    done = 0
    for case in Case.objects.filter(target_centres=hospital_id, status__in=workflow.ACTIVE).iterator():
        try:
            assessment_run(
                case=case, actor="system: centre criteria changed", trigger=Assessment.Trigger.CENTRE_CRITERIA
            )
        except ValidationError:
            continue
        done += 1
    return done


@shared_task(name="eligibility.assessments_rerun_daily", acks_late=True, ignore_result=True)
def assessments_rerun_daily() -> int:
    """Every day: re-assess the open cases whose verdict the passing of time has changed
    (scheduled by django-celery-beat; see migration 0003). Idempotent: a second run the same day
    finds nothing changed."""
    from .services import assessments_rerun_for_time

    return len(assessments_rerun_for_time())
