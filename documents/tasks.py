"""Background work on documents: removing abandoned resumable uploads."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid

from celery import shared_task
from django.utils import timezone

from navigator import locks

from .models import Upload
from .tus import upload_dir, upload_discard, upload_lifetime, upload_lock_key


def _busy(upload_id) -> bool:
    """True when a PATCH, on any replica, holds the upload's lock right now."""
    return locks.is_locked(upload_lock_key(upload_id))


logger = logging.getLogger(__name__)


def uploads_expire_run(now=None) -> int:
    """Remove expired uploads (rows and stored parts) and part files without a row older than
    the upload lifetime. Safe to run twice, and alongside live uploads."""
    now = now or timezone.now()
    removed = 0
    for upload in Upload.objects.expired(now):
        with locks.held(upload_lock_key(upload.pk)) as got:
            if not got:  # being written right now
                continue
            upload_discard(upload)
            removed += 1
    # A crash between creating the file and committing the row leaves a file with no row.
    cutoff = time.time() - upload_lifetime().total_seconds()
    live = {u.hex for u in Upload.objects.values_list("pk", flat=True)}
    for path in upload_dir().glob("*.part"):
        with contextlib.suppress(ValueError):
            uuid.UUID(path.stem)
            if path.stem not in live and path.stat().st_mtime < cutoff and not _busy(path.stem):
                path.unlink(missing_ok=True)
                removed += 1
    if removed:
        logger.info("removed expired uploads", extra={"count": removed})
    return removed


@shared_task(name="documents.uploads_expire", acks_late=True)
def uploads_expire() -> int:
    return uploads_expire_run()
