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
    seed_screening(case=case, story=story, actor=actor, age_days=age_days, docs=docs)
    assessment_run(case=case, actor=actor)


def demo_body_measurements(age_days: int) -> tuple[str, str]:
    """A plausible height (cm) and weight (kg) for the age, to one decimal: a child grows about
    6 cm a year from 75 cm at one year; body mass index 16 in children, 22 in adults."""
    years = age_days / 365.25
    height = min(75 + 6 * max(years - 1, 0), 172.0)
    bmi = 22.0 if years >= 18 else 16.0
    return f"{height:.1f}", f"{bmi * (height / 100) ** 2:.1f}"


def seed_screening(*, case, story, actor, age_days: int, docs: dict) -> None:
    """Weight and height, the infection screening before apheresis and the lymphocyte counts,
    consistent with the story: CMV IgG positive after a transplant or in an adult (as most are),
    every other screening test negative, an absolute lymphocyte count and CD3+ count that allow
    an apheresis."""
    today = timezone.localdate()
    height, weight = demo_body_measurements(age_days)
    profile_record_fact(
        case=case,
        kind="body_measurements",
        actor=actor,
        date=today - dt.timedelta(days=5),
        weight_kg=weight,
        height_cm=height,
    )
    cmv_positive = story.post_transplant or age_days >= 18 * 365
    serology = docs.get("infection_serology")
    for test in ("hbsag", "anti_hbc", "anti_hcv", "hiv_ag_ab", "cmv_igg", "ebv_vca_igg", "syphilis_treponemal"):
        profile_record_fact(
            case=case,
            kind="serology",
            actor=actor,
            test=test,
            result="positive" if test == "ebv_vca_igg" or (test == "cmv_igg" and cmv_positive) else "negative",
            date=today - dt.timedelta(days=12),
            source_document=serology,
        )
    profile_record_fact(
        case=case,
        kind="lymphocyte_counts",
        actor=actor,
        date=today - dt.timedelta(days=5),
        absolute_lymphocytes="0.9",
        cd3_per_ul=520,
        source_document=docs.get("blood_counts"),
    )
