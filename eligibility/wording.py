"""What each outcome of the pre-screen means, in words for coordinators and for families.

Every code a rule gives (``CriterionResult.code``, see ``eligibility.rules``) that is not "met"
has one entry: whether it is permanent or can change, what would change it, and the sentence a
family reads. Family sentences never promise: they say what the records show and what happens
next; the treating haematologist decides. All strings are translated (English, Simplified
Chinese, Arabic, Russian for families; the staff catalog in Simplified Chinese).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# How lasting a blocker is.
PERMANENT = "permanent"  # waiting does not change it (for this treatment)
CAN_CHANGE = "can_change"  # it may resolve; the wording says what would change it
TO_REVIEW = "review"  # a specialist decides
TO_COMPLETE = "missing"  # information is needed


@dataclass(frozen=True)
class Meaning:
    kind: str
    coordinator: Promise  # what it means and what would change it, for the coordinator
    family: Promise  # the same for the family, in plain words, without promises


MEANINGS: dict[str, Meaning] = {
    # diagnosis
    "not_b_all": Meaning(
        PERMANENT,
        _("Permanent for this pathway: CD19 CAR-T treats B-cell ALL; T-ALL and AML do not carry the CD19 target."),
        _(
            "CD19 CAR-T is a treatment for B-cell leukaemia. The records show a different type, so this treatment "
            "does not fit. Your coordinator will talk with you about other options."
        ),
    ),
    "lineage_unconfirmed": Meaning(
        TO_COMPLETE,
        _("Needed: flow cytometry or immunophenotyping that confirms B lineage."),
        _("We need the report that confirms the type of leukaemia by flow cytometry."),
    ),
    # CD19
    "cd19_negative": Meaning(
        PERMANENT,
        _(
            "Does not change by waiting: CD19-negative disease is not a target for CD19 CAR-T. A new sample would "
            "change it only if it showed CD19; other targets (e.g. CD22) can be discussed with the centre."
        ),
        _(
            "The latest test shows that the leukaemia cells do not carry the CD19 marker that this treatment "
            "targets. Waiting does not change this. Your coordinator will talk with you about other options."
        ),
    ),
    "cd19_conflict": Meaning(
        TO_REVIEW,
        _("Review: results of the same day disagree; the specialist rules out CD19-negative escape."),
        _("Two CD19 tests from the same day disagree. A specialist will look at both."),
    ),
    "cd19_dim": Meaning(
        TO_REVIEW,
        _("Review: dim or partial CD19 expression."),
        _("The CD19 marker is weak on some cells. A specialist will look at the report."),
    ),
    "cd19_sample_method": Meaning(
        TO_REVIEW,
        _("Review: CD19 not shown by flow cytometry on marrow or blood; centres may ask for a new sample."),
        _("The CD19 test was done in a way centres do not usually rely on. A specialist will look at it."),
    ),
    "cd19_prior_directed_therapy": Meaning(
        TO_REVIEW,
        _("Review: prior CD19-directed therapy (blinatumomab, CD19 CAR-T); the centre judges re-treatment."),
        _("There was an earlier treatment against CD19. A specialist will look at what this means now."),
    ),
    "cd19_before_relapse": Meaning(
        TO_COMPLETE,
        _("Needed: a CD19 result taken after the latest relapse."),
        _("We need a new CD19 test taken after the latest relapse."),
    ),
    "cd19_before_therapy": Meaning(
        TO_COMPLETE,
        _("Needed: a CD19 result taken after the latest CD19-directed therapy."),
        _("We need a new CD19 test taken after the latest treatment against CD19."),
    ),
    "cd19_stale": Meaning(
        TO_COMPLETE,
        _("Needed: a CD19 result within the validity window (ELIANA: within 3 months); re-test."),
        _("The latest CD19 test is too old. We need a recent one."),
    ),
    # age
    "age_below_centre_minimum": Meaning(
        CAN_CHANGE,
        _("Can change: below this centre's minimum age; another centre or a later date may apply."),
        _("The patient is younger than this centre accepts. Other centres may have different limits."),
    ),
    "age_above_centre_maximum": Meaning(
        PERMANENT,
        _("Permanent at this centre: above its maximum age; the base rules have no upper limit, other centres may."),
        _("The patient is older than this centre accepts. Other centres may have different limits."),
    ),
    "age_under_one": Meaning(
        TO_REVIEW,
        _("Review: under 1 year needs an individual assessment (weight-based dosing)."),
        _("For a child under one year, the doctors decide individually."),
    ),
    # fitness
    "fitness_poor": Meaning(
        CAN_CHANGE,
        _("Can change: performance status below the protocols' minimum; a new score after recovery is re-assessed."),
        _(
            "The patient's general condition is weaker than treatment centres usually require at the moment. "
            "This can change: if the general condition improves, the doctors can look again."
        ),
    ),
    "fitness_borderline": Meaning(
        TO_REVIEW,
        _("Review: borderline performance status (ECOG 2, Karnofsky/Lansky 50-60)."),
        _("A specialist will look at the patient's general condition."),
    ),
    "fitness_missing": Meaning(
        TO_COMPLETE,
        _("Needed: a current performance score on the scale for the age (Lansky under 16, Karnofsky, ECOG adults)."),
        _("We need a recent assessment of the patient's general condition (performance status) from the doctor."),
    ),
    "fitness_stale": Meaning(
        TO_COMPLETE,
        _("Needed: a current performance score (the latest is older than the validity window)."),
        _("We need a recent assessment of the patient's general condition (performance status) from the doctor."),
    ),
    # organ function
    "organ_function_outside": Meaning(
        CAN_CHANGE,
        _("Can change: organ function outside the usual limits; repeat tests after recovery are re-assessed."),
        _(
            "Some organ tests (kidneys, heart, liver or breathing) are outside the limits centres usually require "
            "at the moment. This can change: if the values recover, the doctors can look again."
        ),
    ),
    "organ_missing": Meaning(
        TO_COMPLETE,
        _("Needed: current creatinine clearance or eGFR, LVEF, bilirubin, ALT, AST and SpO2 with units."),
        _("We need recent results of kidney, heart, liver and oxygen tests."),
    ),
    # infection
    "infection_uncontrolled": Meaning(
        CAN_CHANGE,
        _("Can change: an uncontrolled infection; once it is controlled on treatment the case is re-assessed."),
        _(
            "There is an infection that is not yet under control. This can change: once the infection is "
            "controlled, the doctors can look again."
        ),
    ),
    "infection_controlled": Meaning(
        TO_REVIEW,
        _("Review: an active infection under control."),
        _("A specialist will look at the infection that is being treated."),
    ),
    "infection_unknown": Meaning(
        TO_COMPLETE,
        _("Needed: check the records for active infection and record the date checked."),
        _("We need to know whether the patient has an infection at the moment."),
    ),
    # disease status
    "in_remission": Meaning(
        CAN_CHANGE,
        _(
            "Not relapsed/refractory now: the latest marrow shows remission. CAR-T would be considered again only "
            "if the disease returned (morphological or molecular relapse)."
        ),
        _(
            "The latest bone marrow test shows remission. CAR-T is a treatment for leukaemia that has come back or "
            "has not responded, so it is not needed at the moment. Your coordinator will explain the next steps."
        ),
    ),
    "not_relapsed_refractory": Meaning(
        CAN_CHANGE,
        _("Not relapsed/refractory: no relapse and not primary refractory; this pathway applies only if that changes."),
        _(
            "CAR-T is a treatment for leukaemia that has come back or has not responded. From the records, this "
            "is not the case, so it is not needed at the moment."
        ),
    ),
    "centre_minimum_lines": Meaning(
        CAN_CHANGE,
        _("Can change: fewer prior lines than this centre requires."),
        _("This centre asks for more earlier treatments than the patient has had. Other centres may differ."),
    ),
    "late_first_relapse": Meaning(
        TO_REVIEW,
        _(
            "Review: late first relapse (first remission over 12 months); not a standard candidate under "
            "ELIANA/ZUMA-3 definitions, salvage treatment is often tried first."
        ),
        _("The leukaemia came back after a long first remission. A specialist will advise on the best next step."),
    ),
    "molecular_disease_only": Meaning(
        TO_REVIEW,
        _("Review: molecular disease only (MRD-positive, under 5 % blasts); the pivotal trials enrolled 5 % or more."),
        _("The leukaemia is found only by a very sensitive test. A specialist will look at what this means."),
    ),
    "history_missing": Meaning(
        TO_COMPLETE,
        _("Needed: treatment history by line with dates and responses, relapses, refractory status."),
        _("We need the treatment history with dates and responses, including any relapse."),
    ),
    "marrow_missing": Meaning(
        TO_COMPLETE,
        _("Needed: the latest bone marrow (blasts, MRD with method and sensitivity)."),
        _("We need the latest bone marrow report (blasts and MRD)."),
    ),
    "marrow_before_relapse": Meaning(
        TO_COMPLETE,
        _("Needed: a bone marrow taken after the latest relapse."),
        _("We need a bone marrow report from after the latest relapse."),
    ),
    "marrow_stale": Meaning(
        TO_COMPLETE,
        _("Needed: a current bone marrow (the latest is older than the validity window)."),
        _("We need a recent bone marrow report."),
    ),
    "marrow_incomplete": Meaning(
        TO_COMPLETE,
        _("Needed: both blasts and MRD of the latest marrow."),
        _("We need both the blast count and the MRD result of the latest bone marrow."),
    ),
    "first_remission_missing": Meaning(
        TO_COMPLETE,
        _("Needed: the date of the first complete remission (early vs late first relapse, ZUMA-3)."),
        _("We need the date the first remission was reached."),
    ),
    # transplant
    "immunosuppression_or_gvhd": Meaning(
        CAN_CHANGE,
        _("Can change: on immunosuppression or active GvHD; once both have resolved the case is re-assessed."),
        _(
            "After the transplant, the patient still takes medicine that suppresses the immune system, or has "
            "active graft-versus-host disease. This can change: once this has resolved, the doctors can look again."
        ),
    ),
    # CNS
    "cns3": Meaning(
        CAN_CHANGE,
        _("Can change: active CNS disease (CNS3); a clear CSF after CNS-directed therapy is re-assessed."),
        _(
            "There is leukaemia in the spinal fluid at the moment, which most standard treatment plans exclude. "
            "This can change: if treatment clears it, the doctors can look again."
        ),
    ),
    "cns2_excluded": Meaning(
        CAN_CHANGE,
        _("Can change: this centre excludes CNS2; a clear CSF or another centre may apply."),
        _("This centre does not accept the current spinal fluid finding. Other centres may differ."),
    ),
    "cns2_review": Meaning(
        TO_REVIEW,
        _("Review: CNS2 may be permissible with intrathecal prophylaxis."),
        _("A specialist will look at the spinal fluid result."),
    ),
    "cns3_review": Meaning(
        TO_REVIEW,
        _("Review: CNS3 at a centre that reviews active CNS disease."),
        _("A specialist will look at the spinal fluid result."),
    ),
    "cns_before_relapse": Meaning(
        TO_COMPLETE,
        _("Needed: a CSF result taken after the latest relapse."),
        _("We need a spinal fluid (CSF) result from after the latest relapse."),
    ),
    "cns_stale": Meaning(
        TO_COMPLETE,
        _("Needed: a current CSF result (the latest is older than the validity window)."),
        _("We need a recent spinal fluid (CSF) result."),
    ),
}


def meaning(code: str) -> Meaning | None:
    return MEANINGS.get(code)


KIND_LABELS = {
    PERMANENT: _("permanent"),
    CAN_CHANGE: _("can change"),
    TO_REVIEW: _("specialist review"),
    TO_COMPLETE: _("information needed"),
}


def coordinator_text(criterion: dict) -> str:
    """The coordinator's line for one stored criterion: what it means and what would change it."""
    m = meaning(criterion.get("code") or "")
    return str(m.coordinator) if m else ""


def blocker_kind(criterion: dict) -> str:
    m = meaning(criterion.get("code") or "")
    return m.kind if m else ""
