"""What a coordinator's Today page shows: the day's work in groups, each row one click from
where it is acted on.

Every group is two queries whatever the caseload (a count and the first rows), so the page's
query count does not grow with the work. What a user may see is the models' declared rule
(``visible_to``); "mine" narrows it to the cases the user coordinates (and, for tasks, the
tasks assigned to them), "team" (supervisors) shows every coordinator's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Count, DateTimeField, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from accounts.roles import is_supervisor
from cases.models import Case
from documents.models import Document
from followup.models import FollowUpVisit
from followup.selectors import FOLLOW_UP_KEY, overdue_followups
from hospitals import workflow as referral_workflow
from hospitals.models import Referral
from messaging.models import Message, Thread, ThreadRead
from scheduling.models import CoordinatorTask, Milestone, Reminder

from .models import SavedFilter

MINE = "mine"
TEAM = "team"
ROWS_PER_GROUP = 10
SOON = dt.timedelta(days=7)
RECENT_ANSWERS = dt.timedelta(days=7)
# Before any message: a thread never opened is unread from its first message.
_NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class Row:
    """One piece of work: what, on which case, when, and the admin page where it is done."""

    case_id: int
    case_reference: str
    title: str
    url: str
    when: dt.datetime | None = None
    detail: str = ""
    overdue: bool = False


@dataclass
class Group:
    key: str
    title: str
    count: int
    rows: list[Row]
    all_url: str
    empty: str
    shown: list[Any] = field(default_factory=list, repr=False)


def scope_for(user, requested: str | None) -> str:
    """ "mine" unless a supervisor asks for the team."""
    return TEAM if requested == TEAM and is_supervisor(user) else MINE


def _admin_url(model_or_obj, view: str = "change", *args) -> str:
    opts = model_or_obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def _case_scope(user, scope: str, path: str) -> Q:
    return Q(**{path: user}) if scope == MINE else Q()


def _milestone_url(milestone: Milestone) -> str:
    """The page where the milestone is acted on: the row it comes from (a document request, a
    referral, a treatment event) when the admin has a page for it, else its case."""
    source_type = milestone.source_type
    if source_type is not None and milestone.source_id:
        model = source_type.model_class()
        if model is not None and model in admin.site._registry:
            return _admin_url(model, "change", milestone.source_id)
    return _admin_url(Case, "change", milestone.case_id)


def _milestone_group(user, scope, *, key, title, queryset: QuerySet, all_query: str, empty: str, now) -> Group:
    queryset = queryset.filter(_case_scope(user, scope, "case__coordinator"))
    shown = list(queryset.select_related("case", "source_type").order_by("due_at", "id")[:ROWS_PER_GROUP])
    rows = [
        Row(
            case_id=m.case_id,
            case_reference=m.case.reference,
            title=m.title,
            url=_milestone_url(m),
            when=m.due_at,
            detail=m.get_kind_display(),
            overdue=m.due_at < now,
        )
        for m in shown
    ]
    caseload = "mine" if scope == MINE else "all"
    return Group(
        key=key,
        title=title,
        count=queryset.count(),
        rows=rows,
        all_url=f"{_admin_url(Milestone, 'changelist')}?caseload={caseload}&due={all_query}",
        empty=empty,
        shown=shown,
    )


def _uploads_group(user, scope) -> Group:
    waiting = (
        Document.objects.visible_to(user)
        .filter(review_status__in=[Document.ReviewStatus.RECEIVED, Document.ReviewStatus.IN_REVIEW])
        .filter(_case_scope(user, scope, "case__coordinator"))
    )
    shown = list(waiting.select_related("case").order_by("created_at", "id")[:ROWS_PER_GROUP])
    rows = [
        Row(
            case_id=d.case_id,
            case_reference=d.case.reference,
            title=d.title or d.original_name,
            url=_admin_url(Document, "change", d.pk),
            when=d.created_at,
            detail=f"{d.get_doc_type_display()} · {d.get_review_status_display()}",
        )
        for d in shown
    ]
    return Group(
        key="uploads",
        title="Uploads waiting for review",
        count=waiting.count(),
        rows=rows,
        all_url=f"{_admin_url(Document, 'changelist')}?review_status__exact=received",
        empty="Every upload has been reviewed.",
        shown=shown,
    )


def unread_threads(user, scope: str = MINE) -> QuerySet:
    """Threads with family or centre messages after the reader's read mark, with ``unread``
    (how many) and ``read_at`` annotated. The reader is the signed-in user for "mine"; for a
    supervisor's "team", each case's own coordinator (who has not read it yet)."""
    reader = user.pk if scope == MINE else OuterRef("case__coordinator")
    read_at = ThreadRead.objects.filter(thread=OuterRef("pk"), user=reader).values("read_at")[:1]
    incoming = (
        Message.objects.filter(
            thread=OuterRef("pk"),
            side__in=[Message.Side.FAMILY, Message.Side.HOSPITAL],
            created_at__gt=Coalesce(OuterRef("read_at"), Value(_NEVER, output_field=DateTimeField())),
        )
        .order_by()
        .values("thread")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        Thread.objects.visible_to(user)
        .filter(_case_scope(user, scope, "case__coordinator"))
        .filter(last_message_at__isnull=False)
        .annotate(read_at=Subquery(read_at))
        .filter(Q(read_at__isnull=True) | Q(last_message_at__gt=F("read_at")))
        .annotate(unread=Coalesce(Subquery(incoming), 0))
        .filter(unread__gt=0)
    )


def _messages_group(user, scope) -> Group:
    threads = unread_threads(user, scope)
    shown = list(threads.select_related("case", "hospital").order_by("-last_message_at", "-id")[:ROWS_PER_GROUP])
    rows = [
        Row(
            case_id=t.case_id,
            case_reference=t.case.reference,
            title=f"{t.unread} new message{'s' if t.unread != 1 else ''} from "
            + (t.hospital.name_en if t.hospital_id else "the family"),
            url=_admin_url(Thread, "change", t.pk),
            when=t.last_message_at,
            detail=t.subject,
        )
        for t in shown
    ]
    return Group(
        key="messages",
        title="Unread messages from families and centres",
        count=threads.count(),
        rows=rows,
        all_url=f"{_admin_url(Thread, 'changelist')}?unread=1",
        empty="No unread messages.",
        shown=shown,
    )


def _referral_rows(referrals, *, when_field: str, detail) -> list[Row]:
    return [
        Row(
            case_id=r.case_id,
            case_reference=r.case.reference,
            title=f"{r.hospital.name_en}: {r.get_status_display()}",
            url=_admin_url(Referral, "change", r.pk),
            when=getattr(r, when_field),
            detail=detail(r),
        )
        for r in referrals
    ]


def _answers_group(user, scope, now) -> Group:
    answers = (
        Referral.objects.visible_to(user)
        .filter(status__in=referral_workflow.ANSWERS, answered_at__gte=now - RECENT_ANSWERS)
        .filter(_case_scope(user, scope, "case__coordinator"))
    )
    shown = list(answers.select_related("case", "hospital").order_by("-answered_at", "-id")[:ROWS_PER_GROUP])
    return Group(
        key="answers",
        title="Centres' answers (last 7 days)",
        count=answers.count(),
        rows=_referral_rows(shown, when_field="answered_at", detail=lambda r: r.answer_note[:120]),
        all_url=f"{_admin_url(Referral, 'changelist')}?status__in=accepted,more_info,declined",
        empty="No centre answered in the last 7 days.",
        shown=shown,
    )


def _deadlines_group(user, scope, now) -> Group:
    waiting = (
        Referral.objects.visible_to(user)
        .filter(status__in=referral_workflow.AWAITING_ANSWER, response_due_at__lt=now + SOON)
        .filter(_case_scope(user, scope, "case__coordinator"))
    )
    shown = list(waiting.select_related("case", "hospital").order_by("response_due_at", "id")[:ROWS_PER_GROUP])
    rows = _referral_rows(
        shown,
        when_field="response_due_at",
        detail=lambda r: "answer overdue" if r.response_due_at < now else "answer due",
    )
    for row, referral in zip(rows, shown, strict=True):
        row.overdue = referral.response_due_at < now
    return Group(
        key="deadlines",
        title="Referral deadlines (overdue or in the next 7 days)",
        count=waiting.count(),
        rows=rows,
        all_url=f"{_admin_url(Referral, 'changelist')}?status__in=sent,acknowledged,under_review",
        empty="No centre's answer is due in the next 7 days.",
        shown=shown,
    )


def _tasks_group(user, scope, now) -> Group:
    tasks = CoordinatorTask.objects.visible_to(user).filter(status=CoordinatorTask.Status.OPEN)
    if scope == MINE:
        tasks = tasks.filter(Q(assignee=user) | Q(assignee=None, case__coordinator=user))
    failed = (
        Reminder.objects.visible_to(user)
        .filter(status=Reminder.Status.FAILED)
        .filter(_case_scope(user, scope, "milestone__case__coordinator"))
    )
    shown_tasks = list(tasks.select_related("case").order_by("-priority", "created_at", "id")[:ROWS_PER_GROUP])
    shown_failed = list(failed.select_related("milestone__case").order_by("-updated_at", "-id")[:ROWS_PER_GROUP])
    rows = [
        Row(
            case_id=t.case_id,
            case_reference=t.case.reference,
            title=t.title,
            url=_admin_url(CoordinatorTask, "change", t.pk),
            when=t.due_at or t.created_at,
            detail=t.get_priority_display(),
            overdue=bool(t.due_at and t.due_at < now),
        )
        for t in shown_tasks
    ]
    caseload = "mine" if scope == MINE else "all"
    rows += [
        Row(
            case_id=r.milestone.case_id,
            case_reference=r.milestone.case.reference,
            title=f"Reminder failed: {r.milestone.title} ({r.get_channel_display()})",
            url=f"{_admin_url(Reminder, 'changelist')}?caseload={caseload}&status=failed&q={r.milestone.case.reference}",
            when=r.updated_at,
            detail=(r.last_error or "")[:120],
            overdue=True,
        )
        for r in shown_failed
    ]
    return Group(
        key="tasks",
        title="Open tasks and failed reminders",
        count=tasks.count() + failed.count(),
        rows=rows[:ROWS_PER_GROUP],
        all_url=f"{_admin_url(CoordinatorTask, 'changelist')}?caseload={caseload}&status__exact=open",
        empty="No open task.",
        shown=shown_tasks + shown_failed,
    )


def today_for(*, user, scope: str = MINE, now: dt.datetime | None = None) -> list[Group]:
    """The groups of the Today page, in the order a coordinator works them."""
    now = now or timezone.now()
    milestones = Milestone.objects.visible_to(user)
    return [
        _milestone_group(
            user,
            scope,
            key="overdue",
            title="Overdue",
            # Follow-up visits after discharge have their own group below.
            queryset=milestones.overdue(now).exclude(key__startswith=FOLLOW_UP_KEY),
            all_query="overdue",
            empty="Nothing is overdue.",
            now=now,
        ),
        _milestone_group(
            user,
            scope,
            key="soon",
            title="Due in the next 7 days",
            queryset=milestones.due_between(now, now + SOON),
            all_query="week",
            empty="Nothing is due in the next 7 days.",
            now=now,
        ),
        _uploads_group(user, scope),
        _messages_group(user, scope),
        _answers_group(user, scope, now),
        _deadlines_group(user, scope, now),
        _tasks_group(user, scope, now),
        _followup_group(user, scope, now),
    ]


def _followup_group(user, scope, now) -> Group:
    """Follow-up visits after discharge that are overdue: a result the home haematologist has not
    sent, or a visit nobody recorded (followup.selectors.overdue_followups)."""
    queryset = overdue_followups(user, now=now).filter(_case_scope(user, scope, "case__coordinator"))
    shown = list(queryset[:ROWS_PER_GROUP])
    rows = [
        Row(
            case_id=m.case_id,
            case_reference=m.case.reference,
            title=m.title,
            url=_admin_url(FollowUpVisit, "change", m.pk),
            when=m.due_at,
            detail="Follow-up after discharge",
            overdue=True,
        )
        for m in shown
    ]
    return Group(
        key="followup",
        title="Follow-up overdue",
        count=queryset.count(),
        rows=rows,
        all_url=f"{_admin_url(FollowUpVisit, 'changelist')}?due=overdue",
        empty="No follow-up visit is overdue.",
        shown=shown,
    )


def saved_filters_of(user) -> QuerySet[SavedFilter]:
    """The user's own saved case-list filters, by name."""
    return SavedFilter.objects.filter(user=user).order_by("name")


def coordinators() -> QuerySet:
    """Active coordinators and supervisors, for reassignment."""
    return get_user_model().objects.filter(is_active=True, role__in=["coordinator", "supervisor"]).order_by("username")
