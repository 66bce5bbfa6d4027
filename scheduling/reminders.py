"""Planning reminders: who hears about a milestone, on which channel, and when.

A reminder goes out at a sensible hour in the recipient's own time zone: between
09:00 and 20:00 local. A time at night moves to the next 09:00 local; an "on the day"
or "before" reminder that would then arrive after the milestone itself moves to 19:00
the evening before instead. Wall-clock arithmetic is done in the recipient's zone with
zoneinfo, so a daylight-saving change between planning and sending is handled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from navigator import queue

from . import parties
from .models import Milestone, Reminder, ReminderRule

DAY_STARTS = dt.time(9, 0)
DAY_ENDS = dt.time(20, 0)  # exclusive
EVENING_BEFORE = dt.time(19, 0)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _local(date: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    # 09:00 and 19:00 exist on every day in every zone (DST gaps are at night).
    return dt.datetime.combine(date, time, tzinfo=tz)


def sensible_send_time(instant: dt.datetime, tz_name: str, *, not_after: dt.datetime | None = None) -> dt.datetime:
    """The first moment at or after ``instant`` that falls in the recipient's waking hours.

    With ``not_after`` (the milestone itself), a reminder that would be pushed past it is
    brought forward to the evening before instead. Returned in UTC.
    """
    tz = _zone(tz_name)
    local = instant.astimezone(tz)
    if local.time() < DAY_STARTS:
        adjusted = _local(local.date(), DAY_STARTS, tz)
    elif local.time() >= DAY_ENDS:
        adjusted = _local(local.date() + dt.timedelta(days=1), DAY_STARTS, tz)
    else:
        adjusted = local
    if not_after is not None and adjusted > not_after and instant <= not_after:
        due_local = not_after.astimezone(tz)
        adjusted = _local(due_local.date() - dt.timedelta(days=1), EVENING_BEFORE, tz)
    return adjusted.astimezone(dt.UTC)


def offset_in_zone(due_at: dt.datetime, days: int, tz_name: str) -> dt.datetime:
    """``days`` calendar days from ``due_at`` at the same local clock time in ``tz_name``.

    Done on the wall clock, so "one day before 10:00" stays 10:00 across a DST change.
    """
    tz = _zone(tz_name)
    local = due_at.astimezone(tz).replace(tzinfo=None) + dt.timedelta(days=days)
    return local.replace(tzinfo=tz).astimezone(dt.UTC)


@dataclass(frozen=True)
class Recipient:
    audience: str
    key: str
    channel: str
    language: str
    time_zone: str
    user_id: int | None = None
    contact_id: int | None = None


def recipients_for(*, milestone: Milestone, rule: ReminderRule) -> list[Recipient]:
    """Coordinator always (email); family contacts who receive reminders when the milestone
    concerns them (email and/or SMS); staff of the milestone's centre when the rule says so
    and the case has been shared with that centre; then the parties other apps register
    (``parties``: the home haematologist)."""
    out: list[Recipient] = []
    case = milestone.case
    coordinator = case.coordinator
    if rule.to_coordinator and coordinator is not None and coordinator.is_active and coordinator.email:
        out.append(
            Recipient(
                Reminder.Audience.COORDINATOR,
                f"user:{coordinator.pk}",
                Reminder.Channel.EMAIL,
                coordinator.preferred_language,
                coordinator.time_zone,
                user_id=coordinator.pk,
            )
        )
    if rule.to_family and milestone.concerns_family:
        wants_email = rule.family_channels in (ReminderRule.FamilyChannels.EMAIL, ReminderRule.FamilyChannels.BOTH)
        wants_sms = rule.family_channels in (ReminderRule.FamilyChannels.SMS, ReminderRule.FamilyChannels.BOTH)
        for contact in case.patient.contacts.filter(receives_reminders=True).order_by("id"):
            common = {"language": contact.language, "time_zone": contact.time_zone, "contact_id": contact.pk}
            if wants_email and contact.email:
                out.append(
                    Recipient(Reminder.Audience.FAMILY, f"contact:{contact.pk}", Reminder.Channel.EMAIL, **common)
                )
            if wants_sms and contact.phone:
                out.append(Recipient(Reminder.Audience.FAMILY, f"contact:{contact.pk}", Reminder.Channel.SMS, **common))
    if rule.to_hospital and milestone.hospital_id:
        referrals = case.referrals  # hospitals sits above scheduling: read through the relation
        shared = referrals.filter(
            hospital_id=milestone.hospital_id, status__in=referrals.model.SHARED_STATUSES
        ).exists()
        if shared:
            staff = User.objects.filter(
                hospital_id=milestone.hospital_id, role=User.Role.HOSPITAL, is_active=True
            ).exclude(email="")
            for user in staff.order_by("id"):
                out.append(
                    Recipient(
                        Reminder.Audience.HOSPITAL,
                        f"user:{user.pk}",
                        Reminder.Channel.EMAIL,
                        user.preferred_language,
                        user.time_zone,
                        user_id=user.pk,
                    )
                )
    for party in parties.registered():
        out += party.recipients(milestone, rule)
    return out


@dataclass(frozen=True)
class PlannedReminder:
    rule: ReminderRule
    recipient: Recipient
    send_at: dt.datetime


def plan_reminders(*, milestone: Milestone, now: dt.datetime | None = None) -> list[PlannedReminder]:
    """The reminders a milestone should have, in each recipient's time zone.

    Reminders "before" whose time has passed are dropped, except the latest one while
    the milestone is still ahead (recorded late: the recipient still hears of it once,
    now). A late escalation is sent now if the milestone is already overdue.
    """
    now = now or timezone.now()
    rules = list(ReminderRule.objects.filter(kind=milestone.kind, is_active=True).order_by("offset_days"))
    planned: dict[tuple[str, str, str], PlannedReminder] = {}
    for rule in rules:
        for r in recipients_for(milestone=milestone, rule=rule):
            raw = offset_in_zone(milestone.due_at, rule.offset_days, r.time_zone)
            limit = None if rule.is_escalation else milestone.due_at
            planned[(r.key, r.channel, rule.slot)] = PlannedReminder(
                rule, r, sensible_send_time(raw, r.time_zone, not_after=limit)
            )

    out: list[PlannedReminder] = []
    by_recipient: dict[tuple[str, str], list[PlannedReminder]] = {}
    for p in planned.values():
        by_recipient.setdefault((p.recipient.key, p.recipient.channel), []).append(p)
    for items in by_recipient.values():
        before = [p for p in items if not p.rule.is_escalation]
        past = [p for p in before if p.send_at < now]
        future = [p for p in before if p.send_at >= now]
        if past and milestone.due_at > now and not [p for p in future if p.send_at <= milestone.due_at]:
            latest = max(past, key=lambda p: p.send_at)
            tz = latest.recipient.time_zone
            out.append(PlannedReminder(latest.rule, latest.recipient, sensible_send_time(now, tz)))
        out += future
        for p in items:
            if p.rule.is_escalation:
                send_at = p.send_at if p.send_at >= now else sensible_send_time(now, p.recipient.time_zone)
                out.append(PlannedReminder(p.rule, p.recipient, send_at))
    # Two slots landing on the same minute for the same recipient: keep one.
    unique: dict[tuple[str, str, dt.datetime], PlannedReminder] = {}
    for p in sorted(out, key=lambda p: (p.rule.is_escalation, p.rule.offset_days)):
        unique[(p.recipient.key, p.recipient.channel, p.send_at)] = p
    return sorted(unique.values(), key=lambda p: p.send_at)


REPLANNABLE = (Reminder.Status.PENDING, Reminder.Status.CANCELLED, Reminder.Status.SKIPPED)


@transaction.atomic
def reminders_sync(*, milestone: Milestone, now: dt.datetime | None = None) -> dict:
    """Bring the milestone's unsent reminders in line with its date, rules and recipients.

    Reminders already claimed, sent or failed are left alone. Returns counts of what
    changed: {"created", "moved", "removed"}.
    """
    # Lock the milestone: two re-plans of the same milestone never interleave.
    milestone = (
        Milestone.objects.select_for_update(of=("self",))
        .select_related("case__coordinator", "case__patient")
        .get(pk=milestone.pk)
    )
    counts = {"created": 0, "moved": 0, "removed": 0}
    if not milestone.is_open:
        counts["removed"] = reminders_cancel_pending(milestone=milestone)
        return counts
    existing = {(r.recipient, r.channel, r.slot): r for r in milestone.reminders.all()}
    wanted = plan_reminders(milestone=milestone, now=now)
    wanted_keys = set()
    for p in wanted:
        key = (p.recipient.key, p.recipient.channel, p.rule.slot)
        wanted_keys.add(key)
        row = existing.get(key)
        fields = {
            "rule": p.rule,
            "is_escalation": p.rule.is_escalation,
            "audience": p.recipient.audience,
            "user_id": p.recipient.user_id,
            "contact_id": p.recipient.contact_id,
            "language": p.recipient.language,
            "time_zone": p.recipient.time_zone,
            "send_at": p.send_at,
        }
        if row is None:
            Reminder.objects.create(
                milestone=milestone, recipient=p.recipient.key, channel=p.recipient.channel, slot=p.rule.slot, **fields
            )
            counts["created"] += 1
        elif row.status in REPLANNABLE and (
            row.send_at != p.send_at
            or row.status != Reminder.Status.PENDING
            # The recipient now reads another language, or lives in another zone at the same instant.
            or (row.language, row.time_zone) != (p.recipient.language, p.recipient.time_zone)
        ):
            # Conditional: a sweep may have claimed it a moment ago; then it stays as it is.
            moved = Reminder.objects.filter(pk=row.pk, status__in=REPLANNABLE).update(
                status=Reminder.Status.PENDING, last_error="", updated_at=timezone.now(), **fields
            )
            counts["moved"] += moved
    stale = [r.pk for k, r in existing.items() if k not in wanted_keys and r.status == Reminder.Status.PENDING]
    if stale:
        counts["removed"] = Reminder.objects.filter(pk__in=stale, status=Reminder.Status.PENDING).delete()[0]
    return counts


def reminders_cancel_pending(*, milestone: Milestone) -> int:
    """Cancel the milestone's reminders that have not been claimed for sending yet."""
    return Reminder.objects.filter(milestone_id=milestone.pk, status=Reminder.Status.PENDING).update(
        status=Reminder.Status.CANCELLED, updated_at=timezone.now()
    )


def reminders_replan(*, kind: str, now: dt.datetime | None = None) -> int:
    """Re-plan the unsent reminders of every open milestone of ``kind`` (its rules changed).

    One transaction per milestone (``reminders_sync`` locks it); safe to run twice.
    Returns how many milestones were re-planned.
    """
    ids = list(Milestone.objects.open().filter(kind=kind).order_by("pk").values_list("pk", flat=True))
    for pk in ids:
        reminders_sync(milestone=Milestone(pk=pk), now=now)
    return len(ids)


def reminder_rules_changed(*, kinds) -> None:
    """Called when an administrator edits reminder rules: re-plan those kinds after the commit."""
    for kind in sorted(set(kinds)):
        queue.enqueue("scheduling.reminders_replan_kind", kind)  # tasks.reminders_replan_kind
