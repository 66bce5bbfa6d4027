"""Background work on documents: removing abandoned resumable uploads."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
import uuid

from celery import shared_task
from django.utils import timezone

from .models import Upload
from .tus import upload_dir, upload_discard, upload_lifetime, upload_path

logger = logging.getLogger(__name__)


def _busy(path) -> bool:
    """True when a PATCH holds the upload's lock right now (it is being written)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases the lock
    return False


def uploads_expire_run(now=None) -> int:
    """Remove expired uploads (rows and temporary data) and temporary files without a row
    older than the upload lifetime. Safe to run twice, and alongside live uploads."""
    now = now or timezone.now()
    removed = 0
    for upload_id in Upload.objects.expired(now).values_list("pk", flat=True):
        if _busy(upload_path(upload_id)):
            continue
        upload_discard(upload_id)
        removed += 1
    # A crash between creating the file and committing the row leaves a file with no row.
    cutoff = time.time() - upload_lifetime().total_seconds()
    live = {u.hex for u in Upload.objects.values_list("pk", flat=True)}
    for path in upload_dir().glob("*.part"):
        with contextlib.suppress(ValueError):
            uuid.UUID(path.stem)
            if path.stem not in live and path.stat().st_mtime < cutoff and not _busy(path):
                path.unlink(missing_ok=True)
                removed += 1
    if removed:
        logger.info("removed expired uploads", extra={"count": removed})
    return removed


@shared_task(name="documents.uploads_expire", acks_late=True)
def uploads_expire() -> int:
    return uploads_expire_run()
