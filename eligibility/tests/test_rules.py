"""The pre-screen table, row by row, with its boundaries; plus properties that must always hold."""

from __future__ import annotations

import dataclasses
import datetime as dt

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
    Diagnosis,
    Fitness,
    Marrow,
    OrganFunction,
    Philadelphia,
    Profile,
    Relapse,
    RuleVariation,
    TherapyLine,
    Transplant,
)

TODAY = dt.date(2025, 6, 15)
D = dt.date


def organs(on=D(2025, 6, 1), **values) -> tuple[OrganFunction, ...]:
    """A full, normal organ function panel of one date; ``values`` replace single values."""
    normal = {
        "egfr": (110, "mL/min/{1.73_m2}", None),
        "lvef": (62, "%", None),
        "bilirubin": (8, "umol/L", 21),
        "alt": (30, "U/L", 40),
        "ast": (28, "U/L", 40),
        "spo2": (98, "%", None),
    }
    out = []
    for test, (value, unit, uln) in normal.items():
        out.append(OrganFunction(test, values.get(test, value), unit, on, uln))
    return tuple(out)


ACTIVE_MARROW = Marrow(D(2025, 5, 18), 42.0, "positive", 0.35, "flow_cytometry", 0.0001)


def eligible_profile(**changes) -> Profile:
    """A 9-year-old with a second relapse of CD19+ B-ALL, 42 % marrow blasts, Lansky 90, normal organ
    function, no infection, CNS1, Ph-negative: every row met."""
    base = Profile(
        assessed_on=TODAY,
        date_of_birth=D(2016, 3, 1),
        diagnosis=Diagnosis("b_all", "flow_cytometry", D(2022, 1, 10)),
        cd19_results=(Cd19Result("positive", "bone_marrow", D(2025, 5, 20), "flow_cytometry"),),
        relapses=(Relapse(D(2024, 2, 1)), Relapse(D(2025, 5, 18))),
        therapy_lines=(TherapyLine("AIEOP-BFM 2017", D(2022, 1, 12), D(2024, 3, 1), "CR"),),
        primary_refractory=False,
        prior_transplant=False,
        cns_assessments=(CnsAssessment("cns1", D(2025, 5, 20)),),
        philadelphia=Philadelphia("negative", D(2022, 1, 15)),
        fitness=(Fitness("lansky", 90, D(2025, 6, 1)),),
        organ_function=organs(),
        infections_reviewed_on=D(2025, 6, 1),
        marrow=(ACTIVE_MARROW,),
    )
    return dataclasses.replace(base, **changes)


def recent_profile(dob, **changes) -> Profile:
    """The reference profile with every event after mid-2024, so very young patients fit."""
    return eligible_profile(
        date_of_birth=dob,
        diagnosis=Diagnosis("b_all", "flow_cytometry", D(2024, 9, 1)),
        therapy_lines=(),
        relapses=(Relapse(D(2025, 5, 18)),),
        philadelphia=Philadelphia("negative"),
        **changes,
    )


def outcome(profile: Profile, criterion: str, variation: RuleVariation = rules.BASE_RULES) -> str:
    return rules.evaluate(profile, variation).criterion(criterion).outcome


def test_the_reference_profile_is_likely_eligible_and_every_explanation_is_one_sentence():
    result = rules.evaluate(eligible_profile())
    assert result.verdict == rules.LIKELY_ELIGIBLE
    assert [c.criterion for c in result.criteria] == list(rules.CRITERIA)
    for c in result.criteria:
        assert c.outcome == MET
        assert c.explanation.endswith(".") and c.explanation.count(". ") == 0
    assert result.ruleset_version == rules.RULESET_VERSION


# --- diagnosis ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lineage, method, expected",
    [
        ("b_all", "flow_cytometry", MET),
        ("b_all", "immunophenotyping", MET),
        ("b_all", "morphology", MISSING),  # lineage unconfirmed
        ("b_all", "unknown", MISSING),
        ("t_all", "flow_cytometry", NOT_MET),  # T-ALL does not express CD19
        ("aml", "flow_cytometry", NOT_MET),
        ("other", "morphology", NOT_MET),
        ("unknown", "unknown", MISSING),
    ],
)
def test_diagnosis_row(lineage, method, expected):
    p = eligible_profile(diagnosis=Diagnosis(lineage, method, D(2022, 1, 10)))
    assert outcome(p, "diagnosis") == expected


