"""Travel dates on the case's pathway, through the scheduling machinery.

One milestone per thing someone must act on, under a stable key:

- ``travel-visa:<visa id>``: the step the visa waits for, due the visa deadline (N days
  before the first departure, or before admission while no flight is booked);
- ``travel-departure:<leg id>``: the first flight of each journey, due at take-off;
- ``travel-admission:<admission id>``: the admission day, 08:00 at the centre.

``travel_milestones_sync`` recomputes the whole set for a case and upserts, moves,
cancels or completes milestones to match, so any change of a date (or a deletion) moves
the reminders with it. It runs inside the writer's transaction.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.utils import timezone

from scheduling.models import Milestone, MilestoneKind
from scheduling.services import milestone_cancel, milestone_complete, milestone_upsert

from .models import Admission, Leg, VisaApplication, visa_lead_days

PREFIX = "travel-"
ADMISSION_HOUR = 8
VISA_DEADLINE_HOUR = 9


@dataclass(frozen=True)
class Wanted:
    key: str
    due_at: dt.datetime
    title: str
    concerns_family: bool
    hospital: object = None
    source: object = None


def _at(day: dt.date, hour: int, zone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zoneinfo.ZoneInfo(zone))


VISA_STEPS = {
    # status: (title, whether the family acts)
    VisaApplication.Status.NOT_STARTED: ("Request the invitation letter for {name}'s visa", False),
    VisaApplication.Status.INVITATION_REQUESTED: ("Invitation letter for {name}: follow up with the centre", False),
    VisaApplication.Status.INVITATION_RECEIVED: ("Submit the visa application for {name}", True),
    VisaApplication.Status.SUBMITTED: ("Visa for {name}: collect the passport with the visa", True),
}


def wanted_milestones(*, case, now: dt.datetime | None = None) -> tuple[dict[str, Wanted], set[str]]:
    """The travel milestones a case should have now, and the keys of events already past."""
    now = now or timezone.now()
    wanted: dict[str, Wanted] = {}
    done: set[str] = set()
    legs = list(Leg.objects.filter(case=case).select_related("journey").order_by("departure_at", "id"))
    admissions = list(Admission.objects.filter(case=case).select_related("hospital"))

    first_of_journey: dict[int, Leg] = {}
    for leg in legs:
        first_of_journey.setdefault(leg.journey_id, leg)
    for leg in first_of_journey.values():
        key = f"{PREFIX}departure:{leg.pk}"
        if leg.departure_at <= now:
            done.add(key)
            continue
        local = leg.departure_local
        wanted[key] = Wanted(
            key=key,
            due_at=leg.departure_at,
            title=f"{leg.journey.get_direction_display()}: flight {leg} departs {local:%Y-%m-%d %H:%M} local time",
            concerns_family=True,
            source=leg,
        )

    active_admissions = []
    for admission in admissions:
        key = f"{PREFIX}admission:{admission.pk}"
        if admission.status in (Admission.Status.ADMITTED, Admission.Status.DISCHARGED):
            done.add(key)
            continue
        if admission.status == Admission.Status.CANCELLED:
            continue
        active_admissions.append(admission)
        ward = f", ward {admission.ward}" if admission.ward else ""
        wanted[key] = Wanted(
            key=key,
            due_at=_at(admission.admission_date, ADMISSION_HOUR, admission.hospital.time_zone or "Asia/Shanghai"),
            title=f"Admission at {admission.hospital}{ward}",
            concerns_family=True,
            hospital=admission.hospital,
            source=admission,
        )

    # The visa deadline: N days before the first outbound flight still to come; while no
    # flight is booked, N days before the admission.
    lead = dt.timedelta(days=visa_lead_days())
    outbound = [
        leg for leg in legs if leg.journey.direction == leg.journey.Direction.OUTBOUND and leg.departure_at > now
    ]
    if outbound:
        first = outbound[0]
        deadline = _at(first.departure_local.date() - lead, VISA_DEADLINE_HOUR, first.departure_tz)
    elif active_admissions:
        admission = min(active_admissions, key=lambda a: a.admission_date)
        deadline = _at(admission.admission_date - lead, VISA_DEADLINE_HOUR, admission.hospital.time_zone)
    else:
        deadline = None
    visas = VisaApplication.objects.filter(case=case).select_related("traveller")
    for visa in visas:
        key = f"{PREFIX}visa:{visa.pk}"
        name = visa.traveller.full_name
        if visa.status in VisaApplication.READY_STATUSES:
            done.add(key)
        elif visa.status == VisaApplication.Status.REFUSED:
            decided = visa.decided_on or timezone.localdate()
            wanted[key] = Wanted(
                key=key,
                due_at=_at(decided, VISA_DEADLINE_HOUR, "UTC"),
                title=f"Visa refused for {name}: reapply or re-plan the travel",
                concerns_family=False,
                source=visa,
            )
        elif deadline is not None:
            title, family_acts = VISA_STEPS[visa.status]
            wanted[key] = Wanted(
                key=key,
                due_at=deadline,
                title=title.format(name=name),
                concerns_family=family_acts,
                source=visa,
            )
    return wanted, done


def travel_milestones_sync(*, case, now: dt.datetime | None = None) -> None:
    """Make the case's travel milestones match its travel data (idempotent)."""
    wanted, done = wanted_milestones(case=case, now=now)
    existing = {
        m.key: m
        for m in Milestone.objects.filter(case=case, key__startswith=PREFIX, status__in=Milestone.OPEN_STATUSES)
    }
    for key, milestone in existing.items():
        if key in wanted:
            continue
        if key in done:
            milestone_complete(milestone=milestone)
        else:
            milestone_cancel(case=case, key=key)
    for spec in wanted.values():
        current = existing.get(spec.key)
        if (
            current is not None
            and current.due_at == spec.due_at
            and current.title == spec.title[:200]
            and current.concerns_family == spec.concerns_family
            and current.hospital_id == getattr(spec.hospital, "pk", None)
        ):
            continue  # unchanged: no write
        milestone_upsert(
            case=case,
            key=spec.key,
            kind=MilestoneKind.TRAVEL,
            due_at=spec.due_at,
            title=spec.title,
            concerns_family=spec.concerns_family,
            hospital=spec.hospital,
            source=spec.source,
        )
