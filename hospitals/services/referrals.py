"""Referrals: sending a case to a centre, the centre's answers, and what each answer does to the case."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from accounts.roles import is_coordinator, is_hospital
from audit.actor import Actor
from audit.services import audit_record
from cases import workflow as case_workflow
from cases.models import Case
from cases.services import case_transition
from navigator import events
from navigator.errors import ConflictError, DomainError
from scheduling.services import milestone_cancel, milestone_upsert, task_open

from .. import workflow
from ..models import AppointmentSlot, Hospital, PacketVersion, Referral, ReferralEvent
from .packets import packet_freeze, packet_preview

log = logging.getLogger(__name__)

DEADLINE_NEAR = dt.timedelta(hours=24)


def _side(actor, referral: Referral) -> str:
    if is_coordinator(actor):
        return workflow.COORDINATOR
    if is_hospital(actor) and actor.hospital_id == referral.hospital_id:
        return workflow.HOSPITAL
    raise DomainError("You cannot act on this referral.", code="permission_denied")


@transaction.atomic
def referral_create(
    *, case: Case, hospital: Hospital, actor, cover_note: str = "", response_due_at: dt.datetime | None = None
) -> Referral:
    """A draft referral of a case to a centre. Nothing is shared until it is sent."""
    if not is_coordinator(actor):
        raise DomainError("Only a coordinator can refer a case.", code="permission_denied")
    if not hospital.is_active:
        raise DomainError(f"{hospital} is not taking referrals (inactive).", field="hospital")
    if hospital.indications.exists() and not hospital.indications.filter(pk=case.indication_id).exists():
        raise DomainError(f"{hospital} does not accept referrals for {case.indication}.", field="hospital")
    if Referral.objects.filter(case=case, hospital=hospital).exists():
        raise DomainError(f"{case} is already referred to {hospital}; send that referral again.", field="hospital")
    if response_due_at is not None and response_due_at <= timezone.now():
        raise DomainError("The response deadline must be in the future.", field="response_due_at")
    referral = Referral.objects.create(
        case=case, hospital=hospital, created_by=actor, cover_note=cover_note, response_due_at=response_due_at
    )
    ReferralEvent.objects.create(
        referral=referral, to_status=referral.status, actor=actor, actor_label=Actor.of(actor).label
    )
    audit_record(actor=actor, action="create", obj=referral, case=case, detail={"hospital": hospital.code})
    return referral


def _move(*, referral: Referral, to_status: str, actor, reason: str = "", detail: dict | None = None) -> Referral:
    """Lock, check the table, move, log. The caller holds a transaction."""
    locked = Referral.objects.select_for_update().select_related("case", "hospital").get(pk=referral.pk)
    side = _side(actor, locked)
    decision = workflow.check_transition(locked.status, to_status, side=side, reason=reason)
    if not decision.allowed:
        if decision.missing_reason:
            raise DomainError(decision.reason, field="reason")
        # The request is well-formed but the referral's current status does not allow it: 409.
        raise ConflictError(decision.reason, field="status", code="transition_not_allowed")
    now = timezone.now()
    from_status = locked.status
    locked.status = to_status
    stamp = {
        workflow.SENT: "sent_at",
        workflow.ACKNOWLEDGED: "acknowledged_at",
        workflow.UNDER_REVIEW: "review_started_at",
        workflow.WITHDRAWN: "closed_at",
    }.get(to_status)
    if stamp:
        setattr(locked, stamp, now)
    if to_status in workflow.ANSWERS:
        locked.answered_at = now
    if to_status == workflow.DECLINED:
        locked.closed_at = now
        locked.decline_reason = reason.strip()
    if to_status == workflow.WITHDRAWN:
        locked.withdraw_reason = reason.strip()
    if to_status == workflow.SENT and locked.first_sent_at is None:
        locked.first_sent_at = now
    locked.save()
    ReferralEvent.objects.create(
        referral=locked,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        actor_label=Actor.of(actor).label,
        at=now,
        reason=reason.strip(),
        detail=detail or {},
    )
    audit_record(
        actor=actor,
        action="transition",
        obj=locked,
        case=locked.case,
        detail={"from": from_status, "to": to_status, "reason": reason.strip(), **(detail or {})},
    )
    referral.__dict__.update({k: v for k, v in locked.__dict__.items() if not k.startswith("_")})
    return locked


# --- the deadline feeds the reminders (scheduling) ----------------------------------------


def _deadline_sync(referral: Referral) -> None:

    if referral.awaits_answer and referral.response_due_at:
        milestone_upsert(
            case=referral.case,
            key=referral.milestone_key,
            kind="referral_deadline",
            due_at=referral.response_due_at,
            title=f"{referral.hospital.code.upper()}: answer to the referral due",
            hospital=referral.hospital,
            source=referral,
        )
    else:
        milestone_cancel(case=referral.case, key=referral.milestone_key)


def referral_set_deadline(*, referral: Referral, actor, due_at: dt.datetime) -> Referral:
    if not is_coordinator(actor):
        raise DomainError("Only a coordinator sets response deadlines.", code="permission_denied")
    if due_at <= timezone.now():
        raise DomainError("The response deadline must be in the future.", field="response_due_at")
    with transaction.atomic():
        before = Referral.objects.select_for_update().values_list("response_due_at", flat=True).get(pk=referral.pk)
        Referral.objects.filter(pk=referral.pk).update(response_due_at=due_at, deadline_near_notified_at=None)
        referral.refresh_from_db()
        _deadline_sync(referral)
        audit_record(actor=actor, action="update", obj=referral, detail={"response_due_at": due_at.isoformat()})
        if before != due_at and referral.status != workflow.DRAFT:
            _emit_deadline_changed(referral, before)
    return referral


def _emit_deadline_changed(referral: Referral, before: dt.datetime | None) -> None:
    """Tell the centre its answer is now due at another time (or no longer has a deadline)."""
    events.emit(
        event_type="deadline.changed",
        hospital=referral.hospital,
        data={
            "referral_id": referral.pk,
            "case_reference": referral.case.reference,
            "status": referral.status,
            "response_due_at": referral.response_due_at.isoformat() if referral.response_due_at else None,
            "previous_response_due_at": before.isoformat() if before else None,
        },
    )


def referral_deadline_on_send(*, referral: Referral, response_due_at: dt.datetime | None = None) -> dt.datetime:
    """The response deadline a send leaves in force.

    A deadline given with the send wins. Otherwise the deadline the coordinator set is kept;
    only a referral without one, or whose deadline has already passed, gets the centre's
    default answer time (``Hospital.response_days``) from now.
    """
    if response_due_at is not None:
        return response_due_at
    now = timezone.now()
    if referral.response_due_at is not None and referral.response_due_at > now:
        return referral.response_due_at
    return now + dt.timedelta(days=referral.hospital.response_days)


# --- the coordinator's side ----------------------------------------------------------------


def referral_send(
    *,
    referral: Referral,
    actor,
    document_ids=None,
    response_due_at: dt.datetime | None = None,
    reason: str = "",
    allow_missing: bool = True,
) -> PacketVersion:
    """Freeze a packet version and send it to the centre.

    A draft (or a referral the centre asked more information on, or one declined or
    withdrawn, with a reason) becomes "sent". A referral still under consideration keeps its
    status and the centre is told a new packet version is there. Sending an unchanged case
    again sends the same version.
    """
    if not is_coordinator(actor):
        raise DomainError("Only a coordinator can send a referral.", code="permission_denied")
    if response_due_at is not None and response_due_at <= timezone.now():
        raise DomainError("The response deadline must be in the future.", field="response_due_at")
    if not allow_missing:
        preview = packet_preview(referral=referral, document_ids=document_ids)
        if preview.missing:
            names = ", ".join(m.label for m in preview.missing)
            raise DomainError(f"{referral.hospital} requires records still missing: {names}.", field="document_ids")
    with transaction.atomic():
        referral = Referral.objects.select_for_update().select_related("case", "hospital").get(pk=referral.pk)
        packet, created = packet_freeze(referral=referral, actor=actor, document_ids=document_ids)
        was = referral.status
        if was in (workflow.DRAFT, workflow.MORE_INFO, workflow.DECLINED, workflow.WITHDRAWN):
            _move(
                referral=referral,
                to_status=workflow.SENT,
                actor=actor,
                reason=reason,
                detail={"packet_version": packet.version},
            )
        elif not created:
            raise DomainError(
                f"Nothing changed since packet version {packet.version}; the centre already has it.",
                field="document_ids",
                code="unchanged",
            )
        else:
            Referral.objects.filter(pk=referral.pk).update(sent_at=timezone.now())
            audit_record(
                actor=actor, action="send", obj=referral, case=referral.case, detail={"packet_version": packet.version}
            )
        previous_due = referral.response_due_at
        due = referral_deadline_on_send(referral=referral, response_due_at=response_due_at)
        if due != previous_due:
            Referral.objects.filter(pk=referral.pk).update(response_due_at=due, deadline_near_notified_at=None)
            referral.response_due_at = due
        if referral.awaits_answer:
            _deadline_sync(referral)
        if was in (workflow.DRAFT, workflow.DECLINED, workflow.WITHDRAWN, workflow.MORE_INFO):
            _case_referred(referral=referral, actor=actor)
        data = {
            "referral_id": referral.pk,
            "case_reference": referral.case.reference,
            "status": referral.status,
            "packet_version": packet.version,
            "response_due_at": referral.response_due_at.isoformat() if referral.response_due_at else None,
        }
        if was != referral.status:
            events.emit(event_type="referral.sent", hospital=referral.hospital, data=data)
        elif due != previous_due:
            _emit_deadline_changed(referral, previous_due)
        if packet.version > 1 and created:
            events.emit(
                event_type="packet.updated",
                hospital=referral.hospital,
                data={**data, "compared_to": packet.compared_to, "changes": packet_change_list(packet)},
            )
    return packet


def packet_change_list(packet: PacketVersion) -> list[dict]:
    """What changed since the version before, for the ``packet.updated`` event: per change its
    section, field and kind (added, removed, changed), never the values (events carry no
    health data; the packet itself has them)."""
    return [{"section": c["section"], "field": c["field"], "change": c["change"]} for c in packet.changes]


def referral_withdraw(*, referral: Referral, actor, reason: str) -> Referral:
    """The coordinator withdraws the referral; a centre that had it is told (``referral.withdrawn``)."""
    with transaction.atomic():
        was = Referral.objects.values_list("status", flat=True).get(pk=referral.pk)
        _move(referral=referral, to_status=workflow.WITHDRAWN, actor=actor, reason=reason)
        _deadline_sync(referral)
        _case_after_answer(referral=referral, actor=actor)
        if was != workflow.DRAFT:
            events.emit(
                event_type="referral.withdrawn",
                hospital=referral.hospital,
                data={
                    "referral_id": referral.pk,
                    "case_reference": referral.case.reference,
                    "status": referral.status,
                    "previous_status": was,
                    "withdrawn_at": referral.closed_at.isoformat() if referral.closed_at else None,
                },
            )
    return referral


# --- the centre's side ---------------------------------------------------------------------


def referral_acknowledge(*, referral: Referral, actor) -> Referral:
    """The centre confirms receipt. Acknowledging twice is harmless."""
    if referral.status != workflow.SENT:
        if referral.acknowledged_at:
            return referral
    with transaction.atomic():
        _move(referral=referral, to_status=workflow.ACKNOWLEDGED, actor=actor)
        _tell_coordinator(referral, f"{referral.hospital.name_en} acknowledged the referral of {referral.case}.", actor)
    return referral


def referral_start_review(*, referral: Referral, actor) -> Referral:
    with transaction.atomic():
        _move(referral=referral, to_status=workflow.UNDER_REVIEW, actor=actor)
        _tell_coordinator(referral, f"{referral.hospital.name_en} is reviewing {referral.case}.", actor)
    return referral


ACCEPT = "accept"
MORE_INFO = "more_info"
DECLINE = "decline"
DECISIONS = {ACCEPT: workflow.ACCEPTED, MORE_INFO: workflow.MORE_INFO, DECLINE: workflow.DECLINED}


def referral_answer(
    *, referral: Referral, actor, decision: str, reason: str = "", items=(), note: str = ""
) -> Referral:
    """The centre's answer: accept for screening, ask for more information (a list of what),
    or decline (with a reason). The case moves accordingly and the coordinator is told."""
    if decision not in DECISIONS:
        raise DomainError(f"Answer with one of: {', '.join(DECISIONS)}.", field="decision")
    items = [str(i).strip() for i in items or [] if str(i).strip()]
    if decision == MORE_INFO and not items:
        raise DomainError("List what information the centre needs, one item per entry.", field="items")
    if decision == DECLINE and not reason.strip():
        raise DomainError("Give the reason for declining; the family will be told.", field="reason")
    with transaction.atomic():
        detail = {"items": items} if items else {}
        if note:
            detail["note"] = note
        _move(referral=referral, to_status=DECISIONS[decision], actor=actor, reason=reason, detail=detail)
        # information_requested is the centre's open request: a request for more information
        # replaces it, accepting or declining closes it (a new packet sent in between keeps it,
        # so the centre can check the packet against it). answer_note is the centre's latest
        # note: an answer with a note replaces it, one without leaves it (every answer's own
        # note stays in the referral's history).
        Referral.objects.filter(pk=referral.pk).update(
            information_requested=items if decision == MORE_INFO else [],
            **({"answer_note": note.strip()} if note.strip() else {}),
        )
        referral.refresh_from_db()
        _deadline_sync(referral)
        if decision == MORE_INFO:
            _request_documents(referral=referral, actor=actor, items=items)
        _case_after_answer(referral=referral, actor=actor)
        text = {
            ACCEPT: f"{referral.hospital.name_en} accepted {referral.case} for screening.",
            MORE_INFO: f"{referral.hospital.name_en} needs more information on {referral.case}: " + "; ".join(items),
            DECLINE: f"{referral.hospital.name_en} declined {referral.case}: {reason.strip()}",
        }[decision]
        if note:
            text += f"\n\n{note.strip()}"
        _tell_coordinator(referral, text, actor)
    return referral


def _request_documents(*, referral: Referral, actor, items: list[str]) -> None:
    """Open a task for the case's coordinator: what the centre asks for, once per referral."""
    task_open(
        case=referral.case,
        key=f"referral-info:{referral.pk}",
        title=f"{referral.hospital.code.upper()} asks for more information",
        detail="\n".join(f"- {i}" for i in items),
    )


