"""Writing milestones: the one way any app puts a date on a case's pathway.

Other apps call ``milestone_upsert`` / ``milestone_cancel`` (documents for request due
dates, hospitals for referral deadlines, travel for departures); the pathway rules call
them too. Every change keeps ``Case.next_due_at`` current and moves the milestone's
pending reminders in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from audit.actor import Actor
from audit.services import audit_record
from cases import workflow
from cases.models import Case
from cases.services import case_set_next_due, case_touch
from navigator.errors import DomainError
from notifications.models import NoticeDelivery, NoticeKind
from notifications.services import notice_family

from . import pathway
from .models import (
    CoordinatorTask,
    Milestone,
    MilestoneKind,
    MRDResult,
    ReminderRule,
    TransplantDecision,
    TreatmentEvent,
)
from .reminders import reminders_cancel_pending, reminders_sync


@dataclass(frozen=True)
class MilestoneChange:
    """What one upsert did: created, moved (from -> to), reopened, or nothing."""

    milestone: Milestone
    created: bool
    previous_due_at: dt.datetime | None
    reopened: bool = False
    reminders: dict | None = None

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
    refresh_case: bool = True,
) -> MilestoneChange:
    """Create the case's milestone named ``key`` or move it to ``due_at``; say what it did.

    Pending reminders move with it; ``Case.next_due_at`` is kept current (unless the caller
    refreshes it once after many upserts: ``refresh_case=False``). A cancelled milestone
    upserted again is reopened. Raises ``DomainError`` naming the bad field.
    """
    _validate(key=key, kind=kind, due_at=due_at, title=title)
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
                counts: dict | None = reminders_sync(milestone=milestone)
                change = MilestoneChange(milestone=milestone, created=True, previous_due_at=None, reminders=counts)
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
        counts = None
        if reopened or relevant_before != (
            existing.due_at,
            existing.concerns_family,
            existing.hospital_id,
            existing.kind,
        ):
            counts = reminders_sync(milestone=existing)
        change = MilestoneChange(
            milestone=existing, created=False, previous_due_at=previous_due_at, reopened=reopened, reminders=counts
        )
        if change.moved and existing.concerns_family and existing.is_open:
            # The family is told that a date moved (not which, nor why: see notifications).
            notice_family(
                case=case, kind=NoticeKind.DATE_CHANGED, key=f"date:{existing.pk}:{existing.due_at:%Y%m%dT%H%M}"
            )
        if refresh_case:
            case_refresh_next_due(case=case)
        return change


def milestone_cancel(*, case, key: str, refresh_case: bool = True) -> Milestone | None:
    """Cancel the case's milestone named ``key`` (if open) and its unsent reminders. Idempotent."""
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


def milestone_complete(*, milestone: Milestone, when: dt.datetime | None = None, refresh_case: bool = True) -> bool:
    """Mark an open milestone done (e.g. its MRD result arrived). True if this call did it."""
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
            if refresh_case:
                case_refresh_next_due(case=milestone.case)
    return done


def case_refresh_next_due(*, case) -> None:
    """Store the earliest open milestone on the case, for caseload sorting and filtering."""
    first = Milestone.objects.filter(case_id=case.pk).open().order_by("due_at", "id").values("due_at", "title").first()
    if first is None:
        case_set_next_due(case_id=case.pk, due_at=None, title="")
    else:
        case_set_next_due(case_id=case.pk, due_at=first["due_at"], title=first["title"])


# --- The pathway: events and MRD results in, milestones out -----------------------------

DEFAULT_CENTRE_TIME_ZONE = "Asia/Shanghai"  # CAR-T centres of the service are in China
DUE_TIME = dt.time(9, 0)  # a pathway date is due at 09:00 at the treating centre
PATHWAY_PREFIX = "pathway:"
# The follow-up visits at home after CAR-T (followup.plan) are days as well: a month after the
# infusion, due at 09:00 at the treating centre by the same convention.
FOLLOW_UP_PREFIX = "followup:"
DAY_PREFIXES = (PATHWAY_PREFIX, FOLLOW_UP_PREFIX)