# --- CD19 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "results, expected",
    [
        ((), MISSING),
        ((Cd19Result("positive", "bone_marrow", D(2025, 5, 20)),), MET),
        ((Cd19Result("positive", "peripheral_blood", D(2025, 5, 20)),), MET),
        ((Cd19Result("negative", "bone_marrow", D(2025, 5, 20)),), NOT_MET),
        ((Cd19Result("dim", "bone_marrow", D(2025, 5, 20)),), NEEDS_REVIEW),
        ((Cd19Result("positive", "tissue", D(2025, 5, 20), "immunohistochemistry"),), NEEDS_REVIEW),
        # the most recent sample decides, whichever order they were entered in
        (
            (
                Cd19Result("negative", "bone_marrow", D(2025, 5, 19)),
                Cd19Result("positive", "bone_marrow", D(2025, 5, 20)),
            ),
            MET,
        ),
        (
            (
                Cd19Result("positive", "bone_marrow", D(2025, 5, 20)),
                Cd19Result("negative", "bone_marrow", D(2025, 6, 1)),
            ),
            NOT_MET,
        ),
    ],
)
def test_cd19_row(results, expected):
    assert outcome(eligible_profile(cd19_results=results), "cd19") == expected


@pytest.mark.parametrize(
    "sample_date, expected",
    [
        (D(2025, 5, 17), MISSING),  # the day before the relapse: older than the relapse, needs a new sample
        (D(2025, 5, 18), MET),  # the relapse work-up itself
        (D(2025, 5, 19), MET),
    ],
)
def test_a_cd19_sample_older_than_the_latest_relapse_needs_a_new_sample(sample_date, expected):
    p = eligible_profile(cd19_results=(Cd19Result("positive", "bone_marrow", sample_date),))
    result = rules.evaluate(p).criterion("cd19")
    assert result.outcome == expected
    if expected == MISSING:
        assert "new sample" in result.explanation and "2025-05-18" in result.explanation


@pytest.mark.parametrize(
    "therapy_start, cd19_directed, expected",
    [
        (D(2025, 5, 21), True, MISSING),  # blinatumomab after the sample
        (D(2025, 5, 20), True, MISSING),  # sample on the first day is the pre-treatment baseline
        (D(2025, 5, 19), True, NEEDS_REVIEW),  # after blinatumomab started: prior CD19-directed therapy, review
        (D(2025, 5, 21), False, MET),  # a later non-CD19 therapy (e.g. rituximab) does not matter
    ],
)
def test_a_cd19_sample_older_than_a_cd19_directed_therapy_needs_a_new_sample(therapy_start, cd19_directed, expected):
    line = TherapyLine(
        "blinatumomab" if cd19_directed else "R-hyperCVAD (rituximab)", therapy_start, None, "", cd19_directed
    )
    p = eligible_profile(therapy_lines=eligible_profile().therapy_lines + (line,))
    assert outcome(p, "cd19") == expected


def test_prior_rituximab_does_not_affect_cd19_and_says_so():
    line = TherapyLine("Rituximab + hyper-CVAD", D(2025, 5, 25), D(2025, 6, 1), "PR", cd19_directed=False)
    result = rules.evaluate(eligible_profile(therapy_lines=(line,)))
    assert result.criterion("cd19").outcome == MET
    assert "rituximab_no_effect" in {n.code for n in result.notes}


# --- age ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dob, expected",
    [
        (D(2024, 7, 15), NEEDS_REVIEW),  # 11 months: individual assessment
        (D(2024, 6, 16), NEEDS_REVIEW),  # one day short of the first birthday
        (D(2024, 6, 15), MET),  # exactly 1 year
        (D(2007, 6, 15), MET),  # 18
        (D(1965, 6, 16), MET),  # 59
        (D(1965, 6, 15), MET),  # 60 exactly: no upper limit, the fitness row decides
        (D(1950, 1, 1), MET),  # 75: no upper limit
        (None, MISSING),
    ],
)
def test_age_row(dob, expected):
    p = eligible_profile(
        date_of_birth=dob,
        diagnosis=Diagnosis("b_all", "flow_cytometry", D(2024, 9, 1)),
        therapy_lines=(),
        relapses=(Relapse(D(2025, 5, 18)),),
        philadelphia=Philadelphia("negative"),
    )
    assert outcome(p, "age") == expected


