"""Sending reminders exactly once: the sweep that claims due reminders, and the send.

The database decides who sends what, never timing or luck:

- The sweep claims due reminders (pending -> queued) with SELECT ... FOR UPDATE SKIP
  LOCKED, so two sweeps never claim the same row, and enqueues one send task per
  reminder when its transaction commits.
- A send leases the reminder (queued -> sending, attempts + 1) with a conditional
  UPDATE; only the worker whose UPDATE matched proceeds. ``attempts`` is the fencing
  token: the final sending -> sent UPDATE matches only the lease it took.
- The provider gets the reminder's idempotency key, so a send repeated after a worker
  died between the provider call and the 'sent' UPDATE is not delivered twice.
- A worker killed mid-send leaves the row 'sending'; once its lease has expired the sweep
  puts it back to 'queued' and enqueues it again. Nothing is lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import random

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.services import audit_record
from cases.access import can_see_case
from navigator import metrics, queue
from notifications.rendering import render_message
from notifications.services import delivery_guarantee, message_send

from . import conf, parties
from .models import CoordinatorTask, Milestone, MilestoneKind, Reminder
from .services import FOLLOW_UP_PREFIX, milestone_centre_day, milestones_escalate, task_open

log = logging.getLogger(__name__)

SEND = "scheduling.reminder_send"  # tasks.reminder_send


def _claim(qs, *, now: dt.datetime, limit: int, **update) -> list[int]:
    ids = list(qs.order_by().select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
    if ids:
        Reminder.objects.filter(pk__in=ids).update(updated_at=now, **update)
    return ids


def reminders_sweep(*, now: dt.datetime | None = None, batch: int | None = None) -> dict:
    """Escalate overdue milestones, claim due reminders, recover stale ones; enqueue sends on commit.

    The due-reminder query walks the partial index on send_at WHERE status = 'pending'
    from its start up to ``now``: its cost depends on the due rows, not on the future ones.
    """
    now = now or timezone.now()
    batch = batch or conf.sweep_batch()
    escalated = milestones_escalate(now=now)
    with transaction.atomic():
        due = _claim(
            Reminder.objects.filter(status=Reminder.Status.PENDING, send_at__lte=now).order_by("send_at"),
            now=now,
            limit=batch,
            status=Reminder.Status.QUEUED,
            claimed_at=now,
        )
        # A worker died mid-send: its lease ran out. Hand the reminder to another worker.
        stale = _claim(
            Reminder.objects.filter(status=Reminder.Status.SENDING, lease_until__lt=now),
            now=now,
            limit=batch,
            status=Reminder.Status.QUEUED,
            claimed_at=now,
            lease_until=None,
        )
        # Queued but never picked up (the message was lost before reaching the broker).
        lost = _claim(
            Reminder.objects.filter(
                status=Reminder.Status.QUEUED, claimed_at__lt=now - dt.timedelta(seconds=conf.requeue_after_seconds())
            ),
            now=now,
            limit=batch,
            claimed_at=now,
        )
        ids = due + stale + lost
        if ids:
            queue.enqueue_each(SEND, ids)
    if stale:
        log.warning("reminders recovered from expired leases", extra={"count": len(stale)})
    return {"claimed": len(due), "recovered": len(stale), "requeued": len(lost), "escalated": escalated}


# Each wait is shortened by a random fraction up to this, so the reminders that failed together
# (a provider outage) do not all come back in the same second. Shortened, not lengthened: the
# longest wait stays within REMINDER_RETRY_MAX_SECONDS (and the broker's visibility timeout).
RETRY_JITTER = 0.2


def retry_countdown(attempts: int, *, jitter: float | None = None) -> float:
    """Seconds to wait after attempt number ``attempts`` failed.

    REMINDER_RETRY_BASE_SECONDS doubled after each failure, capped at REMINDER_RETRY_MAX_SECONDS:
    by default 30 s, 1, 2, 4, 8, 16, 32 min, then an hour, so 11 attempts span about 4 hours, long
    enough to ride out a real SMS or email provider outage. ``jitter`` (0 to 1, random by
    default) takes up to RETRY_JITTER of the wait off.
    """
    nominal = min(conf.retry_base_seconds() * 2 ** (max(attempts, 1) - 1), conf.retry_max_seconds())
    fraction = random.random() if jitter is None else jitter
    return nominal * (1 - RETRY_JITTER * fraction)


def _address(reminder: Reminder) -> str | None:
    """The recipient's current address: a changed phone number is used, a withdrawn consent is honoured."""
    if reminder.user_id:
        user = reminder.user
        return user.email if user.is_active and user.email else None
    contact = reminder.contact
    if contact is None or not contact.receives_reminders:
        return None
    if reminder.channel == Reminder.Channel.SMS:
        return str(contact.phone) if contact.phone else None
    return contact.email or None


