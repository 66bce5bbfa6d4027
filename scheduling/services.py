"""Writing milestones: the one way any app puts a date on a case's pathway.

Other apps call ``milestone_upsert`` / ``milestone_cancel`` (documents for request due
dates, hospitals for referral deadlines, travel for departures); the pathway rules call
them too. Every change keeps ``Case.next_due_at`` current and moves the milestone's
pending reminders in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from cases.services import case_set_next_due
from navigator.errors import DomainError

from .models import Milestone, MilestoneKind


@dataclass(frozen=True)
class MilestoneChange:
    """What one upsert did: created, moved (from -> to), reopened, or nothing."""

    milestone: Milestone
    created: bool
    previous_due_at: dt.datetime | None
    reopened: bool = False

    @property
    def moved(self) -> bool:
        return not self.created and self.previous_due_at != self.milestone.due_at

    @property
    def changed(self) -> bool:
        return self.created or self.moved or self.reopened


def _source_fields(source) -> dict:
    if source is None:
        return {"source_type": None, "source_id": "", "source_label": ""}
    if isinstance(source, models.Model):
        return {
            "source_type": ContentType.objects.get_for_model(source),
            "source_id": str(source.pk),
            "source_label": str(source)[:200],
        }
    return {"source_type": None, "source_id": "", "source_label": str(source)[:200]}


def _validate(*, key: str, kind: str, due_at, title: str) -> None:
    if not key or len(key) > 100:
        raise DomainError("Give a milestone key of 1 to 100 characters, e.g. document-request:42.", field="key")
    if kind not in MilestoneKind.values:
        raise DomainError(
            f"Unknown milestone kind {kind!r}; use one of {', '.join(MilestoneKind.values)}.", field="kind"
        )
    if not isinstance(due_at, dt.datetime) or timezone.is_naive(due_at):
        raise DomainError("The due time must be a timezone-aware datetime.", field="due_at")
    if not title.strip():
        raise DomainError("Give the milestone a title.", field="title")


def milestone_apply(
    *,
    case,
    key: str,
    kind: str,
    due_at: dt.datetime,
    title: str,
    concerns_family: bool = False,
    hospital=None,
    source=None,
    refresh_case: bool = True,
) -> MilestoneChange:
    """``milestone_upsert`` that also says what it did (used by the pathway to report moves)."""
    _validate(key=key, kind=kind, due_at=due_at, title=title)
    from .reminders import reminders_sync

    fields = {
        "kind": kind,
        "title": title.strip()[:200],
        "due_at": due_at,
        "concerns_family": concerns_family,
        "hospital": hospital,
        **_source_fields(source),
    }
    with transaction.atomic():
        existing = Milestone.objects.select_for_update().filter(case=case, key=key).first()
        if existing is None:
            # A concurrent insert of the same key fails on the unique constraint; the
            # savepoint lets us fall back to updating the row the other writer created.
            try:
                with transaction.atomic():
                    milestone = Milestone.objects.create(case=case, key=key, **fields)
            except IntegrityError:
                existing = Milestone.objects.select_for_update().filter(case=case, key=key).first()
                if existing is None:
                    raise
            else:
                change = MilestoneChange(milestone=milestone, created=True, previous_due_at=None)
                reminders_sync(milestone=milestone)
                if refresh_case:
                    case_refresh_next_due(case=case)
                return change

        previous_due_at = existing.due_at
        reopened = existing.status == Milestone.Status.CANCELLED
        relevant_before = (existing.due_at, existing.concerns_family, existing.hospital_id, existing.kind)
        for name, value in fields.items():
            setattr(existing, name, value)
        if reopened:
            existing.status = Milestone.Status.PENDING
        if existing.status == Milestone.Status.ESCALATED and existing.due_at > timezone.now():
            # Moved into the future: no longer overdue.
            existing.status = Milestone.Status.PENDING
            existing.escalated_at = None
        existing.save()
        change = MilestoneChange(milestone=existing, created=False, previous_due_at=previous_due_at, reopened=reopened)
        if reopened or relevant_before != (
            existing.due_at,
            existing.concerns_family,
            existing.hospital_id,
            existing.kind,
        ):
            reminders_sync(milestone=existing)
        if refresh_case:
            case_refresh_next_due(case=case)
        return change


def milestone_upsert(
    *,
    case,
    key: str,
    kind: str,
    due_at: dt.datetime,
    title: str,
    concerns_family: bool = False,
    hospital=None,
    source=None,
) -> Milestone:
    """Create the case's milestone named ``key`` or move it to ``due_at``.

    Pending reminders move with it; ``Case.next_due_at`` is kept current. A cancelled
    milestone upserted again is reopened. Raises ``DomainError`` naming the bad field.
    """
    return milestone_apply(
        case=case,
        key=key,
        kind=kind,
        due_at=due_at,
        title=title,
        concerns_family=concerns_family,
        hospital=hospital,
        source=source,
    ).milestone


def milestone_cancel(*, case, key: str, refresh_case: bool = True) -> Milestone | None:
    """Cancel the case's milestone named ``key`` (if open) and its unsent reminders. Idempotent."""
    from .reminders import reminders_cancel_pending

    with transaction.atomic():
        milestone = Milestone.objects.select_for_update().filter(case=case, key=key).first()
        if milestone is None or not milestone.is_open:
            return milestone
        milestone.status = Milestone.Status.CANCELLED
        milestone.save(update_fields=["status", "updated_at"])
        reminders_cancel_pending(milestone=milestone)
        if refresh_case:
            case_refresh_next_due(case=case)
    return milestone


def milestone_complete(*, milestone: Milestone, when: dt.datetime | None = None) -> bool:
    """Mark an open milestone done (e.g. its MRD result arrived). True if this call did it."""
    from .reminders import reminders_cancel_pending

    with transaction.atomic():
        done = (
            Milestone.objects.filter(pk=milestone.pk, status__in=Milestone.OPEN_STATUSES).update(
                status=Milestone.Status.DONE, completed_at=when or timezone.now(), updated_at=timezone.now()
            )
            == 1
        )
        if done:
            milestone.refresh_from_db()
            reminders_cancel_pending(milestone=milestone)
            case_refresh_next_due(case=milestone.case)
    return done


def case_refresh_next_due(*, case) -> None:
    """Store the earliest open milestone on the case, for caseload sorting and filtering."""
    first = Milestone.objects.filter(case_id=case.pk).open().order_by("due_at", "id").values("due_at", "title").first()
    if first is None:
        case_set_next_due(case_id=case.pk, due_at=None, title="")
    else:
        case_set_next_due(case_id=case.pk, due_at=first["due_at"], title=first["title"])
