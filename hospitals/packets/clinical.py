"""The clinical part of a packet, read from the eligibility app (clinical profile, assessments).

Kept in one module so the packet depends on eligibility through two functions only.
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
    """The clinical profile as plain data: diagnosis, CD19 results, relapses, therapy lines,
    transplants, CNS assessments, Philadelphia status, fitness, MRD results. Empty when no
    profile has been recorded yet."""
    try:
        from eligibility import selectors
    except ImportError:
        return {}
    profile_of = getattr(selectors, "profile_for", None)
    if profile_of is None:
        return {}
    profile = profile_of(case)
    if profile is None:
        return {}
    data = _plain(profile)
    mrd_of = getattr(selectors, "mrd_results_for", None)
    if mrd_of is not None and "mrd_results" not in data:
        data["mrd_results"] = _plain(mrd_of(case))
    return data


def eligibility_for(case) -> dict | None:
    """The latest eligibility assessment with its rule-set version, or None."""
    try:
        from eligibility import selectors
    except ImportError:
        return None
    latest = getattr(selectors, "latest_assessments", None)
    if latest is None:
        return None
    assessments = list(latest(case) or [])
    if not assessments:
        return None
    return _assessment_as_dict(assessments[0])


def _assessment_as_dict(assessment) -> dict:
    if isinstance(assessment, dict):
        return _plain(assessment)
    fields = ("verdict", "ruleset_version", "created_at", "assessed_at", "assessed_on", "criteria", "results", "notes")
    data = {}
    for name in fields:
        if hasattr(assessment, name):
            data[name] = _plain(getattr(assessment, name))
    by = getattr(assessment, "created_by", None) or getattr(assessment, "assessed_by", None)
    if by is not None:
        data["assessed_by"] = by.get_username() if hasattr(by, "get_username") else str(by)
    if hasattr(assessment, "centre") and assessment.centre:
        data["centre"] = str(assessment.centre)
    return data
