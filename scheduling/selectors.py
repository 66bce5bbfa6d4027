"""Named reads over the pathway: MRD results and reminders sent, for the case timeline."""

from __future__ import annotations

from django.urls import reverse

from cases.selectors import person_name
from cases.workplace import TimelineEntry

from .models import MRDResult, Reminder


def timeline_entries(case, limit: int) -> list[TimelineEntry]:
    """MRD results and reminders sent for a case, newest first (two queries)."""
    results = MRDResult.objects.filter(case=case).select_related("recorded_by").order_by("-created_at", "-id")[:limit]
    entries = [
        TimelineEntry(
            at=r.created_at,
            kind="mrd",
            text=f"MRD {r.get_checkpoint_display()} ({r.sample_date:%Y-%m-%d}): {r.get_result_display()}",
            who=person_name(r.recorded_by),
            url=reverse("admin:scheduling_mrdresult_change", args=[r.pk]),
        )
        for r in results
    ]
    sent = (
        Reminder.objects.filter(milestone__case=case, status=Reminder.Status.SENT, sent_at__isnull=False)
        .select_related("milestone")
        .order_by("-sent_at", "-id")[:limit]
    )
    entries += [
        TimelineEntry(
            at=r.sent_at,
            kind="reminder",
            text=f"Reminder sent by {r.get_channel_display().lower()} to the {r.get_audience_display().lower()}: "
            f"{r.milestone.title}",
            url=reverse("admin:scheduling_reminder_change", args=[r.pk]),
        )
        for r in sent
        if r.sent_at is not None
    ]
    return entries
