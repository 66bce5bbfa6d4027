"""Quiet hours: a daily period in the recipient's own time zone when nothing is sent to them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _at(day: dt.date, clock: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """``clock`` on ``day`` in ``tz``; a clock time skipped by a daylight-saving change becomes
    the first moment after the gap (normalised through UTC)."""
    return dt.datetime.combine(day, clock, tzinfo=tz).astimezone(dt.UTC).astimezone(tz)


def is_quiet(moment: dt.datetime, *, start: dt.time, end: dt.time, time_zone: str) -> bool:
    """Whether ``moment`` falls in the quiet period ``start``-``end`` (local clock times; the
    period may cross midnight, e.g. 21:00-08:00). Equal ends: no quiet period."""
    if start == end:
        return False
    clock = moment.astimezone(zone(time_zone)).time().replace(tzinfo=None)
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def after_quiet(moment: dt.datetime, *, start: dt.time, end: dt.time, time_zone: str) -> dt.datetime:
    """``moment`` itself outside quiet hours; otherwise the end of the quiet period it falls in."""
    if not is_quiet(moment, start=start, end=end, time_zone=time_zone):
        return moment
    tz = zone(time_zone)
    local = moment.astimezone(tz)
    day = local.date()
    if start > end and local.time().replace(tzinfo=None) >= start:
        day += dt.timedelta(days=1)  # quiet since this evening: it ends tomorrow morning
    return _at(day, end, tz)