# --- effects on the case -------------------------------------------------------------------


def _try_case_transition(*, case: Case, to_status: str, actor, reason: str) -> bool:
    if not case_workflow.check_transition(case.status, to_status, reason).allowed:
        return False
    case_transition(case=case, to_status=to_status, actor=actor, reason=reason)
    return True


def _case_referred(*, referral: Referral, actor) -> None:
    case = Case.objects.get(pk=referral.case_id)
    if case.status in (case_workflow.SCREENING, case_workflow.DECLINED):
        _try_case_transition(
            case=case, to_status=case_workflow.REFERRED, actor=actor, reason=f"Referred to {referral.hospital.name_en}"
        )


def _case_after_answer(*, referral: Referral, actor) -> None:
    """Accepted by one centre: the case is "accepted". Declined by every centre it was sent
    to (withdrawn ones aside): the case is "declined". A centre withdrawing its acceptance
    puts an accepted case back to "referred" when no other centre accepted."""
    case = Case.objects.get(pk=referral.case_id)
    shared = list(  # withdrawn referrals are not shared
        Referral.objects.filter(case=case, status__in=Referral.SHARED_STATUSES).values_list(
            "hospital__name_en", "status"
        )
    )
    statuses = [s for _name, s in shared]
    if referral.status == workflow.ACCEPTED:
        _try_case_transition(
            case=case,
            to_status=case_workflow.ACCEPTED,
            actor=actor,
            reason=f"Accepted for screening by {referral.hospital.name_en}",
        )
        return
    if case.status == case_workflow.ACCEPTED and workflow.ACCEPTED not in statuses:
        _try_case_transition(
            case=case,
            to_status=case_workflow.REFERRED,
            actor=actor,
            reason=f"{referral.hospital.name_en} no longer proceeds: {referral.decline_reason or referral.withdraw_reason}",
        )
        case.refresh_from_db()
    if statuses and all(s == workflow.DECLINED for s in statuses):
        reasons = "; ".join(
            f"{name}: {reason}"
            for name, reason in Referral.objects.filter(case=case, status=workflow.DECLINED).values_list(
                "hospital__name_en", "decline_reason"
            )
        )
        _try_case_transition(
            case=case, to_status=case_workflow.DECLINED, actor=actor, reason=f"Declined by every centre. {reasons}"
        )


