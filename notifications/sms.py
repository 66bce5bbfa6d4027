"""SMS delivery behind a pluggable backend (settings.SMS_BACKEND), like Django's email backends.

Every send carries an idempotency key. Each backend declares whether the key is honoured
(``honours_idempotency_key``): the file backend honours it itself, so a send retried after a
crash is not delivered twice; a provider that ignores keys (and the console backend, which
remembers keys only within one process) may deliver a retried send twice. Reminders sent through
such a backend are recorded as at-least-once (``scheduling.Reminder.delivery``). The WhatsApp
backend (``notifications.whatsapp``) subclasses ``BaseSMSBackend`` and declares the same.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


class SMSError(Exception):
    """The provider refused or failed; the caller retries."""


class PermanentSendError(SMSError):
    """The provider refused for good (an unknown number, a bad template, a revoked token):
    retrying the same message cannot succeed; the caller marks it failed at once."""


class BaseSMSBackend:
    # True only if the same idempotency key twice is delivered once, across processes and
    # crashes (the provider deduplicates, or the backend does so durably). Unknown: False.
    honours_idempotency_key: bool = False

    def send(self, *, to: str, body: str, idempotency_key: str, language: str = "") -> str:
        """Deliver one message; return the provider's reference. Same key twice: delivered once.
        ``language`` is the recipient's (a template-based provider picks its template by it)."""
        raise NotImplementedError


class FileSMSBackend(BaseSMSBackend):
    """Writes each message as ``<SMS_FILE_PATH>/<idempotency key>.json``.

    The file appears atomically (written aside, then hard-linked into place, which fails
    if it exists), so a message is either fully there or not at all, and never twice.
    """

    honours_idempotency_key = True

    def __init__(self, path: str | None = None):
        self.path = Path(path or settings.SMS_FILE_PATH)

    def send(self, *, to: str, body: str, idempotency_key: str, language: str = "") -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        name = "".join(c for c in idempotency_key if c.isalnum() or c in "-_") or "message"
        final = self.path / f"{name}.json"
        if final.exists():
            return f"file:{final.name}"
        payload = {"to": to, "body": body, "idempotency_key": idempotency_key, "at": timezone.now().isoformat()}
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, final)
            except FileExistsError:
                pass  # another attempt of the same message got there first
        finally:
            os.unlink(tmp)
        return f"file:{final.name}"


class ConsoleSMSBackend(BaseSMSBackend):
    """Prints messages (development). Remembers keys for the life of the process only."""

    honours_idempotency_key = False

    _seen: set[str] = set()
    _lock = threading.Lock()

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, *, to: str, body: str, idempotency_key: str, language: str = "") -> str:
        with self._lock:
            if idempotency_key in self._seen:
                return f"console:{idempotency_key}"
            self._seen.add(idempotency_key)
        self.stream.write(f"SMS to {to} [{idempotency_key}]\n{body}\n{'-' * 40}\n")
        self.stream.flush()
        return f"console:{idempotency_key}"


def get_sms_backend() -> BaseSMSBackend:
    return import_string(settings.SMS_BACKEND)()


def get_whatsapp_backend() -> BaseSMSBackend:
    """WHATSAPP_BACKEND: ``notifications.whatsapp.WhatsAppCloudBackend`` in production; a file
    backend (under WHATSAPP_FILE_PATH) locally."""
    backend = import_string(settings.WHATSAPP_BACKEND)
    if issubclass(backend, FileSMSBackend):
        return backend(path=settings.WHATSAPP_FILE_PATH)
    return backend()
