"""Airports by IATA code with their IANA time zones (from the pinned ``airportsdata`` package),
and the conversion of a local wall time at an airport into an absolute instant.

A flight's times are printed on the ticket in each airport's own local time. We store the
instant in UTC plus the zone name, so arithmetic across legs is done on absolute times and
the family still sees the time printed on their ticket.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from functools import cache

import airportsdata
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Airport:
    iata: str
    name: str
    city: str
    country: str
    time_zone: str

    def __str__(self) -> str:
        return f"{self.iata} {self.name} ({self.city})"


@cache
def _airports() -> dict[str, Airport]:
    rows = airportsdata.load("IATA")
    return {
        code: Airport(iata=code, name=r["name"], city=r["city"], country=r["country"], time_zone=r["tz"])
        for code, r in rows.items()
        if r.get("tz")
    }


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def get_airport(code: str) -> Airport | None:
    return _airports().get((code or "").strip().upper())


def validate_iata(value: str) -> None:
    """A three-letter IATA code of a known airport whose time zone we know."""
    code = (value or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValidationError(
            _("“%(value)s” is not an IATA airport code; use the three letters on the ticket, e.g. PEK or SVO."),
            params={"value": value},
            code="invalid_iata",
        )
    airport = get_airport(code)
    if airport is None:
        raise ValidationError(
            _("“%(value)s” is not a known airport; check the three-letter code on the ticket (e.g. PEK, PKX, PVG)."),
            params={"value": value},
            code="unknown_airport",
        )
    if airport.time_zone not in _zones():
        raise ValidationError(
            _(
                "The time zone of airport %(value)s (%(zone)s) is unknown; enter the flight with a neighbouring airport's code or ask an administrator."
            ),
            params={"value": code, "zone": airport.time_zone},
            code="unknown_time_zone",
        )


def validate_zone(value: str) -> None:
    if value not in _zones():
        raise ValidationError(
            _("“%(value)s” is not a known IANA time zone (e.g. Asia/Shanghai)."),
            params={"value": value},
            code="unknown_time_zone",
        )


def to_instant(local: dt.datetime, zone_name: str) -> dt.datetime:
    """The UTC instant of a wall time in a zone.

    A naive wall time that does not exist (skipped by a daylight-saving jump) or that occurs
    twice (clocks set back) is refused rather than guessed: a missed flight is worse than a
    question. An aware datetime is taken as the instant it names.
    """
    zone = zoneinfo.ZoneInfo(zone_name)
    if local.tzinfo is not None and local.utcoffset() is not None:
        return local.astimezone(dt.UTC)
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    # Round-tripping through UTC reveals a gap: the wall time comes back different.
    back = first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    if back != local:
        raise ValidationError(
            _(
                "%(time)s does not exist in %(zone)s (the clocks jump forward that night); check the time on the ticket."
            ),
            params={"time": local.strftime("%Y-%m-%d %H:%M"), "zone": zone_name},
            code="nonexistent_time",
        )
    if first.utcoffset() != second.utcoffset():
        raise ValidationError(
            _(
                "%(time)s occurs twice in %(zone)s (the clocks go back that night); give the UTC offset, e.g. %(example)s."
            ),
            params={
                "time": local.strftime("%Y-%m-%d %H:%M"),
                "zone": zone_name,
                "example": first.isoformat(timespec="minutes"),
            },
            code="ambiguous_time",
        )
    return first.astimezone(dt.UTC)


def to_local(instant: dt.datetime | None, zone_name: str) -> dt.datetime | None:
    if instant is None or not zone_name:
        return None
    return instant.astimezone(zoneinfo.ZoneInfo(zone_name))
