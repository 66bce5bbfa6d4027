"""Dates, deadlines and time zones as a family reads them, in the page's language (CLDR data via Babel)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from babel.dates import format_date, format_time, get_timezone_name
from django.utils import timezone, translation
from django.utils.translation import gettext as _

# Babel's locale for each portal language. English reads "Friday 5 December".
_LOCALES = {"en": "en_GB", "zh-hans": "zh_Hans", "ar": "ar", "ru": "ru"}
# The weekday and the day of the month in full, as each language writes them.
_DAY_PATTERNS = {"en_GB": "EEEE d MMMM", "zh_Hans": "M月d日EEEE", "ar": "EEEE، d MMMM", "ru": "EEEE, d MMMM"}


def _locale() -> str:
    language = (translation.get_language() or "en").lower()
    return _LOCALES.get(language, _LOCALES.get(language.split("-")[0], "en_GB"))


def zone_name(zone: str | dt.tzinfo | None = None) -> str:
    """A readable name of a time zone ("Moscow Time", "莫斯科时间"); the current zone by default."""
    name = zone if isinstance(zone, str) else getattr(zone or timezone.get_current_timezone(), "key", None)
    name = name or timezone.get_current_timezone_name()
    try:
        return get_timezone_name(zoneinfo.ZoneInfo(name), width="long", zone_variant="generic", locale=_locale())
    except (LookupError, ValueError, zoneinfo.ZoneInfoNotFoundError):
        return name


def day_text(day: dt.date) -> str:
    """The weekday, day and month ("Friday 5 December", "пятница, 5 декабря", "12月5日星期五")."""
    locale = _locale()
    return format_date(day, _DAY_PATTERNS[locale], locale=locale)


def time_text(moment: dt.datetime) -> str:
    return format_time(moment, "HH:mm", locale=_locale())


def deadline_text(due_at: dt.datetime) -> str:
    """A deadline in the reader's zone: "by end of Friday 5 December (Moscow Time)".

    A deadline is the end of a day in the zone of the person asked; a reader elsewhere sees the
    moment in their own zone (and the time when it is not the end of their day)."""
    local = timezone.localtime(due_at)
    if local.time() >= dt.time(23, 59):
        text = _("by end of %(day)s") % {"day": day_text(local.date())}
    else:
        text = _("by %(time)s on %(day)s") % {"time": time_text(local), "day": day_text(local.date())}
    return _("%(deadline)s (%(zone)s)") % {"deadline": text, "zone": isolate(zone_name())}


def isolate(text: str) -> str:
    """Text set apart from its surroundings' direction (Unicode FSI ... PDI), for names and codes,
    so that a right-to-left sentence keeps its order and its punctuation where it belongs."""
    return f"\u2068{text}\u2069" if text else text


def end_of_day(day: dt.date, zone: str) -> dt.datetime:
    """The last minute of a day in a zone (UTC when the zone is unknown)."""
    tz: dt.tzinfo
    try:
        tz = zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    return dt.datetime.combine(day, dt.time(23, 59), tzinfo=tz)
