"""Navigator's own Prometheus metrics (request metrics come from django-prometheus).

Two kinds:

- **per process**, kept by ``prometheus_client`` in the process that counts them (upload bytes a
  web replica received). Under gunicorn set ``PROMETHEUS_MULTIPROC_DIR`` so the workers of one
  replica add up (``prometheus_client`` multiprocess mode).
- **cluster-wide**, counted in Redis by whichever process saw the event (a Celery task's outcome,
  a webhook attempt, a reminder sent and how late), or read from PostgreSQL and the broker at
  scrape time (queue depth, reminders due). Every web replica reports the same figures for them:
  scrape one replica, or take ``max`` across replicas.

Labels never carry case data: task names, queue names, outcomes, channels and stores only (a
test scrapes the endpoint and looks for case references and names). Metric names are listed in
``docs/operations.md``.

This module imports no app: the collectors that read an app's tables are named in
``settings.METRICS_COLLECTORS`` and loaded when the endpoint is first scraped.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings
from django.db import DatabaseError
from django.utils.module_loading import import_string
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from navigator.routing import QUEUES

logger = logging.getLogger(__name__)

UPLOAD_BYTES = Counter(
    "navigator_upload_bytes",
    "Bytes of resumable uploads received and committed, by part store.",
    ["store"],
)

REMINDER_LAG_BUCKETS = (1, 5, 15, 30, 60, 300, 900, 3600, 4 * 3600)
_REDIS_KEY = "navigator:metrics"
_redis_client = None
_redis_lock = threading.Lock()


def _redis():
    """The Redis client of the cluster-wide counters, or None without ``REDIS_URL``."""
    global _redis_client
    url = getattr(settings, "REDIS_URL", None)
    if not url:
        return None
    with _redis_lock:
        if _redis_client is None:
            _redis_client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        return _redis_client


_local_counts: dict[str, float] = {}


def count(field: str, amount: float = 1) -> None:
    """Add ``amount`` to the cluster-wide counter ``field`` (``name|label=value|...``). A metric
    that cannot be counted is logged and dropped: it never fails the work it describes."""
    client = _redis()
    if client is None:
        _local_counts[field] = _local_counts.get(field, 0) + amount
        return
    try:
        client.hincrbyfloat(_REDIS_KEY, field, amount)
    except Exception:  # noqa: BLE001 - redis raises many kinds; the counted work must go on
        logger.warning("metrics: could not count %s", field.split("|", 1)[0], exc_info=True)


def _counts() -> dict[str, float]:
    client = _redis()
    if client is None:
        return dict(_local_counts)
    return {k.decode(): float(v) for k, v in client.hgetall(_REDIS_KEY).items()}


def task_outcome(task: str, queue: str, outcome: str) -> None:
    count(f"task|task={task}|queue={queue}|outcome={outcome}")


def webhook_attempt(outcome: str) -> None:
    count(f"webhook|outcome={outcome}")


def reminder_sent(channel: str, lag_seconds: float) -> None:
    """A reminder went out ``lag_seconds`` after it was due."""
    lag = max(lag_seconds, 0.0)
    count(f"reminder_sent|channel={channel}")
    count(f"reminder_lag_sum|channel={channel}", lag)
    for bound in REMINDER_LAG_BUCKETS:
        if lag <= bound:
            count(f"reminder_lag_le|channel={channel}|le={bound}")


def _parse(field: str) -> tuple[str, dict[str, str]]:
    name, *pairs = field.split("|")
    return name, dict(pair.split("=", 1) for pair in pairs)


class ClusterCounters(Collector):
    """The counters kept in Redis."""

    def collect(self):
        tasks = CounterMetricFamily(
            "navigator_celery_tasks",
            "Celery tasks finished, by task, queue and outcome.",
            labels=["task", "queue", "outcome"],
        )
        webhooks = CounterMetricFamily(
            "navigator_webhook_attempts", "Webhook delivery attempts, by outcome.", labels=["outcome"]
        )
        sent = CounterMetricFamily("navigator_reminders_sent", "Reminders sent, by channel.", labels=["channel"])
        lag_sum: dict[str, float] = {}
        lag_le: dict[str, dict[float, float]] = {}
        lag_count: dict[str, float] = {}
        for field, value in sorted(_counts().items()):
            name, labels = _parse(field)
            if name == "task":
                tasks.add_metric([labels["task"], labels["queue"], labels["outcome"]], value)
            elif name == "webhook":
                webhooks.add_metric([labels["outcome"]], value)
            elif name == "reminder_sent":
                sent.add_metric([labels["channel"]], value)
                lag_count[labels["channel"]] = value
            elif name == "reminder_lag_sum":
                lag_sum[labels["channel"]] = value
            elif name == "reminder_lag_le":
                lag_le.setdefault(labels["channel"], {})[float(labels["le"])] = value
        yield tasks
        yield webhooks
        yield sent
        lag = HistogramMetricFamily(
            "navigator_reminder_lag_seconds",
            "How long after it was due each reminder was sent, by channel.",
            labels=["channel"],
        )
        for channel, total in lag_count.items():
            buckets = [(str(b), lag_le.get(channel, {}).get(float(b), 0)) for b in REMINDER_LAG_BUCKETS]
            buckets.append(("+Inf", total))
            lag.add_metric([channel], buckets, lag_sum.get(channel, 0))
        yield lag


class QueueDepth(Collector):
    """Messages waiting in each Celery queue (Redis lists named after the queues)."""

    def collect(self):
        depth = GaugeMetricFamily(
            "navigator_celery_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        client = _redis() if settings.CELERY_BROKER_URL.startswith("redis") else None
        if client is not None:
            broker = client if settings.CELERY_BROKER_URL == settings.REDIS_URL else _broker_client()
            pipe = broker.pipeline()
            for queue in QUEUES:
                pipe.llen(queue)
            for queue, length in zip(QUEUES, pipe.execute(), strict=True):
                depth.add_metric([queue], length)
        yield depth


def _broker_client():
    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)


class Cached:
    """A collector whose figures are read at most every ``seconds`` (``METRICS_CACHE_SECONDS``
    for database queries: several scrapers must not multiply the load), and whose failure (the
    database or Redis unreachable) costs its own figures only: it is logged, and
    ``navigator_metrics_collector_up{collector=...}`` says 0, while the rest of the scrape goes on."""

    def __init__(self, inner, *, seconds: float | None = None):
        self.inner = inner
        self.name = type(inner).__name__
        self.seconds = seconds
        self.at = -1e9
        self.families: list = []
        self.up = 1
        self.lock = threading.Lock()

    def collect(self) -> list:
        with self.lock:
            seconds = self.seconds if self.seconds is not None else getattr(settings, "METRICS_CACHE_SECONDS", 15)
            if time.monotonic() - self.at >= seconds:
                try:
                    self.families = list(self.inner.collect())
                    self.up = 1
                except (DatabaseError, redis.RedisError) as exc:
                    logger.warning("metrics: %s could not be read (%s)", self.name, type(exc).__name__)
                    self.families, self.up = [], 0
                self.at = time.monotonic()
            return list(self.families)


class Cluster(Collector):
    """Every cluster-wide collector, and whether each could be read."""

    def __init__(self, parts: list[Cached]):
        self.parts = parts

    def collect(self):
        up = GaugeMetricFamily(
            "navigator_metrics_collector_up", "1 when a collector's figures could be read.", labels=["collector"]
        )
        for part in self.parts:
            yield from part.collect()
            up.add_metric([part.name], part.up)
        yield up


_cluster: list[Collector] = []
_registered = False
_register_lock = threading.Lock()


def cluster_collectors() -> list[Collector]:
    """The cluster-wide collectors, built once per process."""
    with _register_lock:
        if not _cluster:
            parts = [Cached(ClusterCounters(), seconds=0), Cached(QueueDepth(), seconds=0)]
            parts.extend(Cached(import_string(path)()) for path in getattr(settings, "METRICS_COLLECTORS", []))
            _cluster.append(Cluster(parts))
        return list(_cluster)


def register_collectors() -> None:
    """Register the cluster-wide collectors in the process's registry once (first scrape)."""
    global _registered
    collectors = cluster_collectors()
    with _register_lock:
        if _registered:
            return
        for collector in collectors:
            REGISTRY.register(collector)
        _registered = True


def _task_postrun(sender=None, task_id=None, task=None, state=None, **kwargs) -> None:
    task = task or sender
    info = getattr(getattr(task, "request", None), "delivery_info", None) or {}
    queue = info.get("routing_key") or "eager"
    task_outcome(getattr(task, "name", "unknown"), queue, (state or "unknown").lower())


def connect_celery_signals() -> None:
    """Count every task's outcome (success, failure, retry) by task and queue."""
    from celery.signals import task_postrun

    task_postrun.connect(_task_postrun, weak=False, dispatch_uid="navigator-metrics-task-outcomes")
