"""Endpoints for the platform, not for people: liveness, readiness and Prometheus metrics.

Answered by ``OpsEndpointsMiddleware`` at the top of the middleware stack, before host
validation and the HTTPS redirect: the kubelet and Prometheus call a pod by its IP over plain
HTTP inside the cluster.

- ``/livez``: the process answers (no database, no broker). A failing liveness probe restarts
  the pod, so it must not fail because PostgreSQL is down.
- ``/readyz``: the database and the broker answer (as ``/healthz``); a failing readiness probe
  only takes the pod out of the Service.
- ``/metrics``: Prometheus text format. Closed unless configured: ``METRICS_TOKEN`` (scrapers
  send ``Authorization: Bearer <token>``) and/or ``METRICS_ALLOWED_NETWORKS`` (the scraper's
  address, as the socket sees it, must be in one of these CIDRs). With neither, it answers 404
  (in debug it is open).
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotFound, JsonResponse
from django_prometheus import middleware
from django_prometheus.conf import NAMESPACE, PROMETHEUS_LATENCY_BUCKETS
from django_prometheus.middleware import Metrics
from django_prometheus.utils import TimeSince
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)

from navigator import metrics
from navigator.health import healthz


def _metrics_allowed(request) -> bool:
    token = getattr(settings, "METRICS_TOKEN", None)
    networks = getattr(settings, "METRICS_ALLOWED_NETWORKS", [])
    if not token and not networks:
        return settings.DEBUG
    if token:
        sent = request.headers.get("Authorization", "")
        if sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].strip().encode(), token.encode()):
            return True
    if networks:
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(net, strict=False) for net in networks)
    return False


def metrics_view(request):
    if not _metrics_allowed(request):
        return HttpResponseNotFound("Not found", content_type="text/plain")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # gunicorn's workers each count their own requests; add them up from the shared directory.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        for collector in metrics.cluster_collectors():
            registry.register(collector)
    else:
        metrics.register_collectors()
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def livez(request):
    return JsonResponse({"status": "ok"})


ROUTES = {"/livez": livez, "/readyz": healthz, "/metrics": metrics_view}


class OpsEndpointsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = ROUTES.get(request.path_info)
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)


class RouteMetrics(Metrics):
    """django-prometheus's request metrics plus latency by URL pattern (``api/v1/cases/<pk>/``,
    never the values in the path)."""

    _instance = None

    def register(self):
        super().register()
        self.requests_latency_by_route = self.register_metric(
            Histogram,
            "django_http_requests_latency_seconds_by_route",
            "Request processing time by URL pattern and method.",
            ["route", "method"],
            buckets=PROMETHEUS_LATENCY_BUCKETS,
            namespace=NAMESPACE,
        )


class PrometheusBeforeMiddleware(middleware.PrometheusBeforeMiddleware):
    metrics_cls = RouteMetrics


class PrometheusAfterMiddleware(middleware.PrometheusAfterMiddleware):
    metrics_cls = RouteMetrics

    def process_response(self, request, response):
        started = getattr(request, "prometheus_after_middleware_event", None)
        if started is not None:
            match = getattr(request, "resolver_match", None)
            route = (match.route or match.view_name or "<unnamed>") if match is not None else "<unmatched>"
            self.metrics.requests_latency_by_route.labels(route=route, method=self._method(request)).observe(
                TimeSince(started)
            )
        return super().process_response(request, response)
