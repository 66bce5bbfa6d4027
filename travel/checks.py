"""Checks that protect the patient: pure functions over plain data.

Each check returns a list of ``TravelWarning``: a text for the coordinator (what is wrong
and what to fix) and a text for the family (the same in plain words). Texts are produced
with ``gettext``, so callers wrap them in ``translation.override(language)`` to get them in
the reader's language. Nothing here touches the database; ``travel.selectors`` gathers the
facts and calls ``run_all``.

The rules and where they come from (../shared/domain/pathway.md):

| check                         | rule                                                                  |
|-------------------------------|-----------------------------------------------------------------------|
| post-infusion stay            | stay near the centre >= 4 weeks after infusion (day 0): accommodation |
|                               | and the return flight must not end before day 0 + 28 days             |
| arrival before admission      | the outbound journey lands (local date) on or before admission day    |
| legs in order and connected   | each flight leaves from where the previous landed, after it landed    |
| visa in time                  | every traveller's visa granted >= N days before departure (default 14)|
| passport valid                | not expired before the return; valid 6 months beyond arrival          |
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

# pathway.md, step 4: stay near the treating centre for at least 4 weeks after infusion.
POST_INFUSION_STAY_DAYS = 28
# The usual entry rule: a passport valid for at least 6 months beyond arrival.
PASSPORT_VALID_MONTHS_AFTER_ARRIVAL = 6
# Default days before departure by which a visa must be granted (TRAVEL_VISA_LEAD_DAYS).
VISA_LEAD_DAYS = 14
# A connection shorter than this is flagged: with a sick child and a transfer, it will be missed.
MIN_CONNECTION = dt.timedelta(minutes=60)

VISA_READY = frozenset({"granted", "not_required"})


@dataclass(frozen=True)
class TravelWarning:
    code: str
    subject: str
    coordinator_text: str
    family_text: str
    level: str = "warning"  # "warning" or "danger"

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "subject": self.subject,
            "level": self.level,
            "coordinator_text": self.coordinator_text,
            "family_text": self.family_text,
        }


@dataclass(frozen=True)
class LegFacts:
    id: int
    journey_id: int
    direction: str  # "outbound", "return", "other"
    position: int
    origin: str
    destination: str
    departure_at: dt.datetime  # aware
    arrival_at: dt.datetime  # aware
    departure_tz: str
    arrival_tz: str
    label: str = ""

    def departure_local(self) -> dt.datetime:
        from zoneinfo import ZoneInfo

        return self.departure_at.astimezone(ZoneInfo(self.departure_tz))

    def arrival_local(self) -> dt.datetime:
        from zoneinfo import ZoneInfo

        return self.arrival_at.astimezone(ZoneInfo(self.arrival_tz))


@dataclass(frozen=True)
class StayFacts:
    id: int
    name: str
    check_in: dt.date
    check_out: dt.date


@dataclass(frozen=True)
class TravellerFacts:
    id: int
    name: str
    has_passport: bool
    passport_expiry: dt.date | None


@dataclass(frozen=True)
class VisaFacts:
    traveller_id: int
    traveller_name: str
    status: str  # VisaApplication.Status value; "not_started" when there is no application


@dataclass(frozen=True)
class TravelFacts:
    today: dt.date
    now: dt.datetime
    travellers: Sequence[TravellerFacts] = ()
    visas: Sequence[VisaFacts] = ()
    legs: Sequence[LegFacts] = ()
    stays: Sequence[StayFacts] = ()
    admission_date: dt.date | None = None
    infusion_day0: dt.date | None = None
    infusion_is_estimate: bool = True
    visa_lead_days: int = VISA_LEAD_DAYS
    extra: dict = field(default_factory=dict)


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def journeys(legs: Iterable[LegFacts], direction: str | None = None) -> dict[int, list[LegFacts]]:
    """Legs grouped by journey, each in its entered order."""
    grouped: dict[int, list[LegFacts]] = {}
    for leg in sorted(legs, key=lambda x: (x.journey_id, x.position, x.departure_at, x.id)):
        if direction is None or leg.direction == direction:
            grouped.setdefault(leg.journey_id, []).append(leg)
    return grouped


def earliest_return_date(day0: dt.date) -> dt.date:
    return day0 + dt.timedelta(days=POST_INFUSION_STAY_DAYS)


# --- the checks ------------------------------------------------------------------------


def check_post_infusion_stay(
    *, infusion_day0: dt.date | None, is_estimate: bool, stays: Sequence[StayFacts], legs: Sequence[LegFacts]
) -> list[TravelWarning]:
    """Accommodation and the return flight must cover day 0 + 28 days."""
    if infusion_day0 is None:
        return []
    until = earliest_return_date(infusion_day0)
    params = {
        "day0": infusion_day0.isoformat(),
        "until": until.isoformat(),
        "days": POST_INFUSION_STAY_DAYS,
        "basis": _("estimated") if is_estimate else _("scheduled"),
    }
    warnings: list[TravelWarning] = []
    if stays:
        last = max(stays, key=lambda s: s.check_out)
        if last.check_out < until:
            params = {**params, "check_out": last.check_out.isoformat()}
            warnings.append(
                TravelWarning(
                    code="stay_too_short",
                    subject=f"accommodation:{last.id}",
                    level="danger",
                    coordinator_text=_(
                        "Accommodation ends %(check_out)s, before the post-infusion stay is over: the family must stay "
                        "near the centre until at least %(until)s (%(days)d days after the %(basis)s infusion on "
                        "%(day0)s). Extend the booking."
                    )
                    % params,
                    family_text=_(
                        "Your accommodation ends on %(check_out)s, but after the treatment you need to stay close to "
                        "the hospital until at least %(until)s. We will help you extend it."
                    )
                    % params,
                )
            )
    else:
        warnings.append(
            TravelWarning(
                code="stay_not_booked",
                subject="accommodation",
                coordinator_text=_(
                    "No accommodation is recorded; the family must stay near the centre until at least %(until)s "
                    "(%(days)d days after the %(basis)s infusion on %(day0)s)."
                )
                % params,
                family_text=_(
                    "You will need a place to stay close to the hospital until at least %(until)s. "
                    "Your coordinator will help you find one."
                )
                % params,
            )
        )
    for journey_legs in journeys(legs, "return").values():
        first = min(journey_legs, key=lambda x: x.departure_at)
        leaves = first.departure_local().date()
        if leaves < until:
            warnings.append(
                TravelWarning(
                    code="return_too_early",
                    subject=f"leg:{first.id}",
                    level="danger",
                    coordinator_text=_(
                        "Return flight %(flight)s leaves %(leaves)s, before the post-infusion stay is over (until at "
                        "least %(until)s, %(days)d days after the %(basis)s infusion on %(day0)s). Rebook it."
                    )
                    % {**params, "flight": first.label, "leaves": leaves.isoformat()},
                    family_text=_(
                        "Your flight home on %(leaves)s is too early: after the treatment you need to stay close to "
                        "the hospital until at least %(until)s. We will help you change it."
                    )
                    % {**params, "leaves": leaves.isoformat()},
                )
            )
    return warnings


def check_arrival_before_admission(*, legs: Sequence[LegFacts], admission_date: dt.date | None) -> list[TravelWarning]:
    """Each outbound journey must land (in the local date at arrival) by the admission day."""
    if admission_date is None:
        return []
    warnings = []
    for journey_legs in journeys(legs, "outbound").values():
        last = max(journey_legs, key=lambda x: x.arrival_at)
        lands = last.arrival_local().date()
        if lands > admission_date:
            params = {"lands": lands.isoformat(), "admission": admission_date.isoformat(), "flight": last.label}
            warnings.append(
                TravelWarning(
                    code="arrives_after_admission",
                    subject=f"leg:{last.id}",
                    level="danger",
                    coordinator_text=_(
                        "The outbound journey lands %(lands)s (%(flight)s), after the admission date %(admission)s. "
                        "Move the flight or ask the centre to move the admission."
                    )
                    % params,
                    family_text=_(
                        "Your flight arrives on %(lands)s, but the hospital expects you on %(admission)s. "
                        "Your coordinator will change the flight or the admission day."
                    )
                    % params,
                )
            )
    return warnings


def check_leg_sequence(*, legs: Sequence[LegFacts]) -> list[TravelWarning]:
    """Within a journey each flight leaves from the airport the previous one landed at,
    after it landed (in absolute time), with time to change planes."""
    warnings = []
    for journey_legs in journeys(legs).values():
        for before, after in zip(journey_legs, journey_legs[1:], strict=False):
            params = {
                "first": before.label,
                "second": after.label,
                "landed": before.destination,
                "leaves": after.origin,
            }
            if after.departure_at < before.arrival_at:
                warnings.append(
                    TravelWarning(
                        code="legs_out_of_order",
                        subject=f"leg:{after.id}",
                        level="danger",
                        coordinator_text=_(
                            "Flight %(second)s departs before flight %(first)s lands; the legs are out of order or "
                            "a date is wrong."
                        )
                        % params,
                        family_text=_("Two of your flights overlap in time. Your coordinator is checking the tickets."),
                    )
                )
            elif after.departure_at - before.arrival_at < MIN_CONNECTION:
                minutes = int((after.departure_at - before.arrival_at).total_seconds() // 60)
                warnings.append(
                    TravelWarning(
                        code="tight_connection",
                        subject=f"leg:{after.id}",
                        coordinator_text=_(
                            "Only %(minutes)d minutes to connect from %(first)s to %(second)s; with a sick child "
                            "this connection is likely to be missed."
                        )
                        % {**params, "minutes": minutes},
                        family_text=_(
                            "You have only %(minutes)d minutes to change planes. Your coordinator will check this "
                            "connection."
                        )
                        % {"minutes": minutes},
                    )
                )
            if after.origin != before.destination:
                warnings.append(
                    TravelWarning(
                        code="legs_not_connected",
                        subject=f"leg:{after.id}",
                        coordinator_text=_(
                            "Flight %(first)s lands at %(landed)s but the next flight %(second)s leaves from "
                            "%(leaves)s; add the missing leg or the transfer."
                        )
                        % params,
                        family_text=_(
                            "Your flights do not connect: one lands at %(landed)s and the next leaves from %(leaves)s. "
                            "Your coordinator will fix this."
                        )
                        % params,
                    )
                )
    return warnings


def check_visas(
    *, visas: Sequence[VisaFacts], legs: Sequence[LegFacts], now: dt.datetime, lead_days: int = VISA_LEAD_DAYS
) -> list[TravelWarning]:
    """Every traveller's visa granted (or not needed) ``lead_days`` before the first departure."""
    outbound = [leg for leg in legs if leg.direction == "outbound" and leg.departure_at > now]
    if not outbound:
        return []
    first = min(outbound, key=lambda x: x.departure_at)
    departs = first.departure_local().date()
    deadline = departs - dt.timedelta(days=lead_days)
    warnings = []
    for visa in visas:
        if visa.status in VISA_READY:
            continue
        params = {
            "name": visa.traveller_name,
            "departs": departs.isoformat(),
            "deadline": deadline.isoformat(),
            "days": lead_days,
        }
        if visa.status == "refused":
            warnings.append(
                TravelWarning(
                    code="visa_refused",
                    subject=f"traveller:{visa.traveller_id}",
                    level="danger",
                    coordinator_text=_(
                        "The visa for %(name)s was refused and the departure is %(departs)s. Reapply or rebook."
                    )
                    % params,
                    family_text=_(
                        "The visa for %(name)s was refused. Your coordinator will contact you about what to do next."
                    )
                    % params,
                )
            )
        elif now.date() >= deadline:
            warnings.append(
                TravelWarning(
                    code="visa_not_granted",
                    subject=f"traveller:{visa.traveller_id}",
                    level="danger",
                    coordinator_text=_(
                        "The visa for %(name)s is not granted yet and the departure is %(departs)s "
                        "(it should have been granted by %(deadline)s, %(days)d days before)."
                    )
                    % params,
                    family_text=_(
                        "The visa for %(name)s is not ready yet and you fly on %(departs)s. Please tell your "
                        "coordinator at once where the application stands."
                    )
                    % params,
                )
            )
    return warnings


