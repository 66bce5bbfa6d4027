"""Named read queries of eligibility coordination."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import connections
from django.db.models import Model, Q, QuerySet

from cases.models import Case

from .models import Assessment, ClinicalProfile, FamilySummary

M = TypeVar("M", bound=Model)


def first_per(queryset: QuerySet[M], field: str) -> list[M]:
    """The first row of each ``field`` value, in the queryset's order (which must start with ``field``).

    PostgreSQL does it in the query (DISTINCT ON); SQLite, used by the embedded demo, cannot,
    so the rows are skipped here instead.
    """
    if connections[queryset.db].features.can_distinct_on_fields:
        return list(queryset.distinct(field))
    first: dict[Any, M] = {}
    for row in queryset:
        first.setdefault(getattr(row, field), row)
    return list(first.values())


def latest_assessments(case: Case) -> list[Assessment]:
    """The latest assessment for the base rules and for each current target centre, base rules first.

    A centre no longer targeted keeps its history (``assessment_history``) but is not listed here.
    """
    ordered = (
        Assessment.objects.filter(case=case)
        .filter(Q(centre__isnull=True) | Q(centre__in=case.target_centres.all()))
        .select_related("centre", "run_by")
        .order_by("centre_id", "-created_at", "-id")
    )
    latest = first_per(ordered, "centre_id")
    return sorted(latest, key=lambda a: (a.centre is not None, a.centre.name_en if a.centre is not None else ""))


def assessment_history(case: Case, centre=None):
    """Every assessment of a case against one rule set (base when ``centre`` is None), newest first."""
    qs = Assessment.objects.filter(case=case).select_related("centre", "run_by")
    return qs.filter(centre__isnull=True) if centre is None else qs.filter(centre=centre)


def family_summary_published(case: Case, language: str | None = None):
    qs = FamilySummary.objects.published().filter(case=case).select_related("assessment")
    return qs.filter(language=language) if language else qs


def philadelphia_positive_since(case: Case):
    """The date Ph+ (BCR::ABL1) was found, when the clinical profile says the case is Ph+ (else None).

    Without a test date, the day the profile was last changed stands in for it.
    """
    row = (
        ClinicalProfile.objects.filter(case_id=case.pk, philadelphia_status="positive")
        .values("philadelphia_date", "updated_at")
        .first()
    )
    if row is None:
        return None
    return row["philadelphia_date"] or row["updated_at"].date()
