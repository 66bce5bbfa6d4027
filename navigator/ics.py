"""The one way Navigator writes iCalendar (RFC 5545): scheduling's milestone feed, travel's itinerary
and the family portal's calendar all build their files here, so one thing on a case is one event
with one UID wherever a calendar imports it from.

UIDs are ``<kind>-<id>@<host>``: the kind of row ("milestone", "travel-leg", "travel-accommodation",
"travel-admission", "travel-pickup"), its primary key, and the site's host name without scheme or
port. Importing the portal's file and the API's feed into one calendar therefore updates events
instead of doubling them.

A date (``datetime.date``) is written as an all-day event (``VALUE=DATE``), with the exclusive
end RFC 5545 asks for; a moment (aware ``datetime``) in UTC unless a ``tzid`` is wanted, in which
case the caller passes it in its own zone and the VTIMEZONE definitions are added.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from icalendar import Alarm, Calendar, Event

# Kinds of UID.
MILESTONE = "milestone"
TRAVEL_LEG = "travel-leg"
TRAVEL_ACCOMMODATION = "travel-accommodation"
TRAVEL_ADMISSION = "travel-admission"
TRAVEL_PICKUP = "travel-pickup"


def uid_host() -> str:
    """The site's host name, lower case, without scheme, port or path ("navigator" if none)."""
    return (urlsplit(settings.SITE_URL).hostname or "").lower() or "navigator"


def event_uid(kind: str, pk) -> str:
    """The stable UID of one row as a calendar event."""
    return f"{kind}-{pk}@{uid_host()}"


def new_calendar(*, prodid: str, name: str, method: str = "") -> Calendar:
    cal = Calendar()
    cal.add("prodid", prodid)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    cal.add("x-wr-calname", name)
    return cal


def add_event(
    cal: Calendar,
    *,
    uid: str,
    summary: str,
    start: dt.date | dt.datetime,
    end: dt.date | dt.datetime | None = None,
    stamp: dt.datetime | None = None,
    location: str = "",
    description: str = "",
    status: str = "",
    categories: list[str] | None = None,
    transparent: bool = False,
    keep_zone: bool = False,
    alarm_before: dt.timedelta | None = None,
    last_modified: dt.datetime | None = None,
    sequence: int | None = None,
) -> Event:
    """Add one event. A ``date`` start makes an all-day event (default: one day long); an aware
    ``datetime`` a timed one in UTC (default: one hour), or in its own zone with ``keep_zone``."""
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp or timezone.now())
    event.add("summary", summary)
    if isinstance(start, dt.datetime):
        if end is None:
            end = start + dt.timedelta(hours=1)
        if not keep_zone:
            start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    elif end is None:
        end = start + dt.timedelta(days=1)  # all-day DTEND is exclusive
    event.add("dtstart", start)
    event.add("dtend", end)
    if location:
        event.add("location", location)
    if description:
        event.add("description", description)
    if status:
        event.add("status", status)
    if categories:
        event.add("categories", categories)
    if transparent:
        event.add("transp", "TRANSPARENT")
    if last_modified is not None:
        event.add("last-modified", last_modified)
    if sequence is not None:
        event.add("sequence", sequence)
    if alarm_before is not None:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", -alarm_before)
        event.add_component(alarm)
    cal.add_component(event)
    return event


def to_bytes(cal: Calendar, *, with_time_zones: bool = False) -> bytes:
    if with_time_zones:
        cal.add_missing_timezones()
    return cal.to_ical()
