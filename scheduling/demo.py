"""Treatment events and MRD results for the demo stories, so the pathway dates are derived."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from cases import workflow
from hospitals.models import Hospital

from .models import MRDResult, TreatmentEvent
from .services import event_record, mrd_result_record, transplant_decision_record

DONE, PLANNED = TreatmentEvent.Status.DONE, TreatmentEvent.Status.PLANNED
# Days from today of each event, by case status: negative is past (done), positive planned.
TIMELINES = {
    workflow.TRAVEL: {"apheresis": 12, "lymphodepletion": 30, "infusion": 35},
    # Day 28 fell due three days ago and no result is in: the caseload shows it overdue.
    workflow.TREATMENT: {"apheresis": -60, "lymphodepletion": -36, "infusion": -31},
    workflow.FOLLOW_UP: {"apheresis": -75, "lymphodepletion": -50, "infusion": -45},
    workflow.TRANSPLANT: {"apheresis": -110, "lymphodepletion": -85, "infusion": -80},
}


def seed_case(*, case, story, rng, actor) -> None:
    timeline = TIMELINES.get(case.status)
    if timeline is None:
        return
    today = timezone.localdate()
    centre = Hospital.objects.filter(code="pkuph").first()
    for kind, offset in timeline.items():
        event_record(
            case=case,
            kind=kind,
            occurred_on=today + dt.timedelta(days=offset),
            actor=actor,
            status=DONE if offset <= 0 else PLANNED,
            hospital=centre,
        )
    if story.ph_positive:
        event_record(
            case=case,
            kind="ph_positive",
            occurred_on=today - dt.timedelta(days=200),
            actor=actor,
            status=DONE,
            hospital=centre,
        )
    day0 = today + dt.timedelta(days=timeline["infusion"])
    if case.status in (workflow.FOLLOW_UP, workflow.TRANSPLANT):
        mrd_result_record(
            case=case,
            actor=actor,
            checkpoint=MRDResult.Checkpoint.DAY_28,
            sample_date=day0 + dt.timedelta(days=28),
            method=MRDResult.Method.FLOW,
            result=MRDResult.Result.NEGATIVE,
            complete_remission=True,
        )
    if case.status in (workflow.FOLLOW_UP, workflow.TRANSPLANT):
        transplant_decision_record(
            case=case, actor=actor, decision="planned", decided_on=min(today, day0 + dt.timedelta(days=35))
        )
    if case.status == workflow.TRANSPLANT:
        mrd_result_record(
            case=case,
            actor=actor,
            checkpoint=MRDResult.Checkpoint.DAY_60,
            sample_date=day0 + dt.timedelta(days=60),
            method=MRDResult.Method.PCR_5,
            result=MRDResult.Result.NEGATIVE,
            complete_remission=True,
        )
