"""The clinical part of a packet, read from the eligibility app (clinical profile, assessments).

Kept in one module so the packet depends on eligibility through these functions only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any


def _plain(value: Any) -> Any:
    """Dataclasses, dates and tuples as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "is_finite") and hasattr(value, "as_tuple"):  # Decimal
        return str(value)
    return value


def clinical_for(case) -> dict:
    """The clinical profile as plain data, in the pre-screen rules' shape: diagnosis, CD19
    results, relapses, therapy lines, transplants, CNS assessments, Philadelphia status,
    fitness, organ function, infections, marrow; MRD results read from the therapy lines'
    responses; weight and height, infection screening and lymphocyte counts. Empty when no profile
    has been recorded yet (reading never creates one)."""
    from eligibility.models import ClinicalProfile
    from eligibility.services import profile_snapshot, snapshot_to_rules

    profile = ClinicalProfile.objects.filter(case=case).select_related("case__patient").first()
    if profile is None:
        return {}
    snapshot = profile_snapshot(profile)
    data = _plain(snapshot_to_rules(snapshot))
    data.pop("assessed_on", None)
    data.pop("date_of_birth", None)  # in the patient section already
    data["mrd_results"] = mrd_from_responses(data.get("therapy_lines") or [])
    data.update(facts_outside_rules(snapshot))
    return data


def facts_outside_rules(snapshot: dict) -> dict:
    """The facts a centre reads that the pre-screen does not (weight and height, infection
    screening, lymphocyte counts), in the rules' row shape: each with its ``row`` and ``source``."""
    from eligibility.models import FACTS_OUTSIDE_RULES

    return {
        kind: [
            {
                **{k: v for k, v in r.items() if k not in ("id", "source_document")},
                "row": r.get("id"),
                "source": r.get("source_document"),
            }
            for r in snapshot.get(kind) or []
        ]
        for kind in FACTS_OUTSIDE_RULES
    }


def mrd_from_responses(lines: list[dict]) -> list[dict]:
    """MRD status as recorded with each line's best response (e.g. "CR MRD-negative")."""
    results = []
    for line in lines:
        response = (line.get("best_response") or "").lower().replace("–", "-")
        if "mrd" not in response:
            continue
        result = "negative" if ("mrd-neg" in response or "mrd neg" in response) else "positive"
        results.append(
            {
                "date": line.get("end") or line.get("start"),
                "result": result,
                "value": None,
                "method": "",
                "context": f"after {line.get('regimen', '')}".strip(),
            }
        )
    return results


def eligibility_for(case, hospital=None) -> dict | None:
    """The latest eligibility assessment (the centre's own rule variation if it has one,
    else the base rules) with its rule-set version, or None."""
    from eligibility.selectors import latest_assessments

    assessments = list(latest_assessments(case))
    if not assessments:
        return None
    own = [a for a in assessments if hospital is not None and a.centre_id == hospital.pk]
    a = own[0] if own else next((a for a in assessments if a.centre_id is None), assessments[0])
    return {
        "verdict": a.verdict,
        "ruleset_version": a.ruleset_version,
        "assessed_on": a.assessed_on.isoformat(),
        "assessed_at": a.created_at.isoformat(),
        "assessed_by": a.run_by_label,
        "centre": a.centre.code if a.centre_id else None,
        "overridden": a.overridden,
        "criteria": _plain(a.criteria),
        "notes": _plain(a.notes),
        "disclaimer": "Pre-screen only, not medical advice: the treating haematologist at the centre decides.",
    }
