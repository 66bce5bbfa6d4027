"""Sending digests of notices exactly once: the sweep that closes due digests, and the send.

The same machinery as reminders (``scheduling.delivery``), the database deciding who sends:

- The sweep locks due open digests (SELECT ... FOR UPDATE SKIP LOCKED), so two sweeps never take
  the same one; a family digest that falls in the contact's quiet hours is pushed to their end.
  Each digest it closes gets one delivery row per channel (unique per digest and channel), and
  one send task per delivery is queued through the outbox when its transaction commits.
- A send leases the delivery (queued -> sending, attempts + 1) with a conditional UPDATE; only
  the worker whose UPDATE matched sends. ``attempts`` is the fencing token of the final UPDATE.
- The provider gets the delivery's idempotency key, so a send repeated after a worker died
  between the provider call and the 'sent' UPDATE is not delivered twice where the provider
  honours keys (the file backends do; email carries it as its Message-ID).
- A worker killed mid-send leaves the row 'sending'; once its lease has expired the sweep puts
  it back to 'queued' and queues it again. Nothing is lost.
- A delivery that cannot be made (after the last attempt, or refused for good) is marked failed,
  audited, logged, and opens a coordinator task on the case.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections import Counter

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from audit.services import audit_record
from cases.access import can_see_case
from navigator import queue

from .models import Channel, Notice, NoticeDelivery, NoticeDigest, NoticeKind
from .quiet import after_quiet
from .rendering import Rendered, render_message, supported_language
from .services import EMAIL, address_of, delivery_guarantee, message_send, preference_of, unsubscribe_token
from .sms import PermanentSendError

log = logging.getLogger(__name__)

SEND = "notifications.notice_send"  # tasks.notice_send
FAILED_TASK = "scheduling.notice_failed_task_open"  # scheduling.tasks: opens the coordinator's task

RETRY_JITTER = 0.2


def lease_seconds() -> int:
    """Longer than the task's hard time limit, so a live worker is never overtaken."""
    return settings.NOTICE_LEASE_SECONDS


def requeue_after_seconds() -> int:
    return settings.NOTICE_REQUEUE_SECONDS


def retry_countdown(attempts: int, *, jitter: float | None = None) -> float:
    """NOTICE_RETRY_BASE_SECONDS doubled after each failure, capped at NOTICE_RETRY_MAX_SECONDS,
    shortened by up to RETRY_JITTER so deliveries that failed together do not return together."""
    nominal = min(settings.NOTICE_RETRY_BASE_SECONDS * 2 ** (max(attempts, 1) - 1), settings.NOTICE_RETRY_MAX_SECONDS)
    fraction = random.random() if jitter is None else jitter
    return nominal * (1 - RETRY_JITTER * fraction)