def check_passports(
    *,
    travellers: Sequence[TravellerFacts],
    arrival_date: dt.date | None,
    return_date: dt.date | None,
    today: dt.date,
) -> list[TravelWarning]:
    """Each passport: present, not expired, valid through the return and 6 months beyond arrival."""
    warnings = []
    for t in travellers:
        subject = f"traveller:{t.id}"
        params = {"name": t.name, "expiry": t.passport_expiry.isoformat() if t.passport_expiry else ""}
        if not t.has_passport or t.passport_expiry is None:
            warnings.append(
                TravelWarning(
                    code="passport_missing",
                    subject=subject,
                    coordinator_text=_("No passport number and expiry recorded for %(name)s.") % params,
                    family_text=_("We still need the passport details of %(name)s.") % params,
                )
            )
            continue
        if t.passport_expiry < today:
            warnings.append(
                TravelWarning(
                    code="passport_expired",
                    subject=subject,
                    level="danger",
                    coordinator_text=_("The passport of %(name)s expired on %(expiry)s.") % params,
                    family_text=_("The passport of %(name)s expired on %(expiry)s. A new passport is needed to travel.")
                    % params,
                )
            )
            continue
        if return_date and t.passport_expiry < return_date:
            warnings.append(
                TravelWarning(
                    code="passport_expires_before_return",
                    subject=subject,
                    level="danger",
                    coordinator_text=_("The passport of %(name)s expires %(expiry)s, before the return on %(back)s.")
                    % {**params, "back": return_date.isoformat()},
                    family_text=_(
                        "The passport of %(name)s expires on %(expiry)s, before you come home. Please renew it "
                        "before you travel."
                    )
                    % params,
                )
            )
            continue
        if arrival_date:
            needed = add_months(arrival_date, PASSPORT_VALID_MONTHS_AFTER_ARRIVAL)
            if t.passport_expiry < needed:
                warnings.append(
                    TravelWarning(
                        code="passport_six_months",
                        subject=subject,
                        coordinator_text=_(
                            "The passport of %(name)s expires %(expiry)s, less than %(months)d months after arrival "
                            "(%(arrival)s); entry and the visa usually need validity until %(needed)s."
                        )
                        % {
                            **params,
                            "months": PASSPORT_VALID_MONTHS_AFTER_ARRIVAL,
                            "arrival": arrival_date.isoformat(),
                            "needed": needed.isoformat(),
                        },
                        family_text=_(
                            "The passport of %(name)s must be valid until at least %(needed)s to enter the country and "
                            "get a visa. Please renew it soon."
                        )
                        % {**params, "needed": needed.isoformat()},
                    )
                )
    return warnings


