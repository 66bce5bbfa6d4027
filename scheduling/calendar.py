"""A case's milestones as an iCalendar feed (.ics), for the coordinator's and the family's calendars."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from icalendar import Alarm, Calendar, Event

from .models import Milestone


def milestones_ics(*, case, milestones) -> bytes:
    """Each milestone an event at its due time; cancelled ones are sent as CANCELLED so calendars drop them."""
    cal = Calendar()
    cal.add("prodid", "-//Navigator//Case milestones//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Navigator {case.reference}")
    host = settings.SITE_URL.split("://")[-1].split("/")[0] or "navigator"
    now = timezone.now()
    for m in milestones:
        event = Event()
        event.add("uid", f"milestone-{m.pk}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", m.due_at.astimezone(dt.UTC))
        event.add("dtend", m.due_at.astimezone(dt.UTC) + dt.timedelta(hours=1))
        event.add("summary", f"{m.title} ({case.reference})")
        event.add("last-modified", m.updated_at)
        event.add("sequence", int(m.updated_at.timestamp()) % 2_000_000_000)
        status = {
            Milestone.Status.CANCELLED: "CANCELLED",
            Milestone.Status.DONE: "CONFIRMED",
        }.get(m.status, "CONFIRMED")
        event.add("status", status)
        event.add("categories", [m.get_kind_display()])
        if m.is_open:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", m.title)
            alarm.add("trigger", dt.timedelta(days=-1))
            event.add_component(alarm)
        cal.add_component(event)
    return cal.to_ical()