def _tell_coordinator(referral: Referral, text: str, actor) -> None:
    """A system message in the case's thread with the centre (the coordinator's inbox)."""
    from messaging.models import Thread
    from messaging.services import message_post

    message_post(
        author=actor, body=text, case=referral.case, kind=Thread.Kind.HOSPITAL, hospital=referral.hospital, system=True
    )


# --- appointment slots -----------------------------------------------------------------------


def slots_propose(*, referral: Referral, actor, kind: str, slots: list[dict]) -> list[AppointmentSlot]:
    """The centre proposes dates for a tele-consultation or an admission."""
    if _side(actor, referral) != workflow.HOSPITAL:
        raise DomainError("Only the centre proposes appointment slots.", code="permission_denied")
    if referral.status not in (workflow.ACKNOWLEDGED, workflow.UNDER_REVIEW, workflow.ACCEPTED, workflow.SENT):
        raise ConflictError(
            f"Slots can be proposed while the referral is open, not when it is “{workflow.LABELS[referral.status]}”.",
            field="status",
            code="transition_not_allowed",
        )
    if kind not in AppointmentSlot.Kind.values:
        raise DomainError(f"Choose a kind: {', '.join(AppointmentSlot.Kind.values)}.", field="kind")
    if kind == AppointmentSlot.Kind.ADMISSION and referral.status != workflow.ACCEPTED:
        raise DomainError("Admission dates follow acceptance for screening; accept the referral first.", field="kind")
    if not slots:
        raise DomainError("Propose at least one slot.", field="slots")
    now = timezone.now()
    rows = []
    for i, slot in enumerate(slots):
        starts, ends = slot["starts_at"], slot.get("ends_at")
        if starts <= now:
            raise DomainError(f"Slot {i + 1} starts in the past.", field="slots")
        if ends is not None and ends <= starts:
            raise DomainError(f"Slot {i + 1} ends before it starts.", field="slots")
        rows.append(
            AppointmentSlot(
                referral=referral,
                kind=kind,
                starts_at=starts,
                ends_at=ends,
                location=slot.get("location", "")[:300],
                note=slot.get("note", ""),
                proposed_by=actor,
            )
        )
    with transaction.atomic():
        created = AppointmentSlot.objects.bulk_create(rows)
        audit_record(
            actor=actor, action="create", obj=referral, case=referral.case, detail={"slots": len(created), "kind": kind}
        )
        listed = "\n".join(f"- {s.starts_at:%Y-%m-%d %H:%M} UTC {s.location}".rstrip() for s in created)
        label = AppointmentSlot.Kind(kind).label
        _tell_coordinator(referral, f"{referral.hospital.name_en} proposes {label} slots:\n{listed}", actor)
    return created


