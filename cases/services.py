"""Workflows on cases: creating, moving through the status workflow, assigning."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TypeVar

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from accounts.roles import is_coordinator, is_supervisor
from audit.actor import Actor
from audit.services import audit_record
from navigator.errors import DomainError

from . import workflow
from .models import Case, CaseShare, FamilyContact, Indication, Patient, ReferenceCounter, StatusChange

DEFAULT_INDICATION = "b-all-cd19-car-t"


def case_next_reference(*, year: int) -> str:
    """Issue the next reference for a year. The counter row is locked by the UPDATE
    until the surrounding transaction commits, so two coordinators never get the same number."""
    with transaction.atomic():
        ReferenceCounter.objects.get_or_create(year=year)
        ReferenceCounter.objects.filter(year=year).update(last=F("last") + 1)
        last = ReferenceCounter.objects.get(year=year).last
    return f"NAV-{year}-{last:05d}"


@transaction.atomic
def case_create(
    *,
    patient: Patient,
    actor,
    indication: Indication | None = None,
    coordinator=None,
    priority: int = Case.Priority.ROUTINE,
    inquiry_date: dt.date | None = None,
    summary: str = "",
    target_centres=(),
) -> Case:
    inquiry_date = inquiry_date or timezone.localdate()
    if inquiry_date > timezone.localdate():
        raise DomainError("The inquiry date cannot be in the future.", field="inquiry_date")
    if coordinator is not None and not is_coordinator(coordinator):
        raise DomainError(f"{coordinator} is not a coordinator.", field="coordinator")
    indication = indication or Indication.objects.get(code=DEFAULT_INDICATION)
    case = Case.objects.create(
        reference=case_next_reference(year=inquiry_date.year),
        patient=patient,
        indication=indication,
        coordinator=coordinator,
        priority=priority,
        inquiry_date=inquiry_date,
        summary=summary,
    )
    if target_centres:
        case.target_centres.set(target_centres)
    StatusChange.objects.create(
        case=case, from_status="", to_status=case.status, changed_by=Actor.of(actor).user, reason="Case opened"
    )
    audit_record(actor=actor, action="create", obj=case)
    return case


def case_transition(*, case: Case, to_status: str, actor, reason: str = "") -> StatusChange:
    """Move a case to another status if the workflow allows it; record who, when and why.

    The case row is locked so two coordinators moving it at once cannot both succeed
    from the same starting status.
    """
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        decision = workflow.check_transition(locked.status, to_status, reason)
        if not decision.allowed:
            raise DomainError(
                decision.reason,
                field="status" if "reason" not in decision.reason else "reason",
                code="transition_not_allowed",
            )
        change = StatusChange.objects.create(
            case=locked,
            from_status=locked.status,
            to_status=to_status,
            changed_by=Actor.of(actor).user,
            reason=reason.strip(),
        )
        now = timezone.now()
        Case.objects.filter(pk=locked.pk).update(status=to_status, last_activity_at=now, updated_at=now)
        audit_record(
            actor=actor,
            action="transition",
            obj=locked,
            detail={"from": change.from_status, "to": to_status, "reason": change.reason},
        )
    case.status = to_status
    case.last_activity_at = now
    _notify_status_changed(case=case, change=change)
    return change


# Other apps react to status changes (e.g. scheduling); they register here instead of
# cases importing them.
STATUS_CHANGE_HANDLERS: list = []


def _notify_status_changed(*, case: Case, change: StatusChange) -> None:
    for handler in STATUS_CHANGE_HANDLERS:
        handler(case=case, change=change)


@transaction.atomic
def case_assign(*, case: Case, coordinator, actor, reason: str = "") -> Case:
    """Give a case to a coordinator. Taking an unassigned case is anyone's; moving a
    case away from its coordinator is a supervisor's decision."""
    if coordinator is None or not is_coordinator(coordinator):
        raise DomainError("Choose an active coordinator to assign the case to.", field="coordinator")
    locked = Case.objects.select_for_update().get(pk=case.pk)
    if locked.coordinator_id not in (None, coordinator.pk) and not is_supervisor(actor):
        raise DomainError(
            "Only a supervising coordinator can reassign a case that already has a coordinator.",
            field="coordinator",
            code="permission_denied",
        )
    previous = locked.coordinator
    locked.coordinator = coordinator
    locked.last_activity_at = timezone.now()
    locked.save(update_fields=["coordinator", "last_activity_at", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        obj=locked,
        detail={
            "coordinator": {"from": getattr(previous, "username", None), "to": coordinator.username},
            "reason": reason,
        },
    )
    return locked


def case_touch(*, case_id: int, when: dt.datetime | None = None) -> None:
    """Mark activity on a case (a document, a message, a result): drives "last activity"."""
    Case.objects.filter(pk=case_id).update(last_activity_at=when or timezone.now())


def case_set_next_due(*, case_id: int, due_at: dt.datetime | None, title: str = "") -> None:
    """Store the case's earliest open milestone or deadline (maintained by scheduling)."""
    Case.objects.filter(pk=case_id).update(next_due_at=due_at, next_due_title=title[:200] if due_at else "")


def case_shares_sync(
    *, source_model, grants: Mapping[int, tuple[int, str, int] | None], using: str = "default"
) -> None:
    """Make the active shares granted by rows of ``source_model`` match ``grants``: for each
    source id, the ``(case id, party kind, party id)`` it shares now, or ``None`` when it
    shares nothing. A changed or withdrawn grant is revoked (the row stays, with the time) and
    a new one granted. Running it again changes nothing.

    The app that owns the source calls it whenever a source may have changed (hospitals, for
    referrals), inside the transaction that changed it, with the source row locked.
    """
    if not grants:
        return
    source_type = source_model._meta.label_lower
    shares = CaseShare.objects.using(using)
    now = timezone.now()
    with transaction.atomic(using=using):
        active = {
            share.source_id: share
            for share in shares.select_for_update().filter(
                source_type=source_type, source_id__in=list(grants), revoked_at=None
            )
        }
        stale = {
            source_id
            for source_id, share in active.items()
            if grants[source_id] != (share.case_id, share.party_kind, share.party_id)
        }
        if stale:
            shares.filter(pk__in=[active[source_id].pk for source_id in stale]).update(revoked_at=now)
        shares.bulk_create(
            [
                CaseShare(
                    case_id=grant[0],
                    party_kind=grant[1],
                    party_id=grant[2],
                    source_type=source_type,
                    source_id=source_id,
                    granted_at=now,
                )
                for source_id, grant in grants.items()
                if grant is not None and (source_id not in active or source_id in stale)
            ]
        )


# --- Editing patients, contacts and cases ----------------------------------------------------
# The API and the admin validate (serializers, forms) and hand the cleaned values over; these
# functions write. The change itself is recorded by the caller's audit mixin (API or admin),
# which knows the channel and the fields the person changed.

M = TypeVar("M", bound=models.Model)

CASE_EDITABLE = ("indication", "priority", "inquiry_date", "summary", "target_centres")


def _apply(instance: M, data: dict) -> M:
    """Set plain fields, save, then set many-to-many fields (like ``ModelSerializer.update``)."""
    many = {f.name for f in instance._meta.many_to_many}
    for name, value in data.items():
        if name not in many:
            setattr(instance, name, value)
    instance.save()
    for name, value in data.items():
        if name in many:
            getattr(instance, name).set(value)
    return instance


@transaction.atomic
def case_update(*, case: Case, actor, data: dict) -> Case:
    """Change a case's description (indication, priority, inquiry date, summary, target centres).

    The patient never changes; the coordinator changes through ``case_assign`` and the status
    through ``case_transition``, which check and record more.
    """
    if "patient" in data and data["patient"] != case.patient:
        raise DomainError("A case cannot be moved to another patient.", field="patient")
    if "coordinator" in data and data["coordinator"] != case.coordinator:
        raise DomainError("Use the assign action to change the coordinator.", field="coordinator")
    changes = {k: v for k, v in data.items() if k not in ("patient", "coordinator")}
    unknown = sorted(set(changes) - set(CASE_EDITABLE))
    if unknown:
        raise DomainError(f"{', '.join(unknown)} cannot be changed here.", field=unknown[0])
    if changes.get("inquiry_date") and changes["inquiry_date"] > timezone.localdate():
        raise DomainError("The inquiry date cannot be in the future.", field="inquiry_date")
    return _apply(case, changes)


@transaction.atomic
def patient_create(*, actor, data: dict) -> Patient:
    """Register a patient from validated fields."""
    return _apply(Patient(), data)


@transaction.atomic
def patient_update(*, patient: Patient, actor, data: dict) -> Patient:
    """Correct a patient's details from validated fields."""
    return _apply(patient, data)


def _check_one_primary(*, patient: Patient, contact: FamilyContact | None, is_primary: bool) -> None:
    if not is_primary:
        return
    others = FamilyContact.objects.filter(patient=patient, is_primary=True)
    if contact is not None and contact.pk:
        others = others.exclude(pk=contact.pk)
    if others.exists():
        raise DomainError("This patient already has a primary contact; unset it first.", field="is_primary")


@transaction.atomic
def contact_create(*, actor, data: dict) -> FamilyContact:
    """Add a family contact to a patient; a patient has at most one primary contact."""
    _check_one_primary(patient=data["patient"], contact=None, is_primary=data.get("is_primary", False))
    return _apply(FamilyContact(), data)


@transaction.atomic
def contact_update(*, contact: FamilyContact, actor, data: dict) -> FamilyContact:
    """Correct a family contact; a patient has at most one primary contact."""
    patient = data.get("patient", contact.patient)
    _check_one_primary(patient=patient, contact=contact, is_primary=data.get("is_primary", False))
    return _apply(contact, data)


@transaction.atomic
def contact_delete(*, contact: FamilyContact, actor) -> None:
    """Remove a family contact."""
    contact.delete()
