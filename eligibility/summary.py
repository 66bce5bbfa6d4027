"""The plain-language summary of an assessment for the family, in their language.

Built from the assessment's stored outcomes with gettext strings, so translators see every
sentence; the statement that the treating haematologist decides is always part of it.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from . import rules
from .wording import CAN_CHANGE, PERMANENT, meaning

# Shown on every staff screen with an eligibility result (admin pages, the API): the README's promise.
STAFF_NOTICE = "A pre-screen only: the treating haematologist decides; nothing is guaranteed."


def disclaimer(language: str) -> str:
    with translation.override(language):
        return _(
            "The treating haematologist at the hospital decides whether CAR-T therapy is right for the patient. "
            "This summary is not medical advice, and nothing is guaranteed: not access, not eligibility, "
            "not the result of treatment."
        )


PERMANENT_NOT_ELIGIBLE = "not_eligible_permanent"
CHANGEABLE_NOT_ELIGIBLE = "not_eligible_can_change"


def family_verdict(verdict: str, criteria: list[dict]) -> str:
    """The verdict as a family reads it: "not eligible" says whether a reason can change."""
    if verdict != rules.NOT_ELIGIBLE:
        return verdict
    kinds = {(meaning(c.get("code") or "") or _NO_MEANING).kind for c in criteria if c["outcome"] == rules.NOT_MET}
    if kinds and kinds <= {PERMANENT}:
        return PERMANENT_NOT_ELIGIBLE
    if CAN_CHANGE in kinds:
        return CHANGEABLE_NOT_ELIGIBLE
    return verdict


class _NoMeaning:
    kind = ""


_NO_MEANING = _NoMeaning()


def _verdict_text(verdict: str) -> str:
    return {
        rules.LIKELY_ELIGIBLE: _(
            "From the records we have, CD19 CAR-T therapy looks possible. The next step is a review by the treating "
            "centre's doctors."
        ),
        rules.NEEDS_SPECIALIST_REVIEW: _(
            "From the records we have, CD19 CAR-T therapy may be possible, but a specialist needs to look at some "
            "points first."
        ),
        rules.NOT_ELIGIBLE: _(
            "From the records we have, CD19 CAR-T therapy does not look possible at the moment. Your coordinator "
            "will explain why and talk with you about other options."
        ),
        PERMANENT_NOT_ELIGIBLE: _(
            "From the records we have, CD19 CAR-T therapy does not fit this situation. Your coordinator will talk "
            "with you about other options."
        ),
        CHANGEABLE_NOT_ELIGIBLE: _(
            "From the records we have, CD19 CAR-T therapy is not possible at the moment. Some of the reasons can "
            "change; below we say what would need to change. Your coordinator will also talk with you about other "
            "options."
        ),
        rules.INCOMPLETE: _(
            "We cannot say yet whether CD19 CAR-T therapy is possible: some information is still missing."
        ),
    }[verdict]


def _criterion_label(criterion: str) -> str:
    return {
        "diagnosis": _("Type of leukaemia"),
        "cd19": _("CD19 marker on the leukaemia cells"),
        "age": _("Age"),
        "fitness": _("General condition (performance status)"),
        "organ_function": _("Kidneys, heart, liver and breathing"),
        "infection": _("Infections"),
        "disease_status": _("Course of the disease (relapse or resistance to treatment)"),
        "post_transplant": _("Situation after a stem-cell transplant"),
        "cns": _("Brain and spinal fluid (CNS)"),
        "philadelphia": _("Philadelphia chromosome (BCR::ABL1)"),
    }[criterion]


def _outcome_text(outcome: str) -> str:
    return {
        rules.MET: _("meets the usual requirement."),
        rules.NOT_MET: _("does not meet the usual requirement at the moment."),
        rules.NEEDS_REVIEW: _("a specialist needs to look at this."),
        rules.MISSING: _("we still need information."),
    }[outcome]


def _missing_hint(criterion: str) -> str:
    return {
        "diagnosis": _("the report that confirms the type of leukaemia by flow cytometry (immunophenotyping)"),
        "cd19": _(
            "a recent CD19 test by flow cytometry from bone marrow or blood, taken after the latest relapse or treatment"
        ),
        "age": _("the patient's date of birth"),
        "fitness": _("a recent assessment of the patient's general condition (performance status) from the doctor"),
        "organ_function": _("recent results of kidney, heart, liver and oxygen tests"),
        "infection": _("whether the patient has an infection at the moment"),
        "disease_status": _("the treatment history with dates and responses, including any relapse"),
        "post_transplant": _(
            "the transplant record, and whether the patient still takes immunosuppressive medicine or has active GvHD"
        ),
        "cns": _("the latest spinal fluid (CSF) result"),
        "philadelphia": _("the cytogenetic or molecular report (BCR::ABL1)"),
    }[criterion]


def _missing_text(criterion: dict) -> str:
    m = meaning(criterion.get("code") or "")
    return str(m.family) if m is not None else _missing_hint(criterion["criterion"])


def _note_text(code: str) -> str | None:
    return {
        "ph_tki_continues": _(
            "Because the leukaemia is Philadelphia-positive, the tablet medicine (TKI) usually continues alongside "
            "or after CAR-T."
        ),
        "post_transplant_gvhd_risk": _(
            "After a donor transplant, the doctors will discuss the risk of graft-versus-host disease if the CAR-T "
            "cells are made from the donor's cells."
        ),
        "cns2_intrathecal": _("Treatment into the spinal fluid (intrathecal) to protect the brain usually continues."),
        "older_adult_fitness": _(
            "Adults in their 60s and 70s have been treated; the doctors look at overall fitness rather than age."
        ),
        "rituximab_no_effect": _("Earlier treatment with rituximab does not affect the CD19 marker."),
        "prior_cd22_directed": _("The doctors will want the dates and results of the earlier treatment against CD22."),
    }.get(code)


def render(assessment, language: str) -> str:
    """The summary text of an assessment in ``language``."""
    with translation.override(language):
        lines = [
            _("Pre-screen summary for case %(reference)s") % {"reference": assessment.case.reference},
            "",
            _verdict_text(family_verdict(assessment.verdict, assessment.criteria)),
            "",
        ]
        for c in assessment.criteria:
            lines.append(f"• {_criterion_label(c['criterion'])}: {_outcome_text(c['outcome'])}")
        explained = [
            (c, meaning(c.get("code") or ""))
            for c in assessment.criteria
            if c["outcome"] in (rules.NOT_MET, rules.NEEDS_REVIEW) and meaning(c.get("code") or "")
        ]
        if explained:
            lines += ["", _("What this means:")]
            lines += [f"• {_criterion_label(c['criterion'])}: {m.family}" for c, m in explained]
        missing = [c for c in assessment.criteria if c["outcome"] == rules.MISSING]
        if missing:
            lines += ["", _("What we still need:")]
            lines += [f"• {_missing_text(c)}" for c in missing]
        notes = [t for t in (_note_text(n["code"]) for n in assessment.notes) if t]
        if notes:
            lines += ["", _("Good to know:")]
            lines += [f"• {t}" for t in notes]
        lines += ["", disclaimer(language)]
        return "\n".join(lines)
