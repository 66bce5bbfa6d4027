"""The pre-filter as a table: each row an option, a patient, and the result and reason expected
for one criterion (the guide's eligibility table where it speaks: CD19-negative, CNS2/CNS3)."""

from __future__ import annotations

import pytest

from options.matching import CHECK, IN, OUT, OptionFacts, PatientFacts, screen

CD22 = OptionFacts(
    status="RECRUITING", target_antigens=("CD22",), prior_cd19_car_t="allowed", cns="active_excluded", countries=("CN",)
)
CD19 = OptionFacts(status="AVAILABLE", target_antigens=("CD19",), prior_cd19_car_t="allowed")
DUAL = OptionFacts(
    status="RECRUITING", target_antigens=("CD19", "CD22"), prior_cd19_car_t="excluded", cns="active_excluded"
)
AFTER_CAR_T = OptionFacts(status="RECRUITING", target_antigens=("CD22",), prior_cd19_car_t="required", cns="allowed")
TRANSPLANT = OptionFacts(status="AVAILABLE", countries=("CN",))
CHILD = PatientFacts(age_months=8 * 12, lineage="b_all", cd19="positive", cns="cns1", countries=frozenset({"CN", "KZ"}))


def patient(**changes) -> PatientFacts:
    return PatientFacts(**{**CHILD.__dict__, **changes})


def option(base: OptionFacts, **changes) -> OptionFacts:
    return OptionFacts(**{**base.__dict__, **changes})


TABLE = [
    # (name, option, patient, criterion, outcome, words in the reason)
    ("recruiting_is_open", CD22, CHILD, "status", IN, "Open"),
    ("withdrawn_is_out", option(CD22, status="WITHDRAWN", status_label="Withdrawn"), CHILD, "status", OUT, "Withdrawn"),
    ("completed_is_out", option(CD22, status="COMPLETED"), CHILD, "status", OUT, "Not open"),
    ("guide_t_all_is_not_b_all", CD22, patient(lineage="t_all"), "disease", OUT, "T-ALL"),
    ("unconfirmed_lineage_is_checked", CD22, patient(lineage="unknown"), "disease", CHECK, "not confirmed"),
    ("option_not_for_b_all", option(CD22, b_all=False), CHILD, "disease", OUT, "Not for B-cell ALL"),
    ("under_minimum_age", option(CD22, min_age_months=18 * 12), CHILD, "age", OUT, "minimum age (18 years)"),
    ("over_maximum_age", option(CD22, max_age_months=6 * 12), CHILD, "age", OUT, "maximum age (6 years)"),
    ("exact_bounds_are_in", option(CD22, min_age_months=96, max_age_months=96), CHILD, "age", IN, "Within"),
    ("no_birth_date_is_checked", CD22, patient(age_months=None), "age", CHECK, "not known"),
    ("guide_cd19_negative_rules_out_cd19_only", CD19, patient(cd19="negative"), "antigen", OUT, "negative"),
    ("cd19_negative_leaves_cd22_in", CD22, patient(cd19="negative"), "antigen", IN, "CD22"),
    ("cd19_negative_leaves_dual_in", DUAL, patient(cd19="negative"), "antigen", IN, "CD22 as well"),
    ("cd19_only_without_result_is_checked", CD19, patient(cd19=None), "antigen", CHECK, "no CD19 result"),
    ("cd19_dim_counts_as_expressed", CD19, patient(cd19="dim"), "antigen", IN, "positive"),
    ("transplant_targets_no_antigen", TRANSPLANT, patient(cd19="negative"), "antigen", IN, "Not directed"),
    ("prior_car_t_excluded", DUAL, patient(prior_cd19_car_t=True), "prior_car_t", OUT, "Excludes"),
    ("prior_car_t_allowed", CD22, patient(prior_cd19_car_t=True), "prior_car_t", IN, "after CD19 CAR-T"),
    ("prior_car_t_required_without", AFTER_CAR_T, CHILD, "prior_car_t", OUT, "Only for relapse after"),
    ("prior_car_t_required_with", AFTER_CAR_T, patient(prior_cd19_car_t=True), "prior_car_t", IN, "Accepts"),
    ("prior_car_t_not_stated", TRANSPLANT, patient(prior_cd19_car_t=True), "prior_car_t", CHECK, "does not say"),
    ("guide_cns3_excluded", CD22, patient(cns="cns3"), "cns", OUT, "CNS3"),
    ("guide_cns2_needs_review", CD22, patient(cns="cns2"), "cns", CHECK, "intrathecal"),
    ("cns_unknown_is_checked", CD22, patient(cns=None), "cns", CHECK, "not assessed"),
    ("cns3_allowed_by_option", AFTER_CAR_T, patient(cns="cns3"), "cns", IN, "allowed"),
    ("cns3_not_stated", TRANSPLANT, patient(cns="cns3"), "cns", CHECK, "does not say"),
    ("country_shared", CD22, CHILD, "country", IN, "Sites in CN"),
    ("country_elsewhere", option(CD22, countries=("US",)), CHILD, "country", OUT, "only in US"),
    ("no_locations_listed", CD19, CHILD, "country", IN, "ask where"),
    ("anywhere", option(CD22, countries=("US",)), patient(countries=None), "country", IN, "Sites in US"),
]


@pytest.mark.parametrize(("name", "opt", "pat", "criterion", "outcome", "words"), TABLE, ids=[row[0] for row in TABLE])
def test_each_criterion_says_in_or_out_and_why(name, opt, pat, criterion, outcome, words):
    reason = next(r for r in screen(opt, pat).reasons if r.criterion == criterion)
    assert reason.outcome == outcome, reason
    assert words in reason.text, reason


def test_the_result_is_out_when_any_criterion_is_out_then_check_then_in():
    assert screen(CD22, CHILD).result == IN
    assert screen(CD22, patient(cns="cns2")).result == CHECK
    assert screen(CD22, patient(cns="cns2", lineage="aml")).result == OUT
    assert len(screen(CD22, CHILD).reasons) == 7  # every criterion gives its reason, in or out


def test_a_cd19_negative_relapse_after_car_t_keeps_cd22_options_and_drops_cd19_ones():
    relapsed = patient(cd19="negative", prior_cd19_car_t=True)
    assert screen(CD22, relapsed).result == IN
    assert screen(AFTER_CAR_T, relapsed).result == IN
    assert screen(CD19, relapsed).result == OUT
    assert screen(DUAL, relapsed).result == OUT  # excludes prior CAR-T
