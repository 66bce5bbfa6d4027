"""Optional traces (OpenTelemetry) and error reports (Sentry), each on only when configured.

Neither may carry medical data or personal data. Both see requests whose query strings can hold
a searched name and whose bodies hold case data, so:

- traces keep the URL's path and route pattern, never its query string; no request or response
  bodies, no SQL (the database is not instrumented), task names but not their arguments;
- Sentry reports keep the exception's type and stack (file, function, line), without local
  variables, request bodies, cookies, query strings, headers, breadcrumbs, the user, or the
  exception's message (which may quote input).

``init()`` is called by the WSGI application and the Celery app.
"""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger(__name__)
_done = False


def init() -> None:
    global _done
    if _done:
        return
    _done = True
    if settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        init_tracing()
    if settings.SENTRY_DSN:
        init_sentry()


# --- OpenTelemetry --------------------------------------------------------------------------------


def _strip_query(span, request) -> None:
    """Django request hook: the URL without its query string."""
    if span is None or not span.is_recording():
        return
    url = request.build_absolute_uri(request.path) if hasattr(request, "build_absolute_uri") else ""
    for key in ("http.url", "url.full"):
        span.set_attribute(key, url)
    for key in ("http.target",):
        span.set_attribute(key, request.path)
    span.set_attribute("url.query", "")


def init_tracing():
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": settings.OTEL_SERVICE_NAME}))
    endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT.rstrip("/")
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument(request_hook=_strip_query, is_sql_commentor_enabled=False)
    CeleryInstrumentor().instrument()
    logger.info("tracing: spans exported to %s", endpoint)
    return provider


# --- Sentry ---------------------------------------------------------------------------------------


def scrub_event(event, hint=None):
    """Keep what locates a failure (type, stack, release, route), drop everything that may quote
    a person or their records."""
    request = event.get("request")
    if request:
        event["request"] = {k: request[k] for k in ("method",) if k in request}
        if "url" in request:
            event["request"]["url"] = request["url"].split("?", 1)[0]
    event.pop("user", None)
    event.pop("breadcrumbs", None)
    event.pop("extra", None)
    logentry = event.get("logentry")
    if logentry:
        event["logentry"] = {"message": logentry.get("message", "")}  # the template, without its values
    for exception in (event.get("exception") or {}).get("values", []):
        exception["value"] = ""
        for frame in (exception.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
    return event


def init_sentry():
    import sentry_sdk

    sentry_sdk.init(
        dsn=settings.SENTRY_DSN,
        environment=settings.SENTRY_ENVIRONMENT,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        max_breadcrumbs=0,
        traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
    )
    logger.info("error reports: Sentry on")