def test_age_is_computed_at_the_assessment_date_not_today():
    p = eligible_profile(
        date_of_birth=D(2024, 7, 1),
        assessed_on=D(2025, 6, 30),
        diagnosis=Diagnosis("b_all", "flow_cytometry", D(2024, 12, 1)),
        therapy_lines=(),
        cd19_results=(Cd19Result("positive", "bone_marrow", D(2025, 6, 1)),),
        relapses=(Relapse(D(2025, 5, 18)),),
        cns_assessments=(CnsAssessment("cns1", D(2025, 6, 1)),),
        philadelphia=Philadelphia("negative"),
    )
    assert outcome(p, "age") == NEEDS_REVIEW
    assert outcome(dataclasses.replace(p, assessed_on=D(2025, 7, 1)), "age") == MET


def test_older_adults_get_a_fitness_note_and_their_score_decides_not_their_age():
    p = eligible_profile(date_of_birth=D(1958, 1, 1), fitness=(Fitness("ecog", 1, D(2025, 6, 1)),))
    result = rules.evaluate(p)
    assert result.criterion("age").outcome == MET
    assert result.criterion("fitness").outcome == MET and "ECOG 1" in result.criterion("fitness").explanation
    assert "older_adult_fitness" in {n.code for n in result.notes}
    assert result.verdict == rules.LIKELY_ELIGIBLE


def test_age_in_months_counts_month_ends():
    assert rules.age_in_months(D(2024, 1, 31), D(2024, 2, 29)) == 1
    assert rules.age_in_months(D(2024, 1, 31), D(2024, 2, 28)) == 0
    assert rules.age_in_months(D(2024, 6, 15), D(2025, 6, 14)) == 11
    assert rules.age_in_months(D(2024, 6, 15), D(2025, 6, 15)) == 12


# --- disease status ----------------------------------------------------------------------------

LINE = TherapyLine("induction", D(2022, 2, 1), D(2022, 6, 1), "CR")
LINE2 = TherapyLine("FLAG-IDA", D(2023, 2, 1), D(2023, 6, 1), "PR")
SALVAGE_REFRACTORY = TherapyLine("FLAG-IDA", D(2025, 5, 20), D(2025, 6, 5), "refractory")
RELAPSE = Relapse(D(2025, 5, 18))
EARLY = Relapse(D(2022, 11, 1))  # 10 months after the diagnosis of 2022-01-10
REMISSION = Marrow(D(2025, 6, 10), 1.0, "negative", None, "flow_cytometry", 0.0001)
MOLECULAR = Marrow(D(2025, 6, 10), 1.0, "positive", 0.002, "pcr", 0.00001)
OLD_MARROW = Marrow(D(2025, 1, 10), 60.0, "positive", 0.5, "flow_cytometry", 0.0001)