def _due(milestone: Milestone) -> dict:
    """Pathway dates and follow-up visits are days (day 28 is a date, its 09:00 at the centre
    only a convention for ordering): readers get the date, not a clock time converted to their
    zone (04:00 in Moscow, or the evening before in New York). Other milestones keep their
    moment in the reader's zone."""
    day = milestone_centre_day(milestone)
    return {"due_on": day} if day is not None else {"due_at": milestone.due_at}


# What a family's reminder calls a follow-up visit at home ("Appointment or deadline", the kind
# of coordinators' own milestones, tells them nothing); the coordinator's gives the visit's title.
FOLLOW_UP_VISIT = _("Follow-up visit at home")


def _kind_label(milestone: Milestone, is_staff: bool):
    """The milestone's kind as the reader's message names it. A lazy label, translated when the
    message is rendered in the reader's language (``get_kind_display()`` would give it in the
    sending worker's language)."""
    if milestone.kind == MilestoneKind.OTHER:
        if is_staff:
            return milestone.title
        if milestone.key.startswith(FOLLOW_UP_PREFIX):
            return FOLLOW_UP_VISIT
    if milestone.kind in MilestoneKind.values:
        return MilestoneKind(milestone.kind).label
    return milestone.kind


def _render(reminder: Reminder, reach: parties.Reach | None = None):
    """The message in the recipient's language and zone; a registered party's recipient gets its
    own template and context (``reach``)."""
    milestone = reminder.milestone
    case = milestone.case
    is_staff = reminder.audience != Reminder.Audience.FAMILY
    if reach is not None:
        name = reach.name
    else:
        name = reminder.user.get_full_name() or reminder.user.username if reminder.user_id else reminder.contact.name
    link = ""
    if reminder.audience == Reminder.Audience.COORDINATOR:
        link = settings.SITE_URL.rstrip("/") + reverse("admin:cases_case_change", args=[case.pk])
    # A party may give the due date itself (a follow-up visit is a day, not a clock time).
    due = {} if reach is not None and "due_on" in reach.context else _due(milestone)
    return render_message(
        template=reach.template if reach is not None else "reminder",
        language=reminder.language,
        time_zone=reminder.time_zone,
        context={
            "name": name,
            "patient": case.patient.given_name,
            "reference": case.reference,
            "kind_label": _kind_label(milestone, is_staff),
            "title": milestone.title,
            **due,
            "is_escalation": reminder.is_escalation,
            # The post-infusion stay is a period, not an appointment that falls due.
            "is_stay": milestone.kind == MilestoneKind.STAY_NEAR_CENTRE,
            "show_detail": is_staff,
            "link": link,
            **(reach.context if reach is not None else {}),
        },
    )


def _finish(pk: int, attempt: int, **update) -> bool:
    """Conditional on our own lease: a worker that lost its lease cannot overwrite another's result."""
    return (
        Reminder.objects.filter(pk=pk, status=Reminder.Status.SENDING, attempts=attempt).update(
            lease_until=None, updated_at=timezone.now(), **update
        )
        == 1
    )


def _report_failure(reminder: Reminder, *, attempts: int, error: str) -> None:
    """A reminder that could not be delivered becomes work in the coordinator's task list.

    Keyed by the reminder and the moment it failed: one task per failure (a reminder sent
    again from the admin that fails again opens a new one).
    """
    milestone = reminder.milestone
    who = reminder.get_audience_display().lower()
    task_open(
        case=milestone.case,
        key=f"reminder-failed:{reminder.pk}:{reminder.updated_at:%Y%m%dT%H%M%S%f}"[:100],
        title=f"Reminder not delivered: {milestone.title}"[:200],
        detail=(
            f"The {reminder.get_channel_display().lower()} reminder to the {who} ({reminder.recipient}) about "
            f"'{milestone.title}' failed after {attempts} attempts: {error[:300]}. Check the address, then send it "
            "again from Reminders (action 'Send the selected failed reminders again'), or tell them yourself."
        ),
        priority=CoordinatorTask.Priority.HIGH,
        milestone=milestone,
        due_at=timezone.now(),
    )


