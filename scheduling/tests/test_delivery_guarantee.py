"""Issue 21 item 6: an SMS reminder is exactly once only through a provider that honours the
idempotency key; otherwise it is recorded as at-least-once. Counted at the provider, not in files:
the provider accepts the message and the answer is lost (a timeout, a killed worker), the
reminder is retried, and the provider is called again with the same key."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from notifications.sms import BaseSMSBackend, ConsoleSMSBackend, FileSMSBackend
from scheduling import delivery
from scheduling.models import Reminder
from scheduling.services import milestone_upsert

pytestmark = pytest.mark.django_db
CALLS: list[tuple[str, str]] = []  # (to, idempotency key), every call that reached the provider
DELIVERED: dict[str, int] = {}  # messages the phone received, per key
LOSE_FIRST_ANSWER: set[str] = set()


class _Provider(BaseSMSBackend):
    def send(self, *, to: str, body: str, idempotency_key: str, language: str = "") -> str:
        CALLS.append((to, idempotency_key))
        if not (self.honours_idempotency_key and idempotency_key in DELIVERED):
            DELIVERED[idempotency_key] = DELIVERED.get(idempotency_key, 0) + 1
        if idempotency_key not in LOSE_FIRST_ANSWER:
            LOSE_FIRST_ANSWER.add(idempotency_key)
            raise TimeoutError("the provider accepted the message but its answer was lost")
        return f"provider:{idempotency_key}"


class KeylessProvider(_Provider):
    honours_idempotency_key = False


class KeyedProvider(_Provider):
    honours_idempotency_key = True


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear(), DELIVERED.clear(), LOSE_FIRST_ANSWER.clear()


def _send_sms_reminder(world) -> Reminder:
    milestone = milestone_upsert(
        case=world.case_b,
        key="k",
        kind="other",
        due_at=timezone.now() + dt.timedelta(hours=1),
        title="Bring the passport",
        concerns_family=True,
    ).milestone
    Reminder.objects.filter(milestone=milestone).update(send_at=timezone.now() - dt.timedelta(minutes=1))
    delivery.reminders_sweep()
    sms = Reminder.objects.get(milestone=milestone, channel="sms")
    assert delivery.reminder_deliver(reminder_id=sms.pk) == "retry"
    assert delivery.reminder_deliver(reminder_id=sms.pk) == "sent"
    sms.refresh_from_db()
    return sms


def test_a_provider_that_ignores_keys_is_called_twice_and_the_reminder_says_at_least_once(world, settings):
    settings.SMS_BACKEND = "scheduling.tests.test_delivery_guarantee.KeylessProvider"
    sms = _send_sms_reminder(world)
    assert len(CALLS) == 2 and {key for _, key in CALLS} == {sms.idempotency_key}
    assert DELIVERED[sms.idempotency_key] == 2  # the family's phone got it twice
    assert sms.delivery == "at_least_once"


def test_a_provider_that_honours_keys_is_called_twice_and_delivers_once(world, settings):
    settings.SMS_BACKEND = "scheduling.tests.test_delivery_guarantee.KeyedProvider"
    sms = _send_sms_reminder(world)
    assert len(CALLS) == 2 and DELIVERED[sms.idempotency_key] == 1
    assert sms.delivery == "exactly_once"


def test_backends_declare_whether_they_honour_keys_and_email_is_at_least_once(world, settings, tmp_path):
    from notifications.services import delivery_guarantee

    assert FileSMSBackend.honours_idempotency_key and not ConsoleSMSBackend.honours_idempotency_key
    assert not BaseSMSBackend.honours_idempotency_key  # a new backend must say so to be trusted
    settings.SMS_BACKEND, settings.SMS_FILE_PATH = "notifications.sms.FileSMSBackend", str(tmp_path)
    assert delivery_guarantee("sms") == "exactly_once" and delivery_guarantee("email") == "at_least_once"
    settings.SMS_BACKEND = "notifications.sms.ConsoleSMSBackend"
    assert delivery_guarantee("sms") == "at_least_once"
