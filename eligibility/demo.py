"""Clinical profiles for the demo stories, recorded through the services (so assessments run)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from cases import workflow

from .services import assessment_run, profile_record_fact, profile_update


def seed_case(*, case, story, rng, actor) -> None:
    if case.status in (workflow.INQUIRY,):
        return
    today = timezone.localdate()
    dob = case.patient.date_of_birth
    age_days = (today - dob).days
    diagnosis = dob + dt.timedelta(days=max(60, int(age_days * 0.6)))
    lineage = "t_all" if case.status == workflow.NOT_ELIGIBLE else "b_all"
    from documents.models import Document

    docs = {d.doc_type: d for d in Document.objects.filter(case=case)}
    profile_update(
        case=case,
        actor=actor,
        diagnosis_lineage=lineage,
        diagnosis_method="flow_cytometry",
        diagnosis_date=diagnosis,
        primary_refractory=story.prior_lines < 2,
        reported_prior_lines=story.prior_lines,
        prior_transplant=story.post_transplant,
        philadelphia_status="positive" if story.ph_positive else "negative",
        philadelphia_method="RT-PCR",
        philadelphia_date=diagnosis,
        current_tki="ponatinib" if story.ph_positive else "",
        diagnosis_source=docs.get("diagnosis_pathology"),
    )
    span = (today - diagnosis).days
    for line in range(story.prior_lines):
        start = diagnosis + dt.timedelta(days=int(span * line / (story.prior_lines + 1)))
        profile_record_fact(
            case=case,
            kind="therapy_lines",
            actor=actor,
            regimen=["AIEOP-BFM induction", "FLAG-Ida", "Blinatumomab"][line % 3],
            start=start,
            end=start + dt.timedelta(days=60),
            best_response="CR" if line == 0 else "PR",
            cd19_directed=line == 2,
        )
    relapse = today - dt.timedelta(days=45)
    if story.prior_lines >= 2:
        profile_record_fact(case=case, kind="relapses", actor=actor, date=relapse, site="marrow")
    if story.post_transplant:
        profile_record_fact(
            case=case,
            kind="transplants",
            actor=actor,
            date=relapse - dt.timedelta(days=240),
            donor_type="matched_sibling",
            on_immunosuppression=story.on_immunosuppression,
            active_gvhd=story.active_gvhd,
            source_document=docs.get("transplant_record"),
        )
    profile_record_fact(
        case=case,
        kind="cd19_results",
        actor=actor,
        status="positive",
        sample_type="bone_marrow",
        sample_date=relapse + dt.timedelta(days=3),
        method="flow_cytometry",
        source_document=docs.get("cd19_flow"),
    )
    profile_record_fact(
        case=case,
        kind="cns_assessments",
        actor=actor,
        status=story.cns.lower(),
        date=relapse + dt.timedelta(days=4),
        source_document=docs.get("csf_cns"),
    )
    profile_record_fact(
        case=case,
        kind="marrow",
        actor=actor,
        date=relapse + dt.timedelta(days=3),
        blasts_percent=rng.choice([12, 35, 68]),
        mrd="positive",
        mrd_level="0.2",
        mrd_method="flow_cytometry",
        mrd_sensitivity="0.0001",
        source_document=docs.get("bone_marrow"),
    )
    adult = age_days >= 18 * 365
    profile_record_fact(
        case=case,
        kind="fitness",
        actor=actor,
        scale="ecog" if adult else ("karnofsky" if age_days >= 16 * 365 else "lansky"),
        score=1 if adult else 80,
        date=today - dt.timedelta(days=5),
    )
    for test, value, unit, uln in (
        ("egfr", 96, "mL/min/{1.73_m2}", None),
        ("lvef", 61, "%", None),
        ("bilirubin", 9, "umol/L", 21),
        ("alt", 34, "U/L", 40),
        ("ast", 31, "U/L", 40),
        ("spo2", 98, "%", None),
    ):
        profile_record_fact(
            case=case,
            kind="organ_function",
            actor=actor,
            test=test,
            value=value,
            unit=unit,
            upper_limit_normal=uln,
            date=today - dt.timedelta(days=5),
        )
    profile_record_fact(
        case=case,
        kind="infections",
        actor=actor,
        description="Line-associated bacteraemia",
        status="resolved",
        date=today - dt.timedelta(days=40),
    )
    profile_update(case=case, actor=actor, infections_reviewed_on=today - dt.timedelta(days=5))
    assessment_run(case=case, actor=actor)