@pytest.mark.parametrize(
    "lines, reported, refractory, relapses, marrow, first_cr, expected",
    [
        pytest.param((LINE,), None, True, (), (ACTIVE_MARROW,), None, MET, id="ELIANA-ZUMA3-primary-refractory"),
        pytest.param((LINE,), None, False, (EARLY, RELAPSE), (ACTIVE_MARROW,), None, MET, id="ELIANA-second-relapse"),
        pytest.param((LINE, LINE2), None, False, (RELAPSE,), (ACTIVE_MARROW,), None, MET, id="ZUMA3-two-lines"),
        pytest.param((), 3, False, (RELAPSE,), (ACTIVE_MARROW,), None, MET, id="guide-reported-lines"),
        pytest.param(
            (LINE, SALVAGE_REFRACTORY),
            None,
            False,
            (RELAPSE,),
            (ACTIVE_MARROW,),
            None,
            MET,
            id="ELIANA-chemorefractory-relapse",
        ),
        pytest.param((LINE,), None, False, (EARLY,), (ACTIVE_MARROW,), None, MET, id="ZUMA3-first-remission-10-months"),
        pytest.param(
            (LINE,),
            None,
            False,
            (RELAPSE,),
            (ACTIVE_MARROW,),
            D(2024, 5, 18),
            MET,
            id="ZUMA3-first-remission-12-months",
        ),
        pytest.param(
            (LINE,),
            None,
            False,
            (RELAPSE,),
            (ACTIVE_MARROW,),
            D(2024, 5, 17),
            NEEDS_REVIEW,
            id="ZUMA3-late-first-relapse-13-months",
        ),
        pytest.param(
            (LINE,), None, False, (RELAPSE,), (ACTIVE_MARROW,), None, MISSING, id="ZUMA3-first-remission-date-unknown"
        ),
        pytest.param(
            (LINE,), None, False, (EARLY, RELAPSE), (REMISSION,), None, NOT_MET, id="relapsed-but-in-remission-now"
        ),
        pytest.param(
            (LINE,),
            None,
            False,
            (EARLY, RELAPSE),
            (MOLECULAR,),
            None,
            NEEDS_REVIEW,
            id="ELIANA-ZUMA3-5pct-blasts-molecular-only",
        ),
        pytest.param((LINE,), None, False, (EARLY, RELAPSE), (), None, MISSING, id="no-marrow"),
        pytest.param(
            (LINE,), None, False, (EARLY, RELAPSE), (OLD_MARROW,), None, MISSING, id="marrow-before-latest-relapse"
        ),
        pytest.param((LINE,), None, False, (), (ACTIVE_MARROW,), None, NOT_MET, id="never-relapsed-not-refractory"),
        pytest.param((), 0, False, (), (), None, NOT_MET, id="no-lines-not-refractory"),
        pytest.param((LINE,), None, None, (), (ACTIVE_MARROW,), None, MISSING, id="refractory-status-unknown"),
        pytest.param((), None, None, (), (), None, MISSING, id="nothing-known"),
    ],
)
def test_disease_status_row_is_the_disease_as_it_is_now(
    lines, reported, refractory, relapses, marrow, first_cr, expected
):
    p = eligible_profile(
        therapy_lines=lines,
        reported_prior_lines=reported,
        primary_refractory=refractory,
        relapses=relapses,
        marrow=marrow,
        first_remission_date=first_cr,
        cd19_results=(Cd19Result("positive", "bone_marrow", D(2025, 5, 20)),),
    )
    assert outcome(p, "disease_status") == expected


def test_a_relapse_years_ago_now_in_continuing_remission_is_not_relapsed_refractory():
    p = eligible_profile(
        relapses=(Relapse(D(2021, 3, 1)),),
        diagnosis=Diagnosis("b_all", "flow_cytometry", D(2019, 1, 10)),
        therapy_lines=(TherapyLine("ALL-REZ BFM", D(2021, 3, 5), D(2022, 3, 1), "CR MRD-negative"),),
        marrow=(REMISSION,),
    )
    result = rules.evaluate(p)
    assert result.criterion("disease_status").outcome == NOT_MET
    assert result.criterion("disease_status").code == "in_remission"
    assert {"kind": "marrow", "id": None, "date": "2025-06-10", "source_document": None} in result.criterion(
        "disease_status"
    ).facts


def test_relapse_after_allogeneic_transplant_is_enough_even_where_a_centre_counts_lines():
    strict = RuleVariation(centre="Strict", min_prior_lines=2)
    transplant = Transplant(D(2023, 1, 1), "haploidentical", False, False)
    p = eligible_profile(transplants=(transplant,), prior_transplant=True, relapses=(Relapse(D(2025, 5, 18)),))
    assert outcome(p, "disease_status", strict) == MET
    before = eligible_profile(
        transplants=(Transplant(D(2025, 5, 30), "haploidentical", False, False),), prior_transplant=True
    )
    assert outcome(before, "disease_status", strict) == NOT_MET  # one line, relapse before the transplant


def test_a_centre_minimum_line_count_turns_a_one_line_relapse_into_not_met_there_only():
    p = eligible_profile()
    assert outcome(p, "disease_status") == MET
    assert outcome(p, "disease_status", RuleVariation(centre="Strict", min_prior_lines=2)) == NOT_MET
    assert outcome(p, "disease_status", RuleVariation(centre="Strict", min_prior_lines=1)) == MET