def slot_confirm(*, slot: AppointmentSlot, actor) -> AppointmentSlot:
    """The coordinator takes one proposed slot; the others of the same kind lapse."""
    if not is_coordinator(actor):
        raise DomainError("Only a coordinator confirms a slot.", code="permission_denied")
    with transaction.atomic():
        locked = AppointmentSlot.objects.select_for_update().select_related("referral__case").get(pk=slot.pk)
        if locked.status != AppointmentSlot.Status.PROPOSED:
            raise DomainError("Only a proposed slot can be confirmed.", field="status")
        now = timezone.now()
        AppointmentSlot.objects.filter(
            referral=locked.referral, kind=locked.kind, status=AppointmentSlot.Status.PROPOSED
        ).exclude(pk=locked.pk).update(status=AppointmentSlot.Status.LAPSED, decided_at=now)
        locked.status = AppointmentSlot.Status.CONFIRMED
        locked.decided_at = now
        locked.save(update_fields=["status", "decided_at"])
        audit_record(actor=actor, action="update", obj=locked, case=locked.referral.case, detail={"confirmed": True})
        from messaging.models import Thread
        from messaging.services import message_post

        message_post(
            author=actor,
            body=f"Confirmed: {locked.get_kind_display()} on {locked.starts_at:%Y-%m-%d %H:%M} UTC.",
            case=locked.referral.case,
            kind=Thread.Kind.HOSPITAL,
            hospital=locked.referral.hospital,
        )
    return locked


# --- deadlines ---------------------------------------------------------------------------------


def referral_deadlines_notify(*, now: dt.datetime | None = None) -> int:
    """Tell centres whose answer is due within a day (once per referral and deadline)."""
    now = now or timezone.now()
    near = Referral.objects.awaiting_answer().filter(
        response_due_at__gt=now, response_due_at__lte=now + DEADLINE_NEAR, deadline_near_notified_at=None
    )
    count = 0
    for referral in near.select_related("case", "hospital"):
        with transaction.atomic():
            claimed = Referral.objects.filter(pk=referral.pk, deadline_near_notified_at=None).update(
                deadline_near_notified_at=now
            )
            if claimed != 1:
                continue
            events.emit(
                event_type="deadline.near",
                hospital=referral.hospital,
                data={
                    "referral_id": referral.pk,
                    "case_reference": referral.case.reference,
                    "status": referral.status,
                    "response_due_at": referral.response_due_at.isoformat(),
                },
                dedupe_key=f"deadline.near:{referral.pk}:{referral.response_due_at.isoformat()}",
            )
            count += 1
    return count
