"""A case's milestones as an iCalendar feed (.ics), for the coordinator's and the family's calendars."""

from __future__ import annotations

import datetime as dt

from navigator import ics

from .models import Milestone
from .services import milestone_centre_day, milestone_period_start


def milestones_ics(*, case, milestones) -> bytes:
    """Each milestone an event (a pathway date all day on the centre's calendar, others at their time); cancelled ones are sent as CANCELLED so calendars drop them."""
    cal = ics.new_calendar(prodid="-//Navigator//Case milestones//EN", name=f"Navigator {case.reference}")
    for m in milestones:
        status = {Milestone.Status.CANCELLED: "CANCELLED", Milestone.Status.DONE: "CONFIRMED"}.get(
            m.status, "CONFIRMED"
        )
        # Pathway dates are all-day dates on the centre's calendar; the stay is a period to its last day.
        day = milestone_centre_day(m)
        ics.add_event(
            cal,
            uid=ics.event_uid(ics.MILESTONE, m.pk),
            summary=f"{m.title} ({case.reference})",
            start=milestone_period_start(m) or day or m.due_at,
            end=day + dt.timedelta(days=1) if day else None,
            status=status,
            categories=[str(m.get_kind_display())],
            last_modified=m.updated_at,
            sequence=int(m.updated_at.timestamp()) % 2_000_000_000,
            alarm_before=dt.timedelta(days=1) if m.is_open else None,
        )
    return ics.to_bytes(cal)