# --- post-allo-SCT -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prior, transplants, expected",
    [
        (False, (), MET),
        (None, (), MISSING),
        (True, (), MISSING),  # a transplant is reported, its record (GvHD, immunosuppression) is not in
        (True, (Transplant(D(2023, 1, 1), "autologous"),), MET),
        (True, (Transplant(D(2023, 1, 1), "haploidentical", False, False),), MET),
        (True, (Transplant(D(2023, 1, 1), "haploidentical", True, False),), NOT_MET),  # on immunosuppression
        (True, (Transplant(D(2023, 1, 1), "matched_sibling", False, True),), NOT_MET),  # active GvHD
        (True, (Transplant(D(2023, 1, 1), "matched_unrelated", True, True),), NOT_MET),
        (True, (Transplant(D(2023, 1, 1), "matched_unrelated", None, False),), MISSING),
        (True, (Transplant(D(2023, 1, 1), "matched_unrelated", False, None),), MISSING),
        # the latest allogeneic transplant decides
        (
            True,
            (Transplant(D(2023, 1, 1), "cord", True, True), Transplant(D(2024, 1, 1), "haploidentical", False, False)),
            MET,
        ),
    ],
)
def test_post_transplant_row(prior, transplants, expected):
    assert outcome(eligible_profile(prior_transplant=prior, transplants=transplants), "post_transplant") == expected


def test_allogeneic_transplant_always_carries_the_donor_cell_gvhd_note_and_the_blocker_can_resolve():
    p = eligible_profile(prior_transplant=True, transplants=(Transplant(D(2023, 1, 1), "haploidentical", True, False),))
    result = rules.evaluate(p)
    assert "post_transplant_gvhd_risk" in {n.code for n in result.notes}
    assert "not yet eligible" in result.criterion("post_transplant").explanation
    assert result.verdict == rules.NOT_ELIGIBLE


# --- CNS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "assessments, policy, expected",
    [
        ((CnsAssessment("cns1", D(2025, 5, 20)),), "review", MET),
        ((CnsAssessment("cns2", D(2025, 5, 20)),), "review", NEEDS_REVIEW),
        ((CnsAssessment("cns2", D(2025, 5, 20)),), "accept", MET),
        ((CnsAssessment("cns2", D(2025, 5, 20)),), "exclude", NOT_MET),
        ((CnsAssessment("cns3", D(2025, 5, 20)),), "review", NOT_MET),
        ((CnsAssessment("cns3", D(2025, 5, 20)),), "accept", NOT_MET),
        ((CnsAssessment("cns3", D(2025, 1, 1)), CnsAssessment("cns1", D(2025, 5, 20))), "review", MET),
        ((), "review", MISSING),
    ],
)
def test_cns_row(assessments, policy, expected):
    variation = RuleVariation(centre="C", cns2_policy=policy)
    assert outcome(eligible_profile(cns_assessments=assessments), "cns", variation) == expected


def test_cns2_notes_that_intrathecal_prophylaxis_continues():
    result = rules.evaluate(eligible_profile(cns_assessments=(CnsAssessment("cns2", D(2025, 5, 20)),)))
    assert "cns2_intrathecal" in {n.code for n in result.notes}
    assert result.verdict == rules.NEEDS_SPECIALIST_REVIEW


# --- Philadelphia ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ph, expected, note",
    [
        (Philadelphia("positive", D(2022, 1, 15), "ponatinib"), MET, True),
        (Philadelphia("positive", D(2022, 1, 15), ""), MET, True),
        (Philadelphia("negative", D(2022, 1, 15)), MET, False),
        (Philadelphia(None), MISSING, False),
    ],
)
def test_philadelphia_row(ph, expected, note):
    result = rules.evaluate(eligible_profile(philadelphia=ph))
    assert result.criterion("philadelphia").outcome == expected
    assert ("ph_tki_continues" in {n.code for n in result.notes}) is note


# --- centre age limits ---------------------------------------------------------------------------