def pathway_due_at(on: dt.date, hospital=None) -> dt.datetime:
    """A pathway date as a moment: 09:00 in the treating centre's time zone."""
    tz_name = getattr(hospital, "time_zone", "") or DEFAULT_CENTRE_TIME_ZONE
    try:
        tz = ZoneInfo(tz_name)
    except (KeyError, ValueError):
        tz = ZoneInfo(DEFAULT_CENTRE_TIME_ZONE)
    return dt.datetime.combine(on, DUE_TIME, tzinfo=tz)


def milestone_centre_day(milestone) -> dt.date | None:
    """A pathway milestone's or a follow-up visit's date on the treating centre's calendar (an
    all-day date wherever a family reads it); None for other milestones, which keep their time."""
    if not milestone.key.startswith(DAY_PREFIXES):
        return None
    return milestone.due_at.astimezone(pathway_due_at(milestone.due_at.date(), milestone.hospital).tzinfo).date()


def milestone_period_start(milestone) -> dt.date | None:
    """The first day of a milestone that is a period: the post-infusion stay runs from the
    infusion (day 0) until at least day 28."""
    day = milestone_centre_day(milestone)
    if day is None or milestone.kind != MilestoneKind.STAY_NEAR_CENTRE:
        return None
    return day - dt.timedelta(days=pathway.STAY_NEAR_CENTRE_DAYS)


@dataclass
class PathwayChanges:
    """What one re-derivation of the pathway did; recorded in the audit trail."""

    created: list[str] = field(default_factory=list)
    moved: list[dict] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    reminders_moved: int = 0
    reminders_created: int = 0
    reminders_removed: int = 0

    @property
    def any(self) -> bool:
        return bool(self.created or self.moved or self.completed or self.cancelled)

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "moved": self.moved,
            "completed": self.completed,
            "cancelled": self.cancelled,
            "reminders": {
                "moved": self.reminders_moved,
                "created": self.reminders_created,
                "removed": self.reminders_removed,
            },
        }


def transplant_decision_of(case) -> str:
    decision = TransplantDecision.objects.filter(case_id=case.pk).values_list("decision", flat=True).first()
    return decision or pathway.TRANSPLANT_UNDECIDED


def transplant_decision_record(
    *, case, actor, decision: str, reason: str = "", decided_on: dt.date | None = None
) -> tuple[TransplantDecision, PathwayChanges]:
    """Record the MDT's transplant decision and re-derive the transplant milestones from it."""
    if decision not in TransplantDecision.Decision.values:
        raise DomainError("Decision must be planned, not_planned or undecided.", field="decision")
    reason = (reason or "").strip()
    if decision == TransplantDecision.Decision.NOT_PLANNED and not reason:
        raise DomainError("Give the reason no transplant is planned (e.g. low-risk child, MDT 12 May).", field="reason")
    if decided_on is not None:
        _check_date(decided_on, field_name="decided_on", allow_future=False)
    with transaction.atomic():
        row, created = TransplantDecision.objects.select_for_update().get_or_create(case=case)
        before = None if created else {"decision": row.decision, "reason": row.reason}
        row.decision, row.reason, row.decided_on = decision, reason, decided_on
        row.recorded_by = Actor.of(actor).user
        row.save()
        audit_record(
            actor=actor,
            action="create" if created else "update",
            obj=row,
            case=case,
            detail={"from": before, "to": {"decision": decision, "reason": reason}},
        )
        changes = pathway_sync(case=case, actor=actor, reason=f"MDT transplant decision: {decision}")
    case_touch(case_id=case.pk)
    return row, changes


