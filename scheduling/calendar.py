"""A case's milestones as an iCalendar feed (.ics), for the coordinator's and the family's calendars."""

from __future__ import annotations

import datetime as dt

from navigator import ics

from .models import Milestone


def milestones_ics(*, case, milestones) -> bytes:
    """Each milestone an event at its due time; cancelled ones are sent as CANCELLED so calendars drop them."""
    cal = ics.new_calendar(prodid="-//Navigator//Case milestones//EN", name=f"Navigator {case.reference}")
    for m in milestones:
        status = {Milestone.Status.CANCELLED: "CANCELLED", Milestone.Status.DONE: "CONFIRMED"}.get(
            m.status, "CONFIRMED"
        )
        ics.add_event(
            cal,
            uid=ics.event_uid(ics.MILESTONE, m.pk),
            summary=f"{m.title} ({case.reference})",
            start=m.due_at,
            status=status,
            categories=[str(m.get_kind_display())],
            last_modified=m.updated_at,
            sequence=int(m.updated_at.timestamp()) % 2_000_000_000,
            alarm_before=dt.timedelta(days=1) if m.is_open else None,
        )
    return ics.to_bytes(cal)