def reminder_deliver(*, reminder_id: int) -> str:
    """Send one claimed reminder. Returns what happened:

    "sent", "skipped" (no longer needed / no address), "not_claimed" (someone else has
    it, or it is finished), "retry" (temporary failure, back to queued) or "failed".
    """
    now = timezone.now()
    leased = Reminder.objects.filter(pk=reminder_id, status=Reminder.Status.QUEUED).update(
        status=Reminder.Status.SENDING,
        lease_until=now + dt.timedelta(seconds=conf.lease_seconds()),
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if leased != 1:
        return "not_claimed"
    reminder = Reminder.objects.select_related(
        "milestone__case__patient", "milestone__case__coordinator", "milestone__hospital", "user", "contact"
    ).get(pk=reminder_id)
    attempt = reminder.attempts

    milestone = reminder.milestone
    wanted = milestone.status == Milestone.Status.PENDING or (
        milestone.status == Milestone.Status.ESCALATED and (reminder.is_escalation or milestone.due_at > now)
    )
    # A party registered by a higher app (the home haematologist) says where to reach its own.
    party = parties.party_for(reminder.audience)
    reach = party.reach(reminder) if party is not None and wanted else None
    address = reach.address if reach is not None else _address(reminder)
    reason = ""
    if not wanted:
        reason = "milestone no longer open"
    elif not address:
        reason = (reach.reason if reach is not None else "") or "recipient has no address or opted out"
    elif reminder.user_id and not can_see_case(reminder.user, milestone.case):
        # Planned while the case was shared with them (e.g. a centre whose referral was since withdrawn).
        reason = "recipient may no longer see the case"
    if reason:
        _finish(reminder.pk, attempt, status=Reminder.Status.SKIPPED, last_error=reason)
        return "skipped"

    try:
        rendered = _render(reminder, reach)
        ref = message_send(
            channel=reminder.channel,
            to=address,
            subject=rendered.subject,
            body=rendered.sms if reminder.channel == Reminder.Channel.SMS else rendered.body,
            idempotency_key=reminder.idempotency_key,
        )
    except Exception as exc:  # noqa: BLE001 - any provider failure is retried, then reported
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if attempt >= conf.max_attempts():
            if not _finish(reminder.pk, attempt, status=Reminder.Status.FAILED, last_error=error):
                return "not_claimed"  # our lease ran out; another worker owns the reminder now
            audit_record(
                actor="scheduling",
                action="reminder_failed",
                obj=reminder,
                case=milestone.case,
                detail={"attempts": attempt, "error": error[:300]},
            )
            _report_failure(reminder, attempts=attempt, error=error)
            log.error("reminder failed", extra={"reminder": reminder.pk, "attempts": attempt})
            return "failed"
        # claimed_at is when the retry is due: the task waits until then, and the sweep's
        # recovery of lost messages counts from then, not from now (a wait longer than
        # REMINDER_REQUEUE_SECONDS would otherwise be cut short by the sweep).
        retry_at = timezone.now() + dt.timedelta(seconds=retry_countdown(attempt))
        _finish(reminder.pk, attempt, status=Reminder.Status.QUEUED, claimed_at=retry_at, last_error=error)
        return "retry"

    sent_at = timezone.now()
    if _finish(
        reminder.pk,
        attempt,
        status=Reminder.Status.SENT,
        sent_at=sent_at,
        provider_ref=ref[:200],
        last_error="",
        delivery=delivery_guarantee(reminder.channel),
    ):
        metrics.reminder_sent(reminder.channel, (sent_at - reminder.send_at).total_seconds())
    return "sent"


def reminder_retry_failed(*, reminder: Reminder, actor) -> bool:
    """A coordinator sends a failed reminder again (after fixing the address, say)."""
    now = timezone.now()
    done = (
        Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.FAILED).update(
            status=Reminder.Status.PENDING, send_at=now, attempts=0, last_error="", updated_at=now
        )
        == 1
    )
    if done:
        audit_record(actor=actor, action="reminder_retry", obj=reminder, case=reminder.milestone.case)
    return done