def _pathway_inputs(case) -> tuple[dict[str, pathway.Event], list[pathway.Mrd]]:
    events = {
        e.kind: pathway.Event(
            kind=e.kind, on=e.occurred_on, done=e.status == TreatmentEvent.Status.DONE, hospital_id=e.hospital_id
        )
        for e in TreatmentEvent.objects.filter(case_id=case.pk)
    }
    if pathway.PH_POSITIVE not in events:
        # Ph+ recorded in the clinical profile (eligibility) counts as much as the event here:
        # a Ph+ case gets its TKI maintenance check however the status was recorded.
        from eligibility.selectors import philadelphia_positive_since

        since = philadelphia_positive_since(case)
        if since is not None:
            events[pathway.PH_POSITIVE] = pathway.Event(kind=pathway.PH_POSITIVE, on=since, done=True)
    results = [
        pathway.Mrd(
            checkpoint=r.checkpoint, on=r.sample_date, negative=r.is_negative, complete_remission=r.complete_remission
        )
        for r in MRDResult.objects.filter(case_id=case.pk)
    ]
    return events, results


def pathway_sync(*, case, actor=None, reason: str = "") -> PathwayChanges:
    """Re-derive the case's pathway milestones from its events and MRD results.

    All in one transaction, the case row locked so two recorders of events on the same
    case take turns: every dependent milestone and its pending reminders move together.
    """
    changes = PathwayChanges()
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        events, results = _pathway_inputs(case)
        planned = pathway.plan(events=events, mrd_results=results, transplant_decision=transplant_decision_of(case))
        hospital_ids = {p.hospital_id for p in planned if p.hospital_id}
        # The centres milestones point at, reached through the relation (hospitals sits above scheduling).
        centres = Milestone.hospital.field.related_model._default_manager
        hospitals = centres.in_bulk(hospital_ids) if hospital_ids else {}
        for p in planned:
            hospital = hospitals.get(p.hospital_id)
            change = milestone_upsert(
                case=case,
                key=p.key,
                kind=p.kind,
                due_at=pathway_due_at(p.on, hospital),
                title=p.title,
                concerns_family=p.concerns_family,
                hospital=hospital,
                source=f"pathway: {p.trigger}",
                refresh_case=False,
            )
            m = change.milestone
            if change.created:
                changes.created.append(p.key)
            elif change.moved and change.previous_due_at is not None:
                changes.moved.append(
                    {
                        "key": p.key,
                        "title": m.title,
                        "from": change.previous_due_at.isoformat(),
                        "to": m.due_at.isoformat(),
                    }
                )
            counts = change.reminders or {}
            changes.reminders_created += counts.get("created", 0)
            changes.reminders_moved += counts.get("moved", 0)
            changes.reminders_removed += counts.get("removed", 0)
            if p.done and m.is_open and milestone_complete(milestone=m, refresh_case=False):
                changes.completed.append(p.key)
        wanted = {p.key for p in planned}
        for m in Milestone.objects.filter(case=case, key__startswith=PATHWAY_PREFIX).open():
            if m.key not in wanted:
                milestone_cancel(case=case, key=m.key, refresh_case=False)
                changes.cancelled.append(m.key)
        case_refresh_next_due(case=case)
        if changes.any:
            audit_record(
                actor=actor or "scheduling",
                action="pathway_changed",
                obj=case,
                detail={**changes.as_dict(), "reason": reason},
            )
    return changes


def _check_date(value, *, field_name: str, allow_future: bool) -> None:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise DomainError("Give a date (YYYY-MM-DD).", field=field_name)
    today = timezone.localdate()
    if not allow_future and value > today:
        raise DomainError("This date is in the future; record it as planned, or correct the date.", field=field_name)
    if abs((value - today).days) > 3 * 365:
        raise DomainError("This date is more than three years away from today; check the year.", field=field_name)


