"""Erasure in the background: a daily sweep finds closed cases past retention and erases each."""

from __future__ import annotations

import logging

from celery import shared_task

from navigator.errors import DomainError

from . import services

logger = logging.getLogger(__name__)
SYSTEM_ACTOR = "privacy.erase_due_cases"


@shared_task(name="privacy.erase_due_cases")
def erase_due_cases(limit: int = 500) -> int:
    """Enqueue one erasure per due case. Safe to run twice: an erased case is no longer due,
    and erasing is idempotent (one Erasure row per case, by constraint)."""
    ids = list(services.cases_due_for_erasure().values_list("pk", flat=True)[:limit])
    for case_id in ids:
        erase_case.delay(case_id)
    return len(ids)


@shared_task(name="privacy.erase_case", bind=True, max_retries=5, default_retry_delay=60)
def erase_case(self, case_id: int) -> str:
    try:
        erasure = services.case_erase(case_id=case_id, actor=SYSTEM_ACTOR)
    except DomainError as exc:
        # Reopened or changed since it was found due: nothing to do, and say why.
        logger.info("erasure refused", extra={"case_id": case_id, "code": exc.code})
        return exc.code
    except OSError as exc:  # storage briefly unavailable: the transaction rolled back, try again
        raise self.retry(exc=exc)
    return erasure.case_reference