def test_centre_age_limits_are_applied_on_top_of_the_base_rules():
    p = recent_profile(D(2022, 6, 15))  # 3 years
    assert outcome(p, "age") == MET
    assert outcome(p, "age", RuleVariation(centre="X", min_age_months=48)) == NOT_MET
    assert outcome(p, "age", RuleVariation(centre="X", min_age_months=36)) == MET
    adult = eligible_profile(date_of_birth=D(1995, 6, 15))  # 30
    assert outcome(adult, "age", RuleVariation(centre="X", max_age_years=29)) == NOT_MET
    assert outcome(adult, "age", RuleVariation(centre="X", max_age_years=30)) == MET


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, field",
    [
        (
            {"transplants": (Transplant(D(2021, 1, 1), "haploidentical", False, False),), "prior_transplant": True},
            "transplants[0].date",
        ),
        ({"cd19_results": (Cd19Result("positive", "bone_marrow", D(2025, 6, 16)),)}, "cd19_results[0].sample_date"),
        (
            {"cns_assessments": (CnsAssessment("cns3", D(2025, 5, 20)), CnsAssessment("cns1", D(2025, 5, 20)))},
            "cns_assessments[1].status",
        ),
        ({"reported_prior_lines": -1}, "reported_prior_lines"),
        ({"relapses": (Relapse(D(2021, 12, 1)),)}, "relapses[0].date"),
        ({"therapy_lines": (TherapyLine("x", D(2023, 5, 1), D(2023, 4, 1)),)}, "therapy_lines[0].end"),
        ({"date_of_birth": D(2025, 7, 1)}, "date_of_birth"),
        ({"fitness": (Fitness("ecog", 7, D(2025, 6, 1)),)}, "fitness[0].score"),
        ({"fitness": (Fitness("karnofsky", 75, D(2025, 6, 1)),)}, "fitness[0].score"),
        ({"prior_transplant": False, "transplants": (Transplant(D(2023, 1, 1), "autologous"),)}, "prior_transplant"),
        (
            {
                "cd19_results": (
                    Cd19Result("positive", "bone_marrow", D(2025, 5, 20)),
                    Cd19Result("negative", "bone_marrow", D(2025, 5, 20)),
                )
            },
            "cd19_results[1].status",
        ),
    ],
)
def test_impossible_data_is_refused_naming_the_field(changes, field):
    with pytest.raises(rules.ProfileInvalid) as exc:
        rules.evaluate(eligible_profile(**changes))
    assert field in exc.value.as_field_errors()


def test_every_problem_is_listed_at_once():
    p = eligible_profile(
        reported_prior_lines=-2,
        relapses=(Relapse(D(2020, 1, 1)),),
        cd19_results=(Cd19Result("positive", "bone_marrow", D(2030, 1, 1)),),
    )
    with pytest.raises(rules.ProfileInvalid) as exc:
        rules.evaluate(p)
    assert {"reported_prior_lines", "relapses[0].date", "cd19_results[0].sample_date"} <= set(
        exc.value.as_field_errors()
    )


# --- overrides -------------------------------------------------------------------------------------


def test_an_override_changes_one_outcome_keeps_the_computed_one_and_recomputes_the_verdict():
    result = rules.evaluate(eligible_profile(cns_assessments=(CnsAssessment("cns2", D(2025, 5, 20)),)))
    assert result.verdict == rules.NEEDS_SPECIALIST_REVIEW
    overridden = rules.with_overrides(result, {"cns": {"outcome": MET, "reason": "PKUPH accepts CNS2", "by": "alice"}})
    assert overridden.verdict == rules.LIKELY_ELIGIBLE
    assert overridden.criterion("cns").override == {"from": NEEDS_REVIEW, "reason": "PKUPH accepts CNS2", "by": "alice"}


# --- properties ------------------------------------------------------------------------------------

dates = st.dates(min_value=D(2018, 1, 1), max_value=TODAY)
maybe_bool = st.sampled_from([None, True, False])

