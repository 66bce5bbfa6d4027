"""Prometheus figures read from the webhook deliveries at scrape time (``settings.METRICS_COLLECTORS``).

Counts only: no centre, URL or payload.
"""

from __future__ import annotations

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from .models import WebhookDelivery


class WebhookDeliveries:
    def collect(self):
        family = GaugeMetricFamily(
            "navigator_webhook_deliveries_pending", "Webhook deliveries still to be made (first try or a retry)."
        )
        pending = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).aggregate(n=Count("id"))["n"]
        family.add_metric([], pending)
        yield family
