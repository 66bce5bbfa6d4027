"""Work for the Today page's tests: n items of every kind on a coordinator's cases."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from cases.factories import CaseFactory
from documents.models import Document
from hospitals.models import Referral
from messaging.models import Message, Thread
from scheduling.models import CoordinatorTask, Milestone, Reminder


def stock(*, coordinator, hospital, n: int, now: dt.datetime | None = None) -> list:
    """n cases of ``coordinator``, each with one overdue and one coming milestone, an overdue
    follow-up visit, an upload
    waiting for review, an unread family message, a centre's answer, a referral deadline
    (on a second centre), an open task and a failed reminder."""
    now = now or timezone.now()
    cases = [CaseFactory(coordinator=coordinator) for _ in range(n)]
    overdue = Milestone.objects.bulk_create(
        Milestone(
            case=c,
            key="other:overdue",
            kind="other",
            title=f"Call back {c.reference}",
            due_at=now - dt.timedelta(days=2),
        )
        for c in cases
    )
    Milestone.objects.bulk_create(
        Milestone(case=c, key="other:soon", kind="other", title="Check visa", due_at=now + dt.timedelta(days=3))
        for c in cases
    )
    # A follow-up visit after discharge whose result has not come back.
    Milestone.objects.bulk_create(
        Milestone(case=c, key="followup:igg:1", kind="other", title="IgG level", due_at=now - dt.timedelta(days=5))
        for c in cases
    )
    Document.objects.bulk_create(
        Document(
            case=c,
            doc_type="cd19_flow",
            source="family",
            original_name="flow.pdf",
            file=f"documents/test/{c.pk}.pdf",
            content_type="application/pdf",
            size=100,
            sha256=f"{c.pk:064d}",
        )
        for c in cases
    )
    threads = Thread.objects.bulk_create(
        Thread(case=c, kind=Thread.Kind.FAMILY, last_message_at=now - dt.timedelta(hours=1), message_count=1)
        for c in cases
    )
    Message.objects.bulk_create(
        Message(
            thread=t,
            side=Message.Side.FAMILY,
            author_label="family",
            body="Hello",
            created_at=now - dt.timedelta(hours=1),
        )
        for t in threads
    )
    Referral.objects.bulk_create(
        Referral(
            case=c,
            hospital=hospital,
            status=Referral.Status.ACCEPTED,
            first_sent_at=now - dt.timedelta(days=5),
            sent_at=now - dt.timedelta(days=5),
            answered_at=now - dt.timedelta(days=1),
            response_due_at=now - dt.timedelta(days=2),
        )
        for c in cases
    )
    CoordinatorTask.objects.bulk_create(
        CoordinatorTask(case=c, key="test:task", title="Review MRD result", assignee=coordinator) for c in cases
    )
    Reminder.objects.bulk_create(
        Reminder(
            milestone=m,
            slot="-1d",
            audience=Reminder.Audience.COORDINATOR,
            recipient=f"user:{coordinator.pk}",
            user=coordinator,
            channel=Reminder.Channel.EMAIL,
            send_at=now - dt.timedelta(days=3),
            status=Reminder.Status.FAILED,
            last_error="SMTP refused",
        )
        for m in overdue
    )
    return cases


def stock_deadlines(*, cases, hospital, now: dt.datetime | None = None) -> None:
    """A referral to ``hospital`` awaiting its answer, due tomorrow, on each case."""
    now = now or timezone.now()
    Referral.objects.bulk_create(
        Referral(
            case=c,
            hospital=hospital,
            status=Referral.Status.SENT,
            first_sent_at=now - dt.timedelta(days=3),
            sent_at=now - dt.timedelta(days=3),
            response_due_at=now + dt.timedelta(days=1),
        )
        for c in cases
    )
