"""Publish outbox rows the fast path could not send (the broker was unreachable).

Runs as its own service beside the worker: ``manage.py outbox_relay`` loops until stopped;
``--once`` publishes what is unsent now and exits (for cron or a test). Several relays may run
at once: each batch locks its rows with ``SELECT … FOR UPDATE SKIP LOCKED``."""

from __future__ import annotations

import logging
import signal
import time

from django.core.management.base import BaseCommand

from outbox.services import outbox_relay_batch

logger = logging.getLogger("outbox")


class Command(BaseCommand):
    help = "Publish unsent outbox rows to the Celery broker, in order (loop, or --once)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Publish what is unsent now, then exit.")
        parser.add_argument("--batch", type=int, default=100, help="Rows per transaction (default 100).")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls when idle.")

    def handle(self, *args, once: bool, batch: int, interval: float, **options):
        self.stopping = False
        if not once:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        total = 0
        while not self.stopping:
            sent, unsent = outbox_relay_batch(limit=batch)
            total += sent
            if sent and not unsent:
                continue  # a full batch went out: there may be more
            if once:
                break
            if unsent:
                logger.warning("outbox relay: broker unreachable, %d row(s) waiting", unsent)
            time.sleep(interval)
        self.stdout.write(f"outbox relay: {total} sent")

    def _stop(self, signum, frame):
        self.stopping = True
