"""Building travel data for tests through the same service the API and admin use."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from travel.airports import get_airport, to_instant
from travel.models import Accommodation, Admission, Journey, Leg, Traveller, VisaApplication
from travel.services import travel_save


def day(offset: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=offset)


def future_date(month: int, dom: int) -> dt.date:
    """A date with this month and day in next year (always in the future)."""
    return dt.date(timezone.localdate().year + 1, month, dom)


def local(code: str, when: dt.datetime) -> dt.datetime:
    return to_instant(when, get_airport(code).time_zone)


def traveller(case, actor, **kw) -> Traveller:
    data = {
        "surname": "IVANOVA",
        "given_names": "OLGA",
        "nationality": "KZ",
        "date_of_birth": dt.date(1988, 3, 4),
        "passport_number": "N12345678",
        "passport_expiry": day(3 * 365),
        "role": Traveller.Role.CAREGIVER,
        **kw,
    }
    return travel_save(obj=Traveller(case=case, **data), actor=actor)


def journey(case, actor, direction=Journey.Direction.OUTBOUND) -> Journey:
    return travel_save(obj=Journey(case=case, direction=direction), actor=actor)


def leg(j: Journey, actor, origin: str, destination: str, departs: dt.datetime, arrives: dt.datetime, **kw) -> Leg:
    """``departs``/``arrives`` are naive local wall times at each airport."""
    obj = Leg(
        journey=j,
        origin=origin,
        destination=destination,
        departure_at=local(origin, departs),
        arrival_at=local(destination, arrives),
        **kw,
    )
    return travel_save(obj=obj, actor=actor)


def admission(case, actor, hospital, on: dt.date, **kw) -> Admission:
    return travel_save(obj=Admission(case=case, hospital=hospital, admission_date=on, **kw), actor=actor)


def stay(case, actor, check_in: dt.date, check_out: dt.date) -> Accommodation:
    return travel_save(
        obj=Accommodation(
            case=case,
            name="Garden Apartments",
            address="1 Xizhimen South St",
            city="Beijing",
            check_in=check_in,
            check_out=check_out,
        ),
        actor=actor,
    )


def visa(t: Traveller, actor, status=VisaApplication.Status.NOT_STARTED) -> VisaApplication:
    return travel_save(obj=VisaApplication(case=t.case, traveller=t, status=status), actor=actor)