def event_record(
    *,
    case,
    kind: str,
    occurred_on: dt.date,
    actor,
    status: str = TreatmentEvent.Status.PLANNED,
    hospital=None,
    notes: str = "",
) -> tuple[TreatmentEvent, PathwayChanges]:
    """Record (or move) a treatment event and re-derive every milestone that depends on it.

    Returns the event and what moved; both the event and the moves commit together.
    """
    if kind not in TreatmentEvent.Kind.values:
        raise DomainError(f"Unknown event {kind!r}; use one of {', '.join(TreatmentEvent.Kind.values)}.", field="kind")
    if status not in TreatmentEvent.Status.values:
        raise DomainError("Status must be planned or done.", field="status")
    _check_date(occurred_on, field_name="occurred_on", allow_future=status == TreatmentEvent.Status.PLANNED)
    with transaction.atomic():
        event, created = TreatmentEvent.objects.select_for_update().get_or_create(
            case=case,
            kind=kind,
            defaults={
                "occurred_on": occurred_on,
                "status": status,
                "hospital": hospital,
                "notes": notes,
                "recorded_by": Actor.of(actor).user,
            },
        )
        before = None if created else {"date": event.occurred_on.isoformat(), "status": event.status}
        if not created:
            event.occurred_on = occurred_on
            event.status = status
            event.hospital = hospital or event.hospital
            event.notes = notes or event.notes
            event.recorded_by = Actor.of(actor).user or event.recorded_by
            event.save()
        audit_record(
            actor=actor,
            action="create" if created else "update",
            obj=event,
            detail={"kind": kind, "from": before, "to": {"date": occurred_on.isoformat(), "status": status}},
        )
        changes = pathway_sync(case=case, actor=actor, reason=f"{kind} recorded")
    case_touch(case_id=case.pk)
    return event, changes


def event_delete(*, event: TreatmentEvent, actor) -> PathwayChanges:
    """Remove a wrongly recorded event; its derived milestones are cancelled with their reminders."""
    with transaction.atomic():
        audit_record(actor=actor, action="delete", obj=event, detail={"kind": event.kind})
        case = event.case
        event.delete()
        return pathway_sync(case=case, actor=actor, reason=f"{event.kind} removed")


# --- MRD results and coordinator tasks --------------------------------------------------

CHECKPOINT_MILESTONE: dict[str, str] = {
    MRDResult.Checkpoint.DAY_28: "pathway:mrd_day28",
    MRDResult.Checkpoint.DAY_60: "pathway:mrd_day60",
}


def mrd_result_check(*, case, checkpoint, sample_date, method, result, sample, value, document) -> Decimal | None:
    """Validate an MRD result; raises ``DomainError`` naming the field. Returns the value as a Decimal."""
    if checkpoint not in MRDResult.Checkpoint.values:
        raise DomainError("Checkpoint must be day28, day60 or other.", field="checkpoint")
    if method not in MRDResult.Method.values:
        raise DomainError("Method must be flow (10^-4), pcr_1e5 or pcr_1e6.", field="method")
    if sample not in MRDResult.Sample.values:
        raise DomainError("Sample must be bone_marrow or peripheral_blood.", field="sample")
    if result not in MRDResult.Result.values:
        raise DomainError("Result must be negative or positive.", field="result")
    _check_date(sample_date, field_name="sample_date", allow_future=False)
    if value is not None:
        try:
            value = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise DomainError("Give the MRD level as a number between 0 and 1, e.g. 0.0003.", field="value")
        if not (Decimal(0) <= value <= Decimal(1)):
            raise DomainError("Give the MRD level as a fraction between 0 and 1 (3 × 10^-4 is 0.0003).", field="value")
        sensitivity = Decimal(str(MRDResult.SENSITIVITY[method]))
        if result == MRDResult.Result.NEGATIVE and value >= sensitivity:
            raise DomainError(
                f"A level of {value} is at or above this method's sensitivity ({sensitivity}); that is MRD-positive.",
                field="value",
            )
    if document is not None and document.case_id != case.pk:
        raise DomainError(
            "The linked document belongs to another case; choose one of this case's documents.", field="document"
        )

    return value