def _claim(qs, *, now: dt.datetime, limit: int, **update) -> list[int]:
    ids = list(qs.order_by().select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
    if ids:
        NoticeDelivery.objects.filter(pk__in=ids).update(updated_at=now, **update)
    return ids


def _channels(digest: NoticeDigest) -> list[str]:
    """The channels a closing digest goes out on, as the recipient wants them today."""
    if digest.user_id:
        return [EMAIL]
    contact = digest.contact
    preference = preference_of(contact)
    kinds = set(digest.notices.values_list("kind", flat=True))
    if not any(preference.wants(kind) for kind in kinds):
        return []
    return [channel for channel in preference.channels() if address_of(contact, channel)]


def notices_sweep(*, now: dt.datetime | None = None, batch: int = 500) -> dict:
    """Close the due digests into deliveries, recover stale deliveries; queue sends on commit."""
    now = now or timezone.now()
    created: list[int] = []
    deferred = closed = 0
    with transaction.atomic():
        due = (
            NoticeDigest.objects.filter(status=NoticeDigest.Status.OPEN, send_at__lte=now)
            .order_by("send_at")
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("contact")[:batch]
        )
        for digest in due:
            if digest.contact_id:
                preference = preference_of(digest.contact)
                later = preference_quiet_end(preference, digest.contact.time_zone, now)
                if later > now:  # quiet hours began since the digest was opened, or were changed
                    NoticeDigest.objects.filter(pk=digest.pk).update(send_at=later)
                    deferred += 1
                    continue
            channels = _channels(digest)
            NoticeDigest.objects.filter(pk=digest.pk).update(status=NoticeDigest.Status.CLOSED, closed_at=now)
            closed += 1
            rows = NoticeDelivery.objects.bulk_create(
                [NoticeDelivery(digest=digest, channel=c, claimed_at=now) for c in channels]
            )
            created += [row.pk for row in rows]
        stale = _claim(
            NoticeDelivery.objects.filter(status=NoticeDelivery.Status.SENDING, lease_until__lt=now),
            now=now,
            limit=batch,
            status=NoticeDelivery.Status.QUEUED,
            claimed_at=now,
            lease_until=None,
        )
        lost = _claim(
            NoticeDelivery.objects.filter(
                status=NoticeDelivery.Status.QUEUED,
                claimed_at__lt=now - dt.timedelta(seconds=requeue_after_seconds()),
            ),
            now=now,
            limit=batch,
            claimed_at=now,
        )
        ids = created + stale + lost
        if ids:
            queue.enqueue_each(SEND, ids)
    if stale:
        log.warning("notice deliveries recovered from expired leases", extra={"count": len(stale)})
    return {
        "closed": closed,
        "deferred": deferred,
        "queued": len(created),
        "recovered": len(stale),
        "requeued": len(lost),
    }


def preference_quiet_end(preference, time_zone: str, now: dt.datetime) -> dt.datetime:
    """``now`` outside the contact's quiet hours, else the end of them."""
    return after_quiet(now, start=preference.quiet_start, end=preference.quiet_end, time_zone=time_zone)


FAMILY_PHRASES = {
    NoticeKind.MESSAGE: lambda: gettext("a new message from your coordinator"),
    NoticeKind.DOCUMENT_REQUEST: lambda: gettext("your coordinator asked for a record"),
    NoticeKind.REVIEW: lambda: gettext("a record you sent was reviewed"),
    NoticeKind.DATE_CHANGED: lambda: gettext("a date in your plan changed"),
}


def _site(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def render_family(contact, notices: list[Notice]) -> Rendered:
    """What the family reads: what kind of thing happened, never what (email and SMS are not
    secure channels), and the way to the portal, to their preferences and to stop."""
    language = supported_language(contact.language)
    kinds = [kind for kind in FAMILY_PHRASES if any(n.kind == kind for n in notices)]
    with translation.override(language):
        items = [str(FAMILY_PHRASES[kind]()) for kind in kinds]
        summary = gettext("; ").join(items)
    return render_message(
        template="notice_family",
        language=language,
        time_zone=contact.time_zone,
        context={
            "items": items,
            "summary": summary,
            "link": _site(reverse("portal:home")),
            "preferences_link": _site(reverse("portal:notifications")),
            "unsubscribe_link": unsubscribe_link(contact),
        },
    )


def unsubscribe_link(contact) -> str:
    return _site(reverse("portal:unsubscribe", args=[unsubscribe_token(contact)]))


def render_staff(user, notices: list[Notice]) -> Rendered:
    by_case: dict[int, Counter] = {}
    cases = {}
    for notice in notices:
        by_case.setdefault(notice.case_id, Counter())[notice.kind] += 1
        cases[notice.case_id] = notice.case
    rows = [
        {
            "reference": cases[pk].reference,
            "messages": counts[NoticeKind.FAMILY_MESSAGE],
            "uploads": counts[NoticeKind.UPLOAD],
            "link": _site(reverse("admin:cases_case_change", args=[pk])),
        }
        for pk, counts in sorted(by_case.items(), key=lambda item: cases[item[0]].reference)
    ]
    return render_message(
        template="notice_staff",
        language="en",
        time_zone=user.time_zone,
        context={"name": user.get_full_name() or user.username, "cases": rows},
    )


def _finish(pk: int, attempt: int, **update) -> bool:
    """Conditional on our own lease: a worker that lost its lease cannot overwrite another's result."""
    return (
        NoticeDelivery.objects.filter(pk=pk, status=NoticeDelivery.Status.SENDING, attempts=attempt).update(
            lease_until=None, updated_at=timezone.now(), **update
        )
        == 1
    )


def notice_deliver(*, delivery_id: int) -> str:
    """Send one queued delivery. Returns "sent", "skipped" (no longer wanted / no address),
    "deferred" (quiet hours), "not_claimed" (someone else has it, or it is finished), "retry"
    (temporary failure, back to queued) or "failed"."""
    now = timezone.now()
    leased = NoticeDelivery.objects.filter(pk=delivery_id, status=NoticeDelivery.Status.QUEUED).update(
        status=NoticeDelivery.Status.SENDING,
        lease_until=now + dt.timedelta(seconds=lease_seconds()),
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if leased != 1:
        return "not_claimed"
    delivery = NoticeDelivery.objects.select_related("digest__contact", "digest__user").get(pk=delivery_id)
    attempt = delivery.attempts
    digest = delivery.digest
    notices = list(digest.notices.select_related("case"))
    reason = ""
    address = ""
    if digest.contact_id:
        contact = digest.contact
        preference = preference_of(contact)
        notices = [n for n in notices if preference.wants(n.kind)]
        later = preference_quiet_end(preference, contact.time_zone, now)
        if later > now:
            # A retry that came due in quiet hours waits for their end; the attempt does not count.
            _finish(delivery.pk, attempt, status=NoticeDelivery.Status.QUEUED, claimed_at=later, attempts=attempt - 1)
            return "deferred"
        address = address_of(contact, delivery.channel)
        if preference.unsubscribed_at is not None:
            reason = "unsubscribed"
        elif delivery.channel not in preference.channels():
            reason = f"{delivery.channel} turned off"
        elif not notices:
            reason = "no longer wanted"
        elif not address:
            reason = "no address"
    else:
        user = digest.user
        notices = [n for n in notices if can_see_case(user, n.case)]
        address = user.email if user.is_active else ""
        if not address:
            reason = "no active account with an email address"
        elif not notices:
            reason = "may no longer see the cases"
    if reason:
        _finish(delivery.pk, attempt, status=NoticeDelivery.Status.SKIPPED, last_error=reason)
        return "skipped"

    try:
        if digest.contact_id:
            rendered = render_family(digest.contact, notices)
            headers = {
                "List-Unsubscribe": f"<{unsubscribe_link(digest.contact)}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        else:
            rendered = render_staff(digest.user, notices)
            headers = {}
        ref = message_send(
            channel=delivery.channel,
            to=address,
            subject=rendered.subject,
            body=rendered.body if delivery.channel == Channel.EMAIL else rendered.sms,
            idempotency_key=delivery.idempotency_key,
            headers=headers,
            language=digest.contact.language if digest.contact_id else "",
        )
    except Exception as exc:  # noqa: BLE001 - any provider failure is retried or reported, never swallowed
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if isinstance(exc, PermanentSendError) or attempt >= settings.NOTICE_MAX_ATTEMPTS:
            with transaction.atomic():
                if not _finish(delivery.pk, attempt, status=NoticeDelivery.Status.FAILED, last_error=error):
                    return "not_claimed"  # our lease ran out; another worker owns the delivery now
                audit_record(
                    actor="notifications",
                    action="notice_failed",
                    obj=delivery,
                    case=notices[0].case if notices else None,
                    detail={"attempts": attempt, "channel": delivery.channel, "error": error[:300]},
                )
                queue.enqueue(FAILED_TASK, delivery.pk)
            log.error(
                "notice delivery failed",
                extra={"delivery": delivery.pk, "channel": delivery.channel, "attempts": attempt, "error": error[:300]},
            )
            return "failed"
        retry_at = timezone.now() + dt.timedelta(seconds=retry_countdown(attempt))
        _finish(delivery.pk, attempt, status=NoticeDelivery.Status.QUEUED, claimed_at=retry_at, last_error=error)
        log.warning("notice delivery will be retried", extra={"delivery": delivery.pk, "attempts": attempt})
        return "retry"

    _finish(
        delivery.pk,
        attempt,
        status=NoticeDelivery.Status.SENT,
        sent_at=timezone.now(),
        provider_ref=ref[:200],
        last_error="",
        delivery=delivery_guarantee(delivery.channel),
    )
    return "sent"


@transaction.atomic
def notice_delivery_retry(*, delivery: NoticeDelivery, actor) -> bool:
    """A coordinator sends a failed delivery again (after fixing the address, say)."""
    now = timezone.now()
    done = (
        NoticeDelivery.objects.filter(pk=delivery.pk, status=NoticeDelivery.Status.FAILED).update(
            status=NoticeDelivery.Status.QUEUED, claimed_at=now, attempts=0, last_error="", updated_at=now
        )
        == 1
    )
    if done:
        audit_record(actor=actor, action="notice_retry", obj=delivery)
        queue.enqueue(SEND, delivery.pk)
    return done
