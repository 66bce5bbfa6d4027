"""SMS backends for tests: a provider that is slow (so a worker can be killed mid-send) or failing.

Configured by environment variables so a real worker process started by a test uses them.
"""

import os
import time

from notifications.sms import FileSMSBackend, PermanentSendError, SMSError


class SlowFileSMSBackend(FileSMSBackend):
    """Sleeps SMS_TEST_SLEEP seconds before (SMS_TEST_SLEEP_WHEN=before) or after the provider accepted."""

    def send(self, *, to, body, idempotency_key, language=""):
        seconds = float(os.environ.get("SMS_TEST_SLEEP", "0"))
        when = os.environ.get("SMS_TEST_SLEEP_WHEN", "before")
        if when == "before":
            time.sleep(seconds)
        ref = super().send(to=to, body=body, idempotency_key=idempotency_key)
        if when == "after":
            time.sleep(seconds)
        return ref


class FailingSMSBackend(FileSMSBackend):
    """Fails while the reminder has had fewer than SMS_TEST_FAILURES attempts (read from its key)."""

    def send(self, *, to, body, idempotency_key, language=""):
        from scheduling.models import Reminder

        pk = int(idempotency_key.rsplit("-", 1)[-1])
        attempts = Reminder.objects.filter(pk=pk).values_list("attempts", flat=True).first()
        if attempts <= int(os.environ.get("SMS_TEST_FAILURES", "1000")):
            raise SMSError(f"provider unavailable (attempt {attempts})")
        return super().send(to=to, body=body, idempotency_key=idempotency_key)


class RefusingSMSBackend(FileSMSBackend):
    """The provider refuses the number for good."""

    def send(self, *, to, body, idempotency_key, language=""):
        raise PermanentSendError(f"{to} is not a mobile number")


class UnavailableSMSBackend(FileSMSBackend):
    """The provider is down."""

    def send(self, *, to, body, idempotency_key, language=""):
        raise SMSError("provider unavailable")
