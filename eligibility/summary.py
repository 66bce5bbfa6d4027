"""The plain-language summary of an assessment for the family, in their language.

Built from the assessment's stored outcomes with gettext strings, so translators see every
sentence; the statement that the treating haematologist decides is always part of it.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from . import rules

# Shown on every staff screen with an eligibility result (admin pages, the API): the README's promise.
STAFF_NOTICE = "A pre-screen only: the treating haematologist decides; nothing is guaranteed."


def disclaimer(language: str) -> str:
    with translation.override(language):
        return _(
            "The treating haematologist at the hospital decides whether CAR-T therapy is right for the patient. "
            "This summary is not medical advice, and nothing is guaranteed: not access, not eligibility, "
            "not the result of treatment."
        )


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
        rules.INCOMPLETE: _(
            "We cannot say yet whether CD19 CAR-T therapy is possible: some information is still missing."
        ),
    }[verdict]


def _criterion_label(criterion: str) -> str:
    return {
        "diagnosis": _("Type of leukaemia"),
        "cd19": _("CD19 marker on the leukaemia cells"),
        "age": _("Age"),
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
        "disease_status": _("the treatment history with dates and responses, including any relapse"),
        "post_transplant": _(
            "the transplant record, and whether the patient still takes immunosuppressive medicine or has active GvHD"
        ),
        "cns": _("the latest spinal fluid (CSF) result"),
        "philadelphia": _("the cytogenetic or molecular report (BCR::ABL1)"),
    }[criterion]


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
    }.get(code)


def render(assessment, language: str) -> str:
    """The summary text of an assessment in ``language``."""
    with translation.override(language):
        lines = [
            _("Pre-screen summary for case %(reference)s") % {"reference": assessment.case.reference},
            "",
            _verdict_text(assessment.verdict),
            "",
        ]
        for c in assessment.criteria:
            lines.append(f"• {_criterion_label(c['criterion'])}: {_outcome_text(c['outcome'])}")
        missing = [c["criterion"] for c in assessment.criteria if c["outcome"] == rules.MISSING]
        if missing:
            lines += ["", _("What we still need:")]
            lines += [f"• {_missing_hint(m)}" for m in missing]
        notes = [t for t in (_note_text(n["code"]) for n in assessment.notes) if t]
        if notes:
            lines += ["", _("Good to know:")]
            lines += [f"• {t}" for t in notes]
        lines += ["", disclaimer(language)]
        return "\n".join(lines)