def mrd_result_record(
    *,
    case,
    actor,
    checkpoint: str,
    sample_date: dt.date,
    method: str,
    result: str,
    sample: str = MRDResult.Sample.BONE_MARROW,
    value: Decimal | None = None,
    complete_remission: bool | None = None,
    document=None,
    notes: str = "",
) -> MRDResult:
    """Record an MRD result; close its checkpoint; act on it (pathway.md steps 5-7).

    The checkpoint is derived from the days since the recorded infusion (day 28 or day 60 within
    ``pathway.MRD_TOLERANCE_DAYS``, else "other"), whatever label was given. Any MRD-positive
    result, and MRD returning after a negative one, opens an urgent coordinator task at once; an
    MRD-negative complete remission opens transplant planning. Remission is entered explicitly.
    """
    if complete_remission not in (True, False):
        raise DomainError(
            "Say whether the patient is in morphological complete remission (CR/CRi) at this assessment.",
            field="complete_remission",
        )
    infusion = (
        TreatmentEvent.objects.filter(case_id=case.pk, kind=TreatmentEvent.Kind.INFUSION)
        .values_list("occurred_on", flat=True)
        .first()
    )
    if isinstance(sample_date, dt.date):
        checkpoint = pathway.checkpoint_for(sample_date=sample_date, infusion_on=infusion) or checkpoint
    value = mrd_result_check(
        case=case,
        checkpoint=checkpoint,
        sample_date=sample_date,
        method=method,
        result=result,
        sample=sample,
        value=value,
        document=document,
    )
    with transaction.atomic():
        mrd = MRDResult.objects.create(
            case=case,
            checkpoint=checkpoint,
            sample_date=sample_date,
            sample=sample,
            method=method,
            value=value,
            result=result,
            complete_remission=complete_remission,
            document=document,
            notes=notes,
            recorded_by=Actor.of(actor).user,
        )
        audit_record(actor=actor, action="create", obj=mrd, detail={"checkpoint": checkpoint, "result": result})
        key = CHECKPOINT_MILESTONE.get(checkpoint)
        if key:
            milestone = Milestone.objects.filter(case=case, key=key).first()
            if milestone is not None:
                milestone_complete(milestone=milestone, refresh_case=False)
        earlier = [
            pathway.Mrd(checkpoint=r.checkpoint, on=r.sample_date, negative=r.is_negative, complete_remission=False)
            for r in MRDResult.objects.filter(case=case).exclude(pk=mrd.pk)
        ]
        alarm = pathway.mrd_alarm(
            pathway.Mrd(
                checkpoint=checkpoint, on=sample_date, negative=mrd.is_negative, complete_remission=complete_remission
            ),
            earlier,
        )
        if alarm is not None:
            when = {"day28": "Day-28", "day60": "Day-60"}.get(checkpoint, "Post-infusion")
            what = "MRD conversion (positive after negative)" if alarm == "conversion" else "MRD-positive"
            task_open(
                case=case,
                key=f"mrd-positive:{mrd.pk}",
                title=f"{when} {what}: arrange additional assessment and discuss transplant timing",
                detail=(
                    f"{what} ({mrd.get_method_display()}, level {value if value is not None else 'not given'}) "
                    f"on {sample_date:%Y-%m-%d}"
                    + (f", day {(sample_date - infusion).days} after infusion" if infusion else "")
                    + ". Ask the centre for additional assessment and discuss the timing "
                    "of allogeneic transplant with the treating team and the family."
                ),
                priority=CoordinatorTask.Priority.URGENT,
                mrd_result=mrd,
                due_at=timezone.now() + dt.timedelta(days=1),
            )
        pathway_sync(case=case, actor=actor, reason=f"MRD result ({checkpoint}, {result})")
    case_touch(case_id=case.pk)
    return mrd


def task_open(
    *,
    case,
    key: str,
    title: str,
    detail: str = "",
    priority: int = CoordinatorTask.Priority.NORMAL,
    milestone: Milestone | None = None,
    mrd_result: MRDResult | None = None,
    due_at: dt.datetime | None = None,
    assignee=None,
) -> tuple[CoordinatorTask, bool]:
    """Open a task for the case's coordinator (or ``assignee``), once per ``key`` (a second call
    returns the first task)."""
    try:
        with transaction.atomic():
            task = CoordinatorTask.objects.create(
                case=case,
                key=key,
                title=title[:200],
                detail=detail,
                priority=priority,
                assignee_id=assignee.pk if assignee is not None else case.coordinator_id,
                milestone=milestone,
                mrd_result=mrd_result,
                due_at=due_at,
            )
    except IntegrityError:
        return CoordinatorTask.objects.get(case=case, key=key), False
    audit_record(actor="scheduling", action="task_opened", obj=task, case=case, detail={"key": key})
    return task, True


