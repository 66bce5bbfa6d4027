"""Writing travel data: the one path the API and the admin share.

Every write validates the whole row (``full_clean``: unknown airports, arrival before
departure in absolute time, past dates for a new booking...), saves it, records the audit
event and moves the case's travel milestones, all in one transaction: a refused write
leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from django.db import models, transaction

from audit.services import audit_record
from cases.services import case_touch
from navigator.errors import DomainError

from .models import (
    Accommodation,
    Admission,
    AirportPickup,
    InterpreterNeed,
    Journey,
    Leg,
    Traveller,
    VisaApplication,
)
from .reminders import travel_milestones_sync

# Every kind of travel row: each belongs to one case.
TravelRow = Traveller | VisaApplication | Journey | Leg | Accommodation | AirportPickup | InterpreterNeed | Admission
Row = TypeVar("Row", bound=TravelRow)


def _case_id(obj: models.Model) -> int | None:
    return getattr(obj, "case_id", None)


@transaction.atomic
def travel_save(*, obj: Row, actor, via: str = "api", fields: Iterable[str] = ()) -> Row:
    """Validate and save any travel row; audit it and move the case's travel milestones."""
    adding = obj._state.adding
    if isinstance(obj, VisaApplication):
        obj.fill_step_date()
    obj.full_clean()
    obj.save()
    audit_record(
        actor=actor,
        action="create" if adding else "update",
        obj=obj,
        detail={"via": via, **({"fields": sorted(fields)} if fields else {})},
    )
    travel_after_change(case=obj.case)
    return obj


@transaction.atomic
def travel_delete(*, obj: TravelRow, actor, via: str = "api") -> None:
    case = obj.case
    audit_record(actor=actor, action="delete", obj=obj, detail={"via": via})
    obj.delete()
    travel_after_change(case=case)


def _assign(obj: Row, data: dict) -> tuple[Row, dict]:
    """Set the plain fields of ``data`` on ``obj``; return the many-to-many ones to set after saving."""
    many = {f.name for f in obj._meta.many_to_many}
    for name, value in data.items():
        if name not in many:
            setattr(obj, name, value)
    return obj, {name: value for name, value in data.items() if name in many}


@transaction.atomic
def travel_create(*, model: type[Row], actor, data: dict, via: str = "api") -> Row:
    """Add a travel row (traveller, visa, journey, flight, stay, pickup, interpreter, admission)
    from validated fields: validated as a whole, audited, milestones moved."""
    obj, many = _assign(model(), data)
    travel_save(obj=obj, actor=actor, via=via, fields=sorted(set(data) - set(many)) + sorted(many))
    for name, value in many.items():
        getattr(obj, name).set(value)
    return obj


@transaction.atomic
def travel_update(*, obj: Row, actor, data: dict, via: str = "api") -> Row:
    """Change a travel row from validated fields; it stays with its case."""
    if "case" in data and data["case"].pk != obj.case_id:
        raise DomainError("Travel data cannot be moved to another case.", field="case")
    obj, many = _assign(obj, data)
    travel_save(obj=obj, actor=actor, via=via, fields=sorted(set(data) - set(many)) + sorted(many))
    for name, value in many.items():
        getattr(obj, name).set(value)
    return obj


def travel_after_change(*, case) -> None:
    """What follows any change of a case's travel data (also after admin inline saves)."""
    travel_milestones_sync(case=case)
    case_touch(case_id=case.pk)
