"""Erasure in the background: a daily sweep finds closed cases past retention and erases each.

A failed erasure is retried with a growing wait; every failure is counted (``ErasureFailure``)
and logged, and after the last attempt a supervisor gets an urgent task. The next daily sweep
finds the case still due and tries again, so a case past retention is never forgotten."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction

from navigator.errors import DomainError
from navigator.queue import enqueue_each

from . import services

logger = logging.getLogger(__name__)
SYSTEM_ACTOR = "privacy.erase_due_cases"


@shared_task(name="privacy.erase_due_cases")
def erase_due_cases(limit: int = 500) -> int:
    """Enqueue one erasure per due case. Safe to run twice: an erased case is no longer due,
    and erasing is idempotent (one Erasure row per case, by constraint)."""
    ids = list(services.cases_due_for_erasure().values_list("pk", flat=True)[:limit])
    # Through the outbox like every other task: a broker outage leaves rows for the relay.
    with transaction.atomic():
        enqueue_each("privacy.erase_case", ids)
    return len(ids)


@shared_task(name="privacy.erase_case", bind=True, max_retries=None, acks_late=True)
def erase_case(self, case_id: int) -> str:
    try:
        erasure = services.case_erase(case_id=case_id, actor=SYSTEM_ACTOR)
    except DomainError as exc:
        # Reopened or changed since it was found due: nothing to do, and say why.
        logger.info("erasure refused", extra={"case_id": case_id, "code": exc.code})
        return exc.code
    except Exception as exc:  # noqa: BLE001 - any failure is counted, logged, retried, then reported
        attempt = self.request.retries + 1
        final = attempt >= settings.ERASURE_MAX_ATTEMPTS
        # The first line only: a database error's DETAIL line quotes the row's values.
        first_line = (str(exc).splitlines() or [""])[0]
        services.erasure_failure_record(case_id=case_id, error=f"{type(exc).__name__}: {first_line}", final=final)
        if final:
            return "failed"
        raise self.retry(exc=exc, countdown=services.erasure_retry_countdown(attempt)) from exc
    return erasure.case_reference


@shared_task(name="privacy.purge_logs")
def purge_logs() -> dict:
    """Daily: sign-in attempt logs and outbox files older than their retention period go."""
    return services.logs_purge()
