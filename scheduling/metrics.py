"""Prometheus figures read from the reminders table at scrape time (``settings.METRICS_COLLECTORS``).

Counts and ages only: no recipient, case or text. The due query walks the partial index on
pending reminders, so a scrape costs the same whatever the number of future reminders.
"""

from __future__ import annotations

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from .models import Reminder


class RemindersDue:
    def collect(self):
        now = timezone.now()
        due = GaugeMetricFamily(
            "navigator_reminders_due", "Reminders due now and not yet sent, by status.", labels=["status"]
        )
        oldest = GaugeMetricFamily(
            "navigator_reminders_due_oldest_seconds",
            "How long the oldest reminder that is due and still pending has been waiting.",
        )
        pending = Reminder.objects.filter(status=Reminder.Status.PENDING, send_at__lte=now).aggregate(
            n=Count("id"), first=Min("send_at")
        )
        due.add_metric([Reminder.Status.PENDING], pending["n"])
        in_flight = (
            Reminder.objects.filter(status__in=[Reminder.Status.QUEUED, Reminder.Status.SENDING], send_at__lte=now)
            .values("status")
            .annotate(n=Count("id"))
        )
        seen = {row["status"]: row["n"] for row in in_flight}
        for status in (Reminder.Status.QUEUED, Reminder.Status.SENDING):
            due.add_metric([status], seen.get(status, 0))
        oldest.add_metric([], (now - pending["first"]).total_seconds() if pending["first"] else 0)
        yield due
        yield oldest