def task_complete(*, task: CoordinatorTask, actor) -> bool:
    done = (
        CoordinatorTask.objects.filter(pk=task.pk, status=CoordinatorTask.Status.OPEN).update(
            status=CoordinatorTask.Status.DONE, completed_at=timezone.now(), completed_by=Actor.of(actor).user
        )
        == 1
    )
    if done:
        audit_record(actor=actor, action="task_done", obj=task)
    return done


def milestones_escalate(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Escalate open milestones left without a result past their kind's escalation rule.

    Each escalation is a conditional UPDATE (pending -> escalated), so two sweeps escalate a
    milestone once; the task is keyed by the milestone, so it is opened once too.
    """
    now = now or timezone.now()
    delays: dict[str, int] = {}
    for rule in ReminderRule.objects.filter(is_escalation=True, is_active=True):
        delays[rule.kind] = min(rule.offset_days, delays.get(rule.kind, rule.offset_days))
    escalated = 0
    for kind, days in delays.items():
        ids = list(
            Milestone.objects.filter(
                kind=kind, status=Milestone.Status.PENDING, due_at__lte=now - dt.timedelta(days=days)
            )
            .order_by("due_at")
            .values_list("pk", flat=True)[:limit]
        )
        for pk in ids:
            with transaction.atomic():
                if (
                    Milestone.objects.filter(pk=pk, status=Milestone.Status.PENDING).update(
                        status=Milestone.Status.ESCALATED, escalated_at=now, updated_at=now
                    )
                    != 1
                ):
                    continue
                m = Milestone.objects.select_related("case").get(pk=pk)
                task_open(
                    case=m.case,
                    key=f"overdue:{m.pk}",
                    title=f"Overdue: {m.title}"[:200],
                    detail=f"Due {m.due_at:%Y-%m-%d %H:%M} UTC and still without a result after {days} days.",
                    priority=CoordinatorTask.Priority.URGENT,
                    milestone=m,
                    due_at=now,
                )
                audit_record(actor="scheduling", action="milestone_escalated", obj=m, case=m.case)
                escalated += 1
    return escalated


def case_closed_cancel_milestones(*, case, change) -> None:
    """When a case leaves the active workflow (closed, withdrawn, deceased...), nobody is reminded again."""
    if change.to_status in workflow.ACTIVE:
        return
    with transaction.atomic():
        for m in Milestone.objects.filter(case_id=case.pk).open():
            milestone_cancel(case=case, key=m.key, refresh_case=False)
        case_refresh_next_due(case=case)


def notice_failure_task_open(*, delivery_id: int) -> bool:
    """A notice that could not be delivered becomes work in the coordinator's task list, once
    per delivery and failure (keyed by the moment it failed: sent again and failed again, a new
    task). True if a task was opened."""
    delivery = NoticeDelivery.objects.select_related("digest__contact", "digest__user").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != NoticeDelivery.Status.FAILED:
        return False
    notice = delivery.digest.notices.select_related("case").first()
    if notice is None:
        return False
    digest = delivery.digest
    who = f"family contact {digest.contact}" if digest.contact_id else f"coordinator {digest.user}"
    _task, opened = task_open(
        case=notice.case,
        key=f"notice-failed:{delivery.pk}:{delivery.updated_at:%Y%m%dT%H%M%S%f}"[:100],
        title=f"Notification not delivered ({delivery.get_channel_display()})"[:200],
        detail=(
            f"The {delivery.get_channel_display()} notification to {who} failed after {delivery.attempts} "
            f"attempt(s): {delivery.last_error[:300]}. Check the address or the preference, then send it again "
            "from Notice deliveries (action 'Send the selected failed deliveries again'), or tell them yourself."
        ),
        priority=CoordinatorTask.Priority.HIGH,
        due_at=timezone.now(),
    )
    return opened
