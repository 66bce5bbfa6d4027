"""Which Celery queue a task goes to, by its registered name.

Each kind of work has a queue of its own and its own workers (docker-compose and
``deploy/k8s/``), with time limits that suit it, so one kind cannot hold up another: a centre's
endpoint that hangs keeps a ``webhooks`` worker busy, never a ``reminders`` one.

| queue | what | matched by |
|---|---|---|
| ``reminders`` | reminders and notifications to families and coordinators | ``scheduling.*``, ``notifications.*``, ``*remind*`` |
| ``webhooks`` | deliveries to centres' endpoints | ``webhooks.*`` |
| ``documents`` | document processing: packets, conversions, checks | ``documents.*``, ``hospitals.*packet*`` |
| ``maintenance`` | nightly sweeps: purges, expiries, erasure, re-runs | ``*purge*``, ``*expire*``, ``*erase*``, ``*_daily``, ``outbox.*``, ``privacy.*`` |
| ``default`` | everything else | any other name |

The first matching pattern wins (``fnmatch`` on the task's name, the ``name=`` of
``@shared_task``). A new task lands on ``default`` unless its name matches; name it after its app
(``<app>.<what>``) and it finds its queue. ``navigator/tests/test_routing.py`` checks that every
registered task is routed to one of ``QUEUES``.

A worker started without ``-Q`` (the demo, tests) consumes every queue in ``QUEUES``.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

DEFAULT_QUEUE = "default"
QUEUES = ("reminders", "webhooks", "documents", "maintenance", DEFAULT_QUEUE)

# Order matters: the first match wins (an upload expiry is maintenance, not document processing).
ROUTES: tuple[tuple[str, str], ...] = (
    ("*purge*", "maintenance"),
    ("*expire*", "maintenance"),
    ("*erase*", "maintenance"),
    ("*_daily", "maintenance"),
    ("outbox.*", "maintenance"),
    ("privacy.*", "maintenance"),
    ("webhooks.*", "webhooks"),
    ("scheduling.*", "reminders"),
    ("notifications.*", "reminders"),
    ("*remind*", "reminders"),
    ("documents.*", "documents"),
    ("hospitals.*packet*", "documents"),
)


def queue_for(name: str) -> str:
    for pattern, queue in ROUTES:
        if fnmatchcase(name, pattern):
            return queue
    return DEFAULT_QUEUE


def route(name, args, kwargs, options, task=None, **kw):
    """Celery router (``CELERY_TASK_ROUTES``)."""
    return {"queue": queue_for(name)}
