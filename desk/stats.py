"""The supervisors' figures: a handful of aggregate queries, whatever the number of cases.

Durations are whole days between dates (a case's inquiry date, the day a referral was first
sent, the day a centre accepted, the day of infusion), as the pathway counts them.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from django.db.models import Count, DateTimeField, OuterRef, Q, Subquery
from django.utils import timezone

from cases import workflow as case_workflow
from cases.models import Case
from hospitals import workflow as referral_workflow
from hospitals.models import Referral, ReferralEvent
from scheduling.models import Milestone, TreatmentEvent


@dataclass
class FunnelRow:
    status: str
    label: str
    count: int


@dataclass
class DurationRow:
    label: str
    cases: int
    median: float | None
    p90: float | None


@dataclass
class CentreRow:
    name: str
    answered: int
    on_time: int
    late: int
    overdue: int
    median_days: float | None


@dataclass
class CoordinatorRow:
    coordinator: str
    overdue: int


@dataclass
class Figures:
    funnel: list[FunnelRow]
    durations: list[DurationRow]
    centres: list[CentreRow]
    overdue_by_coordinator: list[CoordinatorRow]
    total_cases: int


def percentile(values: list[float], fraction: float) -> float | None:
    """The ``fraction`` quantile with linear interpolation between closest ranks (as
    PostgreSQL's ``percentile_cont``); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 1)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _days(start: dt.date, end: dt.date | dt.datetime | None) -> float | None:
    if end is None:
        return None
    if isinstance(end, dt.datetime):
        end = timezone.localdate(end)
    days = (end - start).days
    return float(days) if days >= 0 else None


def _funnel(cases) -> list[FunnelRow]:
    counts = dict(cases.order_by().values_list("status").annotate(n=Count("id")))
    order = case_workflow.MAIN_PATH + case_workflow.SIDE_EXITS
    return [FunnelRow(status=s, label=case_workflow.LABELS[s], count=counts.get(s, 0)) for s in order]


def _durations(cases) -> list[DurationRow]:
    first_sent = (
        Referral.objects.filter(case=OuterRef("pk"), first_sent_at__isnull=False)
        .order_by("first_sent_at")
        .values("first_sent_at")[:1]
    )
    accepted = (
        ReferralEvent.objects.filter(referral__case=OuterRef("pk"), to_status=referral_workflow.ACCEPTED)
        .order_by("at")
        .values("at")[:1]
    )
    infused = TreatmentEvent.objects.filter(
        case=OuterRef("pk"), kind=TreatmentEvent.Kind.INFUSION, status=TreatmentEvent.Status.DONE
    ).values("occurred_on")[:1]
    rows = (
        cases.order_by()
        .annotate(
            referred_at=Subquery(first_sent, output_field=DateTimeField()),
            accepted_at=Subquery(accepted, output_field=DateTimeField()),
            infused_on=Subquery(infused),
        )
        .filter(Q(referred_at__isnull=False) | Q(accepted_at__isnull=False) | Q(infused_on__isnull=False))
        .values_list("inquiry_date", "referred_at", "accepted_at", "infused_on")
    )
    to_referral: list[float] = []
    to_acceptance: list[float] = []
    to_infusion: list[float] = []
    for inquiry, referred, accepted_at, infused_on in rows:
        for values, end in ((to_referral, referred), (to_acceptance, accepted_at), (to_infusion, infused_on)):
            days = _days(inquiry, end)
            if days is not None:
                values.append(days)
    return [
        DurationRow(label=label, cases=len(values), median=_median(values), p90=percentile(values, 0.9))
        for label, values in (
            ("Inquiry to referral", to_referral),
            ("Inquiry to acceptance", to_acceptance),
            ("Inquiry to infusion", to_infusion),
        )
    ]


def _centres(user, now) -> list[CentreRow]:
    referrals = Referral.objects.visible_to(user).filter(first_sent_at__isnull=False).order_by()
    rows = referrals.values_list(
        "hospital__name_en", "status", "first_sent_at", "answered_at", "response_due_at"
    ).iterator()
    by_centre: dict[str, dict] = {}
    for name, status, sent, answered, due in rows:
        centre = by_centre.setdefault(name, {"answered": [], "on_time": 0, "late": 0, "overdue": 0})
        if answered is not None and status in referral_workflow.ANSWERS | {referral_workflow.WITHDRAWN}:
            centre["answered"].append((answered - sent).total_seconds() / 86400)
            if due is None or answered <= due:
                centre["on_time"] += 1
            else:
                centre["late"] += 1
        elif status in referral_workflow.AWAITING_ANSWER and due is not None and due < now:
            centre["overdue"] += 1
    return [
        CentreRow(
            name=name,
            answered=len(c["answered"]),
            on_time=c["on_time"],
            late=c["late"],
            overdue=c["overdue"],
            median_days=_median(c["answered"]),
        )
        for name, c in sorted(by_centre.items())
    ]


def _overdue_by_coordinator(user, now) -> list[CoordinatorRow]:
    rows = (
        Milestone.objects.visible_to(user)
        .overdue(now)
        .order_by()
        .values("case__coordinator__username")
        .annotate(n=Count("id", distinct=True))
        .values_list("case__coordinator__username", "n")
    )
    result = [CoordinatorRow(coordinator=name or "(no coordinator)", overdue=n) for name, n in rows]
    return sorted(result, key=lambda row: (-row.overdue, row.coordinator))


def service_figures(*, user, now: dt.datetime | None = None) -> Figures:
    now = now or timezone.now()
    cases = Case.objects.visible_to(user)
    funnel = _funnel(cases)
    return Figures(
        funnel=funnel,
        durations=_durations(cases),
        centres=_centres(user, now),
        overdue_by_coordinator=_overdue_by_coordinator(user, now),
        total_cases=sum(row.count for row in funnel),
    )
