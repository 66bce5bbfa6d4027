"""Named reads over conversations: a case's messages for its timeline."""

from __future__ import annotations

from django.urls import reverse

from cases.selectors import person_name
from cases.workplace import TimelineEntry

from .models import Message


def timeline_entries(case, limit: int) -> list[TimelineEntry]:
    """Messages of the case's threads, newest first, for the case timeline (one query). The body is
    not shown there: the thread is one click away."""
    rows = (
        Message.objects.filter(thread__case=case, translation_of__isnull=True)
        .select_related("thread", "author")
        .order_by("-created_at", "-id")[:limit]
    )
    return [
        TimelineEntry(
            at=m.created_at,
            kind="message",
            text=f"Message from {m.get_side_display().lower()}: {m.thread.subject or m.thread.get_kind_display()}",
            who=person_name(m.author) or m.author_label,
            url=reverse("admin:messaging_thread_change", args=[m.thread_id]),
        )
        for m in rows
    ]
