"""The rows added from the clinical review (issue: fitness and organ function for every age, disease as
it is now, CD19 and CNS recency, conflicts, centre variations), row by row as in the guide's table, with
the trial criterion in the test name wherever it sets the threshold; and the properties every verdict
keeps: a worse fact never improves it, and the order facts were entered never changes it."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eligibility import rules
from eligibility.rules import (
    MET,
    MISSING,
    NEEDS_REVIEW,
    NOT_MET,
    Cd19Result,
    CnsAssessment,
    Fitness,
    Infection,
    Relapse,
    RuleVariation,
    TherapyLine,
)
from eligibility.tests.test_rules import ACTIVE_MARROW, TODAY, D, eligible_profile, organs, outcome

ADULT = D(1980, 1, 1)  # 45 on TODAY
TEEN = D(2008, 1, 1)  # 17


# --- fitness, for every age ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "dob, scale, score, expected",
    [
        pytest.param(ADULT, "ecog", 0, MET, id="ZUMA3-ECOG-0"),
        pytest.param(ADULT, "ecog", 1, MET, id="ZUMA3-ECOG-1"),
        pytest.param(ADULT, "ecog", 2, NEEDS_REVIEW, id="ZUMA3-ECOG-2-review"),
        pytest.param(ADULT, "ecog", 3, NOT_MET, id="ECOG-3"),
        pytest.param(ADULT, "ecog", 4, NOT_MET, id="ECOG-4-adult-of-45-not-likely-eligible"),
        pytest.param(ADULT, "karnofsky", 70, MET, id="Karnofsky-70"),
        pytest.param(ADULT, "karnofsky", 50, NEEDS_REVIEW, id="ELIANA-Karnofsky-50-minimum"),
        pytest.param(ADULT, "karnofsky", 40, NOT_MET, id="ELIANA-Karnofsky-below-50"),
        pytest.param(TEEN, "karnofsky", 80, MET, id="ELIANA-Karnofsky-from-16"),
        pytest.param(TEEN, "ecog", 0, MISSING, id="ECOG-is-an-adult-scale"),
        pytest.param(TEEN, "lansky", 80, MISSING, id="ELIANA-Lansky-only-under-16"),
        pytest.param(D(2016, 3, 1), "lansky", 60, NEEDS_REVIEW, id="ELIANA-Lansky-60-child"),
        pytest.param(D(2016, 3, 1), "lansky", 40, NOT_MET, id="ELIANA-Lansky-below-50-child"),
        pytest.param(D(2016, 3, 1), "karnofsky", 90, MISSING, id="ELIANA-Karnofsky-not-under-16"),
        pytest.param(D(1950, 1, 1), "ecog", 0, MET, id="guide-no-upper-age-limit-fit-75"),
        pytest.param(D(1950, 1, 1), "ecog", 3, NOT_MET, id="guide-fitness-decides-75"),
    ],
)
def test_fitness_row(dob, scale, score, expected):
    p = eligible_profile(date_of_birth=dob, fitness=(Fitness(scale, score, D(2025, 6, 1)),))
    assert outcome(p, "fitness") == expected


def test_an_ecog_4_adult_of_45_is_not_eligible_and_the_blocker_can_change():
    result = rules.evaluate(eligible_profile(date_of_birth=ADULT, fitness=(Fitness("ecog", 4, D(2025, 6, 1)),)))
    assert result.verdict == rules.NOT_ELIGIBLE
    fitness = result.criterion("fitness")
    assert fitness.code == "fitness_poor" and fitness.facts[0]["kind"] == "fitness"


def test_a_fitness_score_older_than_the_validity_window_needs_a_new_one():
    old = eligible_profile(fitness=(Fitness("lansky", 90, D(2025, 5, 15)),))  # 31 days
    assert outcome(old, "fitness") == MISSING
    assert outcome(eligible_profile(fitness=(Fitness("lansky", 90, D(2025, 5, 16)),)), "fitness") == MET


def test_a_centre_that_accepts_ecog_2_overrides_one_threshold():
    p = eligible_profile(date_of_birth=ADULT, fitness=(Fitness("ecog", 2, D(2025, 6, 1)),))
    accepts = RuleVariation(centre="C", thresholds=rules.thresholds_with({"ecog_met_max": 2}))
    assert outcome(p, "fitness") == NEEDS_REVIEW
    assert outcome(p, "fitness", accepts) == MET
    with pytest.raises(ValueError):
        rules.thresholds_with({"ecog_limit": 2})
    with pytest.raises(ValueError):
        rules.thresholds_with({"ecog_met_max": 1.5})


# --- organ function -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, expected",
    [
        pytest.param({}, MET, id="all-normal"),
        pytest.param({"egfr": 60}, MET, id="ZUMA3-creatinine-clearance-60"),
        pytest.param({"egfr": 59}, NOT_MET, id="ZUMA3-creatinine-clearance-below-60"),
        pytest.param({"lvef": 45}, MET, id="ELIANA-ejection-fraction-45"),
        pytest.param({"lvef": 44}, NOT_MET, id="ELIANA-ejection-fraction-below-45"),
        pytest.param({"bilirubin": 41}, MET, id="ELIANA-bilirubin-below-2xULN"),
        pytest.param({"bilirubin": 42}, NOT_MET, id="ELIANA-bilirubin-2xULN"),
        pytest.param({"alt": 200}, MET, id="ELIANA-ALT-5xULN"),
        pytest.param({"alt": 201}, NOT_MET, id="ELIANA-ALT-above-5xULN"),
        pytest.param({"ast": 201}, NOT_MET, id="ELIANA-AST-above-5xULN"),
        pytest.param({"spo2": 92}, MET, id="ELIANA-SpO2-above-91"),
        pytest.param({"spo2": 91}, NOT_MET, id="ELIANA-SpO2-91"),
    ],
)
def test_organ_function_row(values, expected):
    assert outcome(eligible_profile(organ_function=organs(**values)), "organ_function") == expected


def test_missing_or_old_organ_values_are_missing_and_named():
    panel = tuple(o for o in organs() if o.test != "lvef")
    result = rules.evaluate(eligible_profile(organ_function=panel)).criterion("organ_function")
    assert result.outcome == MISSING and "LVEF" in result.explanation
    old = rules.evaluate(eligible_profile(organ_function=organs(on=D(2025, 5, 1)))).criterion("organ_function")
    assert old.outcome == MISSING and "current" in old.explanation


def test_creatinine_clearance_counts_as_renal_function_like_egfr():
    panel = tuple(o for o in organs() if o.test != "egfr") + (
        rules.OrganFunction("creatinine_clearance", 75, "mL/min", D(2025, 6, 1)),
    )
    assert outcome(eligible_profile(organ_function=panel), "organ_function") == MET


def test_an_organ_value_in_the_wrong_ucum_unit_is_refused():
    panel = organs()[:-1] + (rules.OrganFunction("spo2", 98, "mmHg", D(2025, 6, 1)),)
    with pytest.raises(rules.ProfileInvalid) as exc:
        rules.evaluate(eligible_profile(organ_function=panel))
    assert "organ_function[5].unit" in exc.value.as_field_errors()


# --- infection -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "infections, reviewed, expected",
    [
        pytest.param((), D(2025, 6, 1), MET, id="none-active-checked"),
        pytest.param((), None, MISSING, id="never-checked"),
        pytest.param((), D(2025, 5, 1), MISSING, id="checked-too-long-ago"),
        pytest.param((Infection("CMV", "resolved", D(2025, 4, 1)),), D(2025, 6, 1), MET, id="resolved"),
        pytest.param((Infection("aspergillosis", "controlled", D(2025, 5, 1)),), None, NEEDS_REVIEW, id="controlled"),
        pytest.param(
            (Infection("sepsis", "uncontrolled", D(2025, 6, 10)),),
            D(2025, 6, 1),
            NOT_MET,
            id="ELIANA-ZUMA3-uncontrolled",
        ),
    ],
)
def test_infection_row(infections, reviewed, expected):
    p = eligible_profile(infections=infections, infections_reviewed_on=reviewed)
    assert outcome(p, "infection") == expected


# --- CD19: most recent sample, conflicts, validity, prior CD19-directed therapy ----------------------


def test_a_cd19_negative_marrow_beside_a_positive_blood_sample_of_the_same_day_goes_to_review():
    results = (
        Cd19Result("positive", "peripheral_blood", D(2025, 5, 20)),
        Cd19Result("negative", "bone_marrow", D(2025, 5, 20)),
    )
    for order in (results, results[::-1]):
        c = rules.evaluate(eligible_profile(cd19_results=order)).criterion("cd19")
        assert c.outcome == NEEDS_REVIEW and c.code == "cd19_conflict"
        assert "escape" in c.explanation and len(c.facts) == 2


@pytest.mark.parametrize(
    "sample_date, expected",
    [
        pytest.param(D(2025, 3, 17), MET, id="ELIANA-CD19-within-3-months-90-days"),
        pytest.param(D(2025, 3, 16), MISSING, id="ELIANA-CD19-older-than-3-months"),
    ],
)
def test_cd19_validity_window(sample_date, expected):
    p = eligible_profile(
        cd19_results=(Cd19Result("positive", "bone_marrow", sample_date),),
        relapses=(Relapse(D(2023, 2, 1)), Relapse(D(2025, 3, 1))),
        cns_assessments=(CnsAssessment("cns1", D(2025, 5, 20)),),
    )
    assert outcome(p, "cd19") == expected
    longer = RuleVariation(centre="C", thresholds=rules.thresholds_with({"cd19_valid_days": 120}))
    assert outcome(p, "cd19", longer) == MET


def test_prior_cd19_directed_car_t_is_flagged_for_review():
    line = TherapyLine("tisagenlecleucel (CD19 CAR-T)", D(2024, 6, 1), D(2024, 6, 1), "CR", cd19_directed=True)
    c = rules.evaluate(eligible_profile(therapy_lines=(line,))).criterion("cd19")
    assert c.outcome == NEEDS_REVIEW and c.code == "cd19_prior_directed_therapy"


def test_prior_cd22_directed_therapy_is_recorded_and_noted_but_does_not_touch_cd19():
    line = TherapyLine("inotuzumab ozogamicin", D(2024, 6, 1), D(2024, 8, 1), "CR", cd22_directed=True)
    result = rules.evaluate(eligible_profile(therapy_lines=(line,)))
    assert result.criterion("cd19").outcome == MET
    assert "prior_cd22_directed" in {n.code for n in result.notes}


# --- CNS: recency and the centre's CNS3 variation ------------------------------------------------------


@pytest.mark.parametrize(
    "status, on, cns3_policy, expected",
    [
        pytest.param("cns1", D(2025, 5, 20), "exclude", MET, id="CNS1"),
        pytest.param("cns1", D(2025, 5, 17), "exclude", MISSING, id="CNS1-before-the-latest-relapse"),
        pytest.param("cns1", D(2025, 3, 16), "exclude", MISSING, id="CNS1-older-than-90-days"),
        pytest.param("cns3", D(2025, 5, 20), "exclude", NOT_MET, id="guide-CNS3-excluded-base"),
        pytest.param("cns3", D(2025, 5, 20), "review", NEEDS_REVIEW, id="guide-CNS-variable-centre-reviews-CNS3"),
        pytest.param("cns3", D(2025, 5, 20), "accept", MET, id="guide-CNS-variable-centre-accepts-CNS3"),
    ],
)
def test_cns_row_recency_and_cns3_variation(status, on, cns3_policy, expected):
    p = eligible_profile(cns_assessments=(CnsAssessment(status, on),))
    policy = "accept" if cns3_policy == "accept" else "review"
    variation = RuleVariation(centre="C", cns2_policy=policy, cns3_policy=cns3_policy)
    assert outcome(p, "cns", variation) == expected


def test_a_centre_cannot_treat_cns3_more_permissively_than_cns2():
    with pytest.raises(ValueError):
        rules.evaluate(eligible_profile(), RuleVariation(centre="C", cns2_policy="exclude", cns3_policy="review"))


# --- every verdict names its facts ----------------------------------------------------------------------


def test_every_criterion_names_a_code_and_each_fact_names_its_row_and_document():
    p = eligible_profile(cd19_results=(Cd19Result("positive", "bone_marrow", D(2025, 5, 20), row=7, source=42),))
    result = rules.evaluate(p)
    assert all(c.code for c in result.criteria)
    assert result.criterion("cd19").facts == (
        {"kind": "cd19_results", "id": 7, "date": "2025-05-20", "source_document": 42},
    )


# --- properties ------------------------------------------------------------------------------------------

WORSE = {
    # name: (strategy of a profile change that is worse than the reference, criterion it concerns)
    "fitness": st.integers(0, 4).map(lambda s: {"fitness": (Fitness("lansky", 100 - 10 * s, D(2025, 6, 1)),)}),
    "egfr": st.integers(0, 100).map(lambda v: {"organ_function": organs(egfr=110 - v)}),
    "alt": st.integers(0, 400).map(lambda v: {"organ_function": organs(alt=30 + v)}),
    "spo2": st.integers(0, 20).map(lambda v: {"organ_function": organs(spo2=98 - v)}),
    "cns": st.sampled_from(rules.CNS_STATUSES).map(lambda s: {"cns_assessments": (CnsAssessment(s, D(2025, 5, 20)),)}),
    "cd19": st.sampled_from(rules.CD19_STATUSES).map(
        lambda s: {"cd19_results": (Cd19Result(s, "bone_marrow", D(2025, 5, 20)),)}
    ),
    "infection": st.sampled_from(rules.INFECTION_STATUSES).map(
        lambda s: {"infections": (Infection("x", s, D(2025, 6, 1)),)}
    ),
}
# An order of badness for each fact above, as a number (higher is worse).
BADNESS = {
    "fitness": lambda p: -p.fitness[0].score,
    "egfr": lambda p: -next(o.value for o in p.organ_function if o.test == "egfr"),
    "alt": lambda p: next(o.value for o in p.organ_function if o.test == "alt"),
    "spo2": lambda p: -next(o.value for o in p.organ_function if o.test == "spo2"),
    "cns": lambda p: rules.CNS_STATUSES.index(p.cns_assessments[0].status),
    "cd19": lambda p: rules.CD19_STATUSES.index(p.cd19_results[0].status),
    "infection": lambda p: -rules.INFECTION_STATUSES.index(p.infections[0].status),
}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(WORSE)), st.data())
def test_a_worse_fact_never_improves_the_verdict(name, data):
    a = eligible_profile(**data.draw(WORSE[name]))
    b = eligible_profile(**data.draw(WORSE[name]))
    if BADNESS[name](a) > BADNESS[name](b):
        a, b = b, a  # b is the worse one
    for variation in (rules.BASE_RULES, RuleVariation(centre="C", cns2_policy="accept", cns3_policy="review")):
        ra, rb = rules.evaluate(a, variation), rules.evaluate(b, variation)
        assert rules.VERDICT_RANK[rb.verdict] >= rules.VERDICT_RANK[ra.verdict], (name, ra.verdict, rb.verdict)
        for ca, cb in zip(ra.criteria, rb.criteria, strict=True):
            assert rules.OUTCOME_RANK[cb.outcome] >= rules.OUTCOME_RANK[ca.outcome], (name, ca, cb)


FACT_TUPLES = ("cd19_results", "relapses", "therapy_lines", "cns_assessments", "fitness", "organ_function", "marrow")


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_verdict_never_depends_on_the_order_facts_were_entered(data):
    base = eligible_profile(
        cd19_results=(
            Cd19Result("positive", "peripheral_blood", D(2025, 5, 20)),
            Cd19Result(data.draw(st.sampled_from(rules.CD19_STATUSES)), "bone_marrow", D(2025, 5, 20)),
            Cd19Result("negative", "bone_marrow", D(2025, 1, 2)),
        ),
        fitness=(
            Fitness("lansky", data.draw(st.sampled_from([40, 60, 90])), D(2025, 6, 1)),
            Fitness("lansky", data.draw(st.sampled_from([40, 60, 90])), D(2025, 6, 1)),
            Fitness("lansky", 100, D(2025, 5, 1)),
        ),
        marrow=(ACTIVE_MARROW, dataclasses.replace(ACTIVE_MARROW, date=D(2025, 6, 1), blasts_percent=3.0)),
        therapy_lines=(
            TherapyLine("AIEOP-BFM 2017", D(2022, 1, 12), D(2024, 3, 1), "CR"),
            TherapyLine("blinatumomab", D(2024, 4, 1), D(2024, 6, 1), "CR", cd19_directed=True),
        ),
        organ_function=organs() + organs(on=D(2025, 6, 1), egfr=data.draw(st.sampled_from([40, 90]))),
    )
    expected = rules.evaluate(base)
    shuffled = {
        kind: tuple(data.draw(st.permutations(getattr(base, kind)))) for kind in FACT_TUPLES if getattr(base, kind)
    }
    again = rules.evaluate(dataclasses.replace(base, **shuffled))
    assert again.verdict == expected.verdict
    assert [(c.criterion, c.outcome, c.explanation) for c in again.criteria] == [
        (c.criterion, c.outcome, c.explanation) for c in expected.criteria
    ]


def test_the_reference_date_is_used_everywhere():
    assert eligible_profile().assessed_on == TODAY
