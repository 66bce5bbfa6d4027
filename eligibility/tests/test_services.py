"""Editing the profile, running, overriding and comparing assessments, publishing summaries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from eligibility import rules
from eligibility.models import Assessment, Cd19Result, CentreCriteria, CriterionOverride, FamilySummary
from eligibility.selectors import latest_assessments
from eligibility.services import (
    assessment_diff,
    assessment_override,
    assessment_run,
    family_summary_publish,
    profile_delete_fact,
    profile_record_fact,
    profile_update,
    profile_update_fact,
)
from eligibility.summary import disclaimer
from navigator.errors import ConflictError, DomainError

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def complete_profile(world, case=None, *, cns="cns1"):
    """Record a complete, eligible profile for case A (a 9-year-old with relapsed CD19+ B-ALL)."""
    case = case or world.case_a
    a = world.alice
    profile_update(
        case=case,
        actor=a,
        diagnosis_lineage="b_all",
        diagnosis_method="flow_cytometry",
        diagnosis_date=ago(900),
        primary_refractory=False,
        prior_transplant=False,
        philadelphia_status="negative",
    )
    profile_record_fact(case=case, kind="therapy_lines", actor=a, regimen="AIEOP-BFM", start=ago(890), end=ago(400))
    profile_record_fact(case=case, kind="relapses", actor=a, date=ago(30))
    profile_record_fact(
        case=case,
        kind="cd19_results",
        actor=a,
        status="positive",
        sample_type="bone_marrow",
        sample_date=ago(29),
        method="flow_cytometry",
    )
    profile_record_fact(case=case, kind="cns_assessments", actor=a, status=cns, date=ago(29))
    record_fitness_organs_marrow(case, a)


def record_fitness_organs_marrow(case, actor, *, scale="lansky", score=90):
    """What the clinical review added: a second relapse, the current marrow, performance status,
    organ function and the infection check, all current and within the usual limits."""
    profile_update(case=case, actor=actor, infections_reviewed_on=ago(3))
    profile_record_fact(case=case, kind="relapses", actor=actor, date=ago(600))
    profile_record_fact(
        case=case,
        kind="marrow",
        actor=actor,
        date=ago(29),
        blasts_percent=42,
        mrd="positive",
        mrd_level="0.35",
        mrd_method="flow_cytometry",
        mrd_sensitivity="0.0001",
    )
    profile_record_fact(case=case, kind="fitness", actor=actor, scale=scale, score=score, date=ago(3))
    for test, value, unit, uln in (
        ("egfr", 110, "mL/min/{1.73_m2}", None),
        ("lvef", 62, "%", None),
        ("bilirubin", 8, "umol/L", 21),
        ("alt", 30, "U/L", 40),
        ("ast", 28, "U/L", 40),
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
            date=ago(3),
        )


def test_recording_a_cd19_result_keeps_its_source_document_and_reruns_the_prescreen_on_commit(
    world, make_document, django_capture_on_commit_callbacks
):
    report = make_document()
    with django_capture_on_commit_callbacks(execute=True):
        fact = profile_record_fact(
            case=world.case_a,
            kind="cd19_results",
            actor=world.alice,
            source_document=report,
            status="positive",
            sample_type="bone_marrow",
            sample_date=ago(10),
        )
    assert Cd19Result.objects.get(pk=fact.pk).source_document == report
    [base] = latest_assessments(world.case_a)
    assert base.criterion("cd19")["outcome"] == rules.MET
    assert base.trigger == Assessment.Trigger.PROFILE_CHANGE and base.run_by == world.alice
    assert base.profile_snapshot["cd19_results"][0]["source_document"] == report.pk
    assert base.verdict == rules.INCOMPLETE  # the rest is not recorded yet
    assert AuditEvent.objects.filter(object_type="eligibility.Cd19Result", action="create").exists()


def test_a_document_of_another_case_cannot_be_the_source(world, make_document):
    other = make_document(case=world.case_b)
    with pytest.raises(ValidationError) as exc:
        profile_record_fact(
            case=world.case_a,
            kind="cd19_results",
            actor=world.alice,
            source_document=other,
            status="positive",
            sample_type="bone_marrow",
            sample_date=ago(10),
        )
    assert "source_document" in exc.value.message_dict
    assert not Cd19Result.objects.exists()


@pytest.mark.parametrize(
    "kind, values, field",
    [
        (
            "cd19_results",
            {"status": "positive", "sample_type": "bone_marrow", "sample_date": TODAY + dt.timedelta(days=1)},
            "sample_date",
        ),
        ("transplants", {"date": TODAY - dt.timedelta(days=1000), "donor_type": "haploidentical"}, "date"),
        ("relapses", {"date": TODAY - dt.timedelta(days=1000)}, "date"),
        (
            "therapy_lines",
            {"regimen": "x", "start": TODAY - dt.timedelta(days=50), "end": TODAY - dt.timedelta(days=60)},
            "end",
        ),
        ("cns_assessments", {"status": "cns1", "date": TODAY - dt.timedelta(days=29)}, "status"),
        ("cd19_results", {"status": "maybe", "sample_type": "bone_marrow", "sample_date": TODAY}, "status"),
    ],
)
def test_contradictory_facts_are_refused_with_the_field_and_nothing_is_saved(
    world, kind, values, field, django_capture_on_commit_callbacks
):
    profile_update(case=world.case_a, actor=world.alice, diagnosis_date=ago(900))
    profile_record_fact(case=world.case_a, kind="cns_assessments", actor=world.alice, status="cns3", date=ago(29))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValidationError) as exc:
            profile_record_fact(case=world.case_a, kind=kind, actor=world.alice, **values)
    assert field in exc.value.message_dict, exc.value.message_dict
    assert callbacks == []
    from eligibility.models import FACT_MODELS

    expected = 1 if kind == "cns_assessments" else 0
    assert FACT_MODELS[kind].objects.count() == expected


def test_negative_line_count_and_a_diagnosis_after_a_relapse_are_refused(world):
    with pytest.raises(ValidationError) as exc:
        profile_update(case=world.case_a, actor=world.alice, reported_prior_lines=-1)
    assert "reported_prior_lines" in exc.value.message_dict
    profile_record_fact(case=world.case_a, kind="relapses", actor=world.alice, date=ago(30))
    with pytest.raises(ValidationError) as exc:
        profile_update(case=world.case_a, actor=world.alice, diagnosis_date=ago(10))
    assert "before the diagnosis" in exc.value.message_dict["diagnosis_date"][0]


def test_assessments_are_never_overwritten_and_an_unchanged_profile_gives_no_new_row(world):
    complete_profile(world)
    [first] = assessment_run(case=world.case_a, actor=world.alice)
    assert first.verdict == rules.LIKELY_ELIGIBLE
    [again] = assessment_run(case=world.case_a, actor=world.bob)
    assert again.pk == first.pk
    with pytest.raises(PermissionError):
        first.save()
    with pytest.raises(PermissionError):
        Assessment.objects.filter(pk=first.pk).update(verdict="not_eligible")


def test_any_profile_change_reruns_and_keeps_the_history(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        complete_profile(world)
    before = Assessment.objects.filter(case=world.case_a).count()
    fact = Cd19Result.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        profile_update_fact(fact=fact, actor=world.bob, status="negative")
    latest = latest_assessments(world.case_a)[0]
    assert latest.verdict == rules.NOT_ELIGIBLE and latest.run_by == world.bob
    assert Assessment.objects.filter(case=world.case_a).count() == before + 1
    with django_capture_on_commit_callbacks(execute=True):
        profile_delete_fact(fact=fact, actor=world.bob)
    assert latest_assessments(world.case_a)[0].criterion("cd19")["outcome"] == rules.MISSING


def test_each_target_centre_is_assessed_with_its_own_variations(world):
    CentreCriteria.objects.create(hospital=world.pkuph, cns2_policy="accept")
    CentreCriteria.objects.create(hospital=world.ruijin, cns2_policy="exclude", min_prior_lines=2)
    world.case_a.target_centres.set([world.pkuph, world.ruijin])
    complete_profile(world, cns="cns2")
    runs = {a.centre_id: a for a in assessment_run(case=world.case_a, actor=world.alice)}
    assert runs[None].verdict == rules.NEEDS_SPECIALIST_REVIEW
    assert runs[world.pkuph.pk].verdict == rules.LIKELY_ELIGIBLE
    assert runs[world.ruijin.pk].verdict == rules.NOT_ELIGIBLE
    assert runs[world.ruijin.pk].criterion("disease_status")["outcome"] == rules.NOT_MET
    assert {n["code"] for n in runs[world.pkuph.pk].notes} >= {"cns2_intrathecal"}
    assert [a.centre_id for a in latest_assessments(world.case_a)] == [None, world.pkuph.pk, world.ruijin.pk]


def test_age_is_derived_from_the_patients_date_of_birth_at_the_assessment_date(world):
    world.patient_a.date_of_birth = TODAY.replace(year=TODAY.year - 1) + dt.timedelta(days=1)
    world.patient_a.save()
    [a] = assessment_run(case=world.case_a, actor=world.alice)
    assert a.criterion("age")["outcome"] == rules.NEEDS_REVIEW
    assert a.profile_snapshot["assessed_on"] == TODAY.isoformat()


def test_an_override_is_kept_shown_and_recomputes_the_verdict(world):
    complete_profile(world, cns="cns2")
    [base] = assessment_run(case=world.case_a, actor=world.alice)
    assert base.verdict == rules.NEEDS_SPECIALIST_REVIEW
    new = assessment_override(
        assessment=base,
        criterion="cns",
        outcome=rules.MET,
        reason="PKUPH confirmed CNS2 is accepted with IT prophylaxis",
        actor=world.alice,
    )
    assert new.pk != base.pk and new.overridden
    assert new.verdict == rules.LIKELY_ELIGIBLE
    assert new.criterion("cns")["override"] == {
        "from": rules.NEEDS_REVIEW,
        "reason": "PKUPH confirmed CNS2 is accepted with IT prophylaxis",
        "by": "alice",
    }
    assert Assessment.objects.get(pk=base.pk).verdict == rules.NEEDS_SPECIALIST_REVIEW  # the old one stands
    # an older assessment can no longer be overridden
    with pytest.raises(ConflictError):
        assessment_override(
            assessment=base, criterion="age", outcome=rules.MET, reason="a long enough reason", actor=world.alice
        )
    # later runs keep the override while the data it was about stands
    profile_record_fact(case=world.case_a, kind="fitness", actor=world.alice, scale="lansky", score=90, date=ago(3))
    [later] = assessment_run(case=world.case_a, actor=world.alice)
    assert later.verdict == rules.LIKELY_ELIGIBLE and later.criterion("cns")["override"]


def test_an_override_lapses_when_the_data_under_it_changes(world):
    complete_profile(world, cns="cns2")
    [base] = assessment_run(case=world.case_a, actor=world.alice)
    assessment_override(
        assessment=base, criterion="cns", outcome=rules.MET, reason="centre accepts CNS2 here", actor=world.alice
    )
    profile_record_fact(case=world.case_a, kind="cns_assessments", actor=world.alice, status="cns3", date=ago(1))
    [latest] = assessment_run(case=world.case_a, actor=world.alice)
    assert latest.criterion("cns")["outcome"] == rules.NOT_MET and latest.criterion("cns")["override"] is None
    assert CriterionOverride.objects.get().lapsed_at is not None


@pytest.mark.parametrize("reason, field", [("", "reason"), ("too short", "reason")])
def test_an_override_needs_a_reason(world, reason, field):
    [base] = assessment_run(case=world.case_a, actor=world.alice)
    with pytest.raises(DomainError) as exc:
        assessment_override(assessment=base, criterion="cns", outcome=rules.MET, reason=reason, actor=world.alice)
    assert exc.value.field == field


def test_the_diff_names_changed_criteria_and_profile_fields(world):
    complete_profile(world)
    [first] = assessment_run(case=world.case_a, actor=world.alice)
    profile_update_fact(fact=Cd19Result.objects.get(), actor=world.alice, status="negative")
    [second] = assessment_run(case=world.case_a, actor=world.alice)
    diff = assessment_diff(first, second)
    assert [c["criterion"] for c in diff["criteria"]] == ["cd19"]
    assert diff["criteria"][0]["from"] == rules.MET and diff["criteria"][0]["to"] == rules.NOT_MET
    assert [p["field"] for p in diff["profile"]] == [f"cd19_results#{Cd19Result.objects.get().pk}.status"]
    assert {"field": "verdict", "from": rules.LIKELY_ELIGIBLE, "to": rules.NOT_ELIGIBLE} in diff["assessment"]


@pytest.mark.parametrize("language, marker", [("en", "treating haematologist"), ("zh-hans", "主治血液科医生")])
def test_a_published_summary_always_says_the_haematologist_decides(world, language, marker):
    complete_profile(world)
    [base] = assessment_run(case=world.case_a, actor=world.alice)
    first = family_summary_publish(
        assessment=base, language=language, actor=world.alice, text="Edited text without it."
    )
    assert marker in first.text and disclaimer(language) in first.text
    second = family_summary_publish(assessment=base, language=language, actor=world.alice)
    first.refresh_from_db()
    assert first.withdrawn_at is not None
    assert list(FamilySummary.objects.published()) == [second]
    assert second.published_by == world.alice and second.published_at


def test_the_chinese_summary_is_in_chinese(world):
    [base] = assessment_run(case=world.case_a, actor=world.alice)
    summary = family_summary_publish(assessment=base, language="zh-hans", actor=world.alice)
    assert "还需要" in summary.text  # "what we still need"
    assert "we still need" not in summary.text