profiles = st.builds(
    Profile,
    assessed_on=st.just(TODAY),
    date_of_birth=st.one_of(st.none(), st.dates(min_value=D(1940, 1, 1), max_value=D(2017, 12, 31))),
    diagnosis=st.builds(
        Diagnosis,
        lineage=st.sampled_from(rules.LINEAGES),
        confirmation_method=st.sampled_from(rules.LINEAGE_METHODS),
        date=st.one_of(st.none(), st.just(D(2018, 1, 1))),
    ),
    cd19_results=st.lists(
        st.builds(
            Cd19Result,
            st.sampled_from(rules.CD19_STATUSES),
            st.sampled_from(rules.CD19_SAMPLE_TYPES),
            dates,
            st.sampled_from(rules.CD19_METHODS),
        ),
        max_size=3,
        unique_by=lambda r: (r.sample_date, r.sample_type),
    ).map(tuple),
    relapses=st.lists(st.builds(Relapse, dates), max_size=2).map(tuple),
    therapy_lines=st.lists(
        st.builds(
            TherapyLine,
            st.sampled_from(["induction", "blinatumomab", "rituximab"]),
            dates,
            st.none(),
            st.just(""),
            st.booleans(),
        ),
        max_size=3,
    ).map(tuple),
    reported_prior_lines=st.one_of(st.none(), st.integers(0, 6)),
    primary_refractory=maybe_bool,
    prior_transplant=st.sampled_from([None, True]),
    transplants=st.lists(
        st.builds(Transplant, dates, st.sampled_from(rules.DONOR_TYPES), maybe_bool, maybe_bool), max_size=2
    ).map(tuple),
    cns_assessments=st.lists(
        st.builds(CnsAssessment, st.sampled_from(rules.CNS_STATUSES), dates), max_size=2, unique_by=lambda c: c.date
    ).map(tuple),
    philadelphia=st.builds(
        Philadelphia, st.sampled_from([None, "positive", "negative"]), st.none(), st.sampled_from(["", "ponatinib"])
    ),
    fitness=st.lists(st.builds(Fitness, st.just("ecog"), st.integers(0, 5), dates), max_size=1).map(tuple),
)
variations = st.builds(
    RuleVariation,
    centre=st.just("C"),
    min_age_months=st.one_of(st.none(), st.integers(0, 60)),
    max_age_years=st.one_of(st.none(), st.integers(20, 90)),
    cns2_policy=st.sampled_from(rules.CNS2_POLICIES),
    min_prior_lines=st.one_of(st.none(), st.integers(0, 4)),
)


@settings(max_examples=150, deadline=None)
@given(profiles, variations)
def test_properties_of_every_result(profile, variation):
    result = rules.evaluate(profile, variation)
    outcomes = [c.outcome for c in result.criteria]
    # likely eligible never comes with a criterion not met or missing
    if result.verdict == rules.LIKELY_ELIGIBLE:
        assert set(outcomes) == {MET}
    # missing data never passes silently: the verdict is incomplete unless something already excludes
    if MISSING in outcomes:
        assert result.verdict in (rules.INCOMPLETE, rules.NOT_ELIGIBLE)
    # the verdict follows the one-sentence rule
    expected = (
        rules.NOT_ELIGIBLE
        if NOT_MET in outcomes
        else rules.INCOMPLETE
        if MISSING in outcomes
        else rules.NEEDS_SPECIALIST_REVIEW
        if NEEDS_REVIEW in outcomes
        else rules.LIKELY_ELIGIBLE
    )
    assert result.verdict == expected
    # the same profile always gives the same result
    assert rules.evaluate(profile, variation) == result
    assert all(c.outcome in rules.OUTCOMES and c.explanation for c in result.criteria)


@settings(max_examples=100, deadline=None)
@given(profiles, st.sampled_from(rules.CRITERIA))
def test_an_absent_fact_is_reported_missing_never_met(profile, criterion):
    """Blank the data a criterion reads: it must come out missing, not met."""
    blank = {
        "diagnosis": {"diagnosis": Diagnosis()},
        "cd19": {"cd19_results": ()},
        "age": {"date_of_birth": None},
        "disease_status": {
            "therapy_lines": (),
            "reported_prior_lines": None,
            "primary_refractory": None,
            "relapses": (),
            "transplants": (),
            "prior_transplant": None,
        },
        "post_transplant": {"transplants": (), "prior_transplant": None},
        "fitness": {"fitness": ()},
        "organ_function": {"organ_function": ()},
        "infection": {"infections": (), "infections_reviewed_on": None},
        "cns": {"cns_assessments": ()},
        "philadelphia": {"philadelphia": Philadelphia()},
    }[criterion]
    result = rules.evaluate(
        dataclasses.replace(profile, **blank), rules.RuleVariation(centre="C", min_prior_lines=None)
    )
    assert result.criterion(criterion).outcome == MISSING
    assert result.verdict != rules.LIKELY_ELIGIBLE


@settings(max_examples=60, deadline=None)
@given(profiles)
def test_a_reported_transplant_without_its_record_never_passes_the_transplant_row(profile):
    result = rules.evaluate(dataclasses.replace(profile, prior_transplant=True, transplants=()))
    assert result.criterion("post_transplant").outcome == MISSING
    assert result.verdict in (rules.INCOMPLETE, rules.NOT_ELIGIBLE)
