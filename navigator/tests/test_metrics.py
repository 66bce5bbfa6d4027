"""Prometheus metrics: a closed endpoint unless configured, request latency by route pattern, our
own collectors, and no case data in any of them."""

import hashlib

import pytest
from rest_framework.test import APIClient

from navigator import metrics, observability
from scheduling.models import Reminder

pytestmark = pytest.mark.django_db


def scrape(client, **headers):
    return client.get("/metrics", **headers)


def test_the_metrics_endpoint_is_closed_unless_a_token_or_network_is_configured(client, settings):
    settings.DEBUG = False
    settings.METRICS_TOKEN = None
    settings.METRICS_ALLOWED_NETWORKS = []
    assert scrape(client).status_code == 404
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    assert scrape(client).status_code == 404
    assert scrape(client, HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert scrape(client, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token").status_code == 200
    settings.METRICS_TOKEN = None
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert scrape(client, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert scrape(client, REMOTE_ADDR="192.0.2.7").status_code == 404


def test_probes_answer_without_host_checks_or_the_https_redirect(client, settings):
    settings.ALLOWED_HOSTS = ["navigator.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/livez", HTTP_HOST="10.0.0.5:8000").json() == {"status": "ok"}
    ready = client.get("/readyz", HTTP_HOST="10.0.0.5:8000")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"


def test_a_scrape_has_every_documented_metric_and_no_case_data(world, client, settings):
    settings.METRICS_TOKEN = "t"
    settings.METRICS_CACHE_SECONDS = 0
    api = APIClient()
    api.force_authenticate(world.alice)
    assert api.get("/api/v1/cases/", {"q": world.case_a.patient.family_name}).status_code == 200
    assert api.get(f"/api/v1/cases/{world.case_a.pk}/").status_code == 200
    # A resumable upload, a task outcome, a webhook attempt and a late reminder, counted.
    family = APIClient()
    family.force_authenticate(world.ivanova)
    from documents.tests.test_tus import create, patch

    data = b"%PDF-1.4\n" + world.case_a.reference.encode() + b" " + world.case_a.patient.given_name.encode()
    location = create(family, world.case_a, len(data) + 100)["Location"]
    assert patch(family, location, 0, data).status_code == 204
    metrics.task_outcome("scheduling.reminder_send", "reminders", "success")
    metrics.webhook_attempt("retry")
    metrics.reminder_sent(Reminder.Channel.SMS, 42.0)

    body = scrape(client, HTTP_AUTHORIZATION="Bearer t").content.decode()
    for name in (
        "django_http_requests_latency_seconds_by_route_bucket",
        "django_http_requests_latency_seconds_by_view_method_bucket",
        "navigator_upload_bytes_total",
        "navigator_celery_tasks_total",
        "navigator_celery_queue_depth",
        "navigator_webhook_attempts_total",
        "navigator_webhook_deliveries_pending",
        "navigator_reminders_sent_total",
        "navigator_reminder_lag_seconds_bucket",
        "navigator_reminders_due",
        "navigator_reminders_due_oldest_seconds",
    ):
        assert name in body, name
    assert 'route="api/v1/' in body
    assert 'navigator_celery_queue_depth{queue="reminders"}' in body
    # Patterns and counts only: no reference, name, id from a path or searched word.
    patient, contact = world.case_a.patient, world.contact_a
    for secret in (
        world.case_a.reference,
        patient.given_name,
        patient.family_name,
        patient.native_name,
        contact.name,
        world.ivanova.username,
        f"/cases/{world.case_a.pk}/",
        hashlib.sha256(data).hexdigest(),
    ):
        assert secret not in body, secret


def test_sentry_events_keep_the_failure_and_drop_what_may_quote_a_person():
    event = {
        "request": {
            "method": "POST",
            "url": "https://n.example.org/api/v1/cases/?search=Ivanov",
            "data": {"family_name": "Ivanov"},
            "cookies": {"sessionid": "x"},
            "headers": {"Cookie": "x"},
            "query_string": "search=Ivanov",
        },
        "user": {"username": "ivanova"},
        "breadcrumbs": {"values": [{"message": "SELECT ... 'Ivanov'"}]},
        "logentry": {"message": "case %s failed", "params": ["NAV-2026-0001"]},
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": "bad name Ivanov",
                    "stacktrace": {"frames": [{"function": "f", "lineno": 3, "vars": {"name": "Ivanov"}}]},
                }
            ]
        },
    }
    scrubbed = observability.scrub_event(event)
    assert "Ivanov" not in repr(scrubbed) and "NAV-2026-0001" not in repr(scrubbed)
    assert scrubbed["exception"]["values"][0]["type"] == "ValueError"
    assert scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]["lineno"] == 3
    assert scrubbed["request"] == {"method": "POST", "url": "https://n.example.org/api/v1/cases/"}


def test_tracing_and_sentry_start_only_when_configured(settings, monkeypatch):
    calls = []
    monkeypatch.setattr(observability, "_done", False)
    monkeypatch.setattr(observability, "init_tracing", lambda: calls.append("otel"))
    monkeypatch.setattr(observability, "init_sentry", lambda: calls.append("sentry"))
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = ""
    settings.SENTRY_DSN = None
    observability.init()
    assert calls == []
    monkeypatch.setattr(observability, "_done", False)
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = "http://collector:4318"
    settings.SENTRY_DSN = "https://key@sentry.example.org/1"
    observability.init()
    assert calls == ["otel", "sentry"]


def test_trace_spans_keep_the_path_but_not_the_query_string(rf):
    from opentelemetry.sdk.trace import TracerProvider

    span = TracerProvider().get_tracer("t").start_span("GET")
    request = rf.get("/api/v1/cases/", {"search": "Ivanov"})
    span.set_attribute("http.url", request.build_absolute_uri())
    observability._strip_query(span, request)
    assert "Ivanov" not in repr(dict(span.attributes))
    assert span.attributes["http.target"] == "/api/v1/cases/"


def test_a_collector_that_cannot_read_costs_only_its_own_figures(client, settings, monkeypatch):
    from django.db import DatabaseError

    from scheduling.metrics import RemindersDue

    settings.METRICS_TOKEN = "t"
    settings.METRICS_CACHE_SECONDS = 0

    def unreachable(self):
        raise DatabaseError("the database went away")

    monkeypatch.setattr(RemindersDue, "collect", unreachable)
    response = scrape(client, HTTP_AUTHORIZATION="Bearer t")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'navigator_metrics_collector_up{collector="RemindersDue"} 0.0' in body
    assert 'navigator_metrics_collector_up{collector="WebhookDeliveries"} 1.0' in body
    assert "navigator_reminders_due{" not in body and "navigator_celery_queue_depth" in body