def check_infusion_known(*, admission_date: dt.date | None, infusion_day0: dt.date | None) -> list[TravelWarning]:
    if admission_date is None or infusion_day0 is not None:
        return []
    return [
        TravelWarning(
            code="infusion_date_unknown",
            subject="admission",
            coordinator_text=_(
                "No infusion date is scheduled or estimated, so the post-infusion stay cannot be checked; "
                "give the admission an infusion estimate."
            ),
            family_text=_("The treatment date is not planned yet; your coordinator will confirm how long to stay."),
        )
    ]


def run_all(facts: TravelFacts) -> list[TravelWarning]:
    """Every check, in the order a coordinator reads them (most serious first)."""
    outbound = [leg for leg in facts.legs if leg.direction == "outbound"]
    returning = [leg for leg in facts.legs if leg.direction == "return"]
    arrival_date = max(outbound, key=lambda x: x.arrival_at).arrival_local().date() if outbound else None
    if returning:
        return_date = min(returning, key=lambda x: x.departure_at).departure_local().date()
    elif facts.infusion_day0:
        return_date = earliest_return_date(facts.infusion_day0)
    else:
        return_date = None
    warnings = [
        *check_visas(visas=facts.visas, legs=facts.legs, now=facts.now, lead_days=facts.visa_lead_days),
        *check_passports(
            travellers=facts.travellers, arrival_date=arrival_date, return_date=return_date, today=facts.today
        ),
        *check_arrival_before_admission(legs=facts.legs, admission_date=facts.admission_date),
        *check_leg_sequence(legs=facts.legs),
        *check_post_infusion_stay(
            infusion_day0=facts.infusion_day0,
            is_estimate=facts.infusion_is_estimate,
            stays=facts.stays,
            legs=facts.legs,
        ),
        *check_infusion_known(admission_date=facts.admission_date, infusion_day0=facts.infusion_day0),
    ]
    return sorted(warnings, key=lambda w: 0 if w.level == "danger" else 1)
