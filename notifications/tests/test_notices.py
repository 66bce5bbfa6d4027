"""Notices: a message written by either side, a record asked for or reviewed, a moved date reach
the other side once, batched, outside the family's quiet hours, as they chose, until they stop them."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from unittest import mock

import pytest
from django.core import mail

from documents import services as documents
from messaging.services import message_post
from notifications import delivery
from notifications.models import Notice, NoticeDelivery, NoticeDigest, NoticePreference
from notifications.quiet import after_quiet, is_quiet
from notifications.services import (
    notice_family,
    notice_preference_update,
    unsubscribe_token,
)
from scheduling.models import CoordinatorTask
from scheduling.services import milestone_upsert, notice_failure_task_open

pytestmark = pytest.mark.django_db

# 11:00 in Singapore (contact_b's zone): outside the default quiet hours 21:00-08:00.
MORNING = dt.datetime(2026, 3, 10, 3, 0, tzinfo=dt.UTC)
# 23:00 in Singapore: quiet until 08:00 there, i.e. 00:00 UTC the next day.
NIGHT = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
NIGHT_ENDS = dt.datetime(2026, 3, 11, 0, 0, tzinfo=dt.UTC)


@contextlib.contextmanager
def clock(moment: dt.datetime):
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


@pytest.fixture(autouse=True)
def outboxes(settings, tmp_path):
    settings.SMS_BACKEND = "notifications.sms.FileSMSBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    settings.WHATSAPP_BACKEND = "notifications.sms.FileSMSBackend"
    settings.WHATSAPP_FILE_PATH = str(tmp_path / "whatsapp")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NOTICE_DEBOUNCE_SECONDS = 300
    settings.NOTICE_DIGEST_SECONDS = 3600
    settings.DOCUMENT_UPLOAD_DIR = str(tmp_path / "uploads")
    return tmp_path


def sms_sent(tmp_path, channel="sms"):
    return [json.loads(p.read_text()) for p in sorted((tmp_path / channel).glob("*.json"))]


def run_due(now: dt.datetime) -> list[str]:
    """The beat sweep at ``now``, then every queued delivery's task (twice: a redelivered task)."""
    with clock(now):
        delivery.notices_sweep(now=now)
        ids = list(NoticeDelivery.objects.filter(status="queued").values_list("pk", flat=True))
        return [delivery.notice_deliver(delivery_id=pk) for pk in ids for _ in range(2)]


def family_writes(world, body="Misha has a fever tonight"):
    return message_post(author=world.chen, case=world.case_b, kind="family", body=body)


def coordinator_writes(world, body="The day-28 bone marrow shows MRD 0.01%"):
    return message_post(author=world.bob, case=world.case_b, kind="family", body=body)


def family_upload(world, seed=1):
    return documents.document_create(
        case=world.case_b,
        file=io.BytesIO(b"\x00" * 128 + b"DICM" + bytes([seed]) * 64),
        filename="scan.dcm",
        doc_type="imaging_study",
        actor=world.chen,
    )


# --- quiet hours ------------------------------------------------------------------------------


def test_quiet_hours_cross_midnight_in_the_contacts_zone():
    night, morning = dt.time(21), dt.time(8)
    assert is_quiet(NIGHT, start=night, end=morning, time_zone="Asia/Singapore")
    assert not is_quiet(MORNING, start=night, end=morning, time_zone="Asia/Singapore")
    # The same instant is 10:00 in Moscow... no: 18:00 UTC+3 -> not quiet there.
    assert not is_quiet(NIGHT, start=night, end=morning, time_zone="Europe/Moscow")
    assert after_quiet(NIGHT, start=night, end=morning, time_zone="Asia/Singapore") == NIGHT_ENDS
    # Just after midnight local time the quiet period ends the same morning.
    after_midnight = dt.datetime(2026, 3, 10, 17, 30, tzinfo=dt.UTC)  # 01:30 in Singapore
    assert after_quiet(after_midnight, start=night, end=morning, time_zone="Asia/Singapore") == NIGHT_ENDS
    assert after_quiet(MORNING, start=night, end=morning, time_zone="Asia/Singapore") == MORNING
    # Equal ends: no quiet hours; a daytime quiet period does not cross midnight.
    assert not is_quiet(NIGHT, start=morning, end=morning, time_zone="Asia/Singapore")
    assert is_quiet(MORNING, start=dt.time(10), end=dt.time(12), time_zone="Asia/Singapore")


def test_quiet_hours_end_at_the_local_clock_time_across_a_daylight_saving_change():
    # New York moves its clocks forward on 8 March 2026: 08:00 local is 12:00 UTC that day.
    late = dt.datetime(2026, 3, 8, 4, 0, tzinfo=dt.UTC)  # 23:00 on 7 March in New York
    end = after_quiet(late, start=dt.time(22), end=dt.time(8), time_zone="America/New_York")
    assert end == dt.datetime(2026, 3, 8, 12, 0, tzinfo=dt.UTC)


# --- the proof: either side writes, one notification in allowed hours, none in quiet hours ------


def test_a_coordinators_message_reaches_the_family_once_by_email_and_sms_in_their_language(world, outboxes):
    with clock(MORNING):
        coordinator_writes(world)
    assert run_due(MORNING + dt.timedelta(minutes=4)) == []  # the debounce window is still open
    outcomes = run_due(MORNING + dt.timedelta(minutes=5))
    assert sorted(outcomes) == ["not_claimed", "not_claimed", "sent", "sent"]  # each task ran twice

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [world.contact_b.email]
    assert "协调员给您发了新消息" in email.body  # in Simplified Chinese, the contact's language
    assert email.subject == "Navigator：您的门户有新动态"
    assert "MRD" not in email.body and "bone marrow" not in email.body  # no medical detail
    assert "http://127.0.0.1:8000/portal/\n" in email.body
    assert "/portal/notifications/stop/" in email.extra_headers["List-Unsubscribe"]
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    sms = sms_sent(outboxes)
    assert len(sms) == 1 and sms[0]["to"] == "+6591234567"
    assert sms[0]["body"].startswith("Navigator：协调员给您发了新消息。详情请见门户：http://127.0.0.1:8000/portal/")
    assert "MRD" not in sms[0]["body"] and "/portal/notifications/stop/" in sms[0]["body"]
    # Nothing more, however often the sweep runs.
    assert run_due(MORNING + dt.timedelta(hours=2)) == []
    assert len(mail.outbox) == 1 and len(sms_sent(outboxes)) == 1


def test_a_message_written_in_the_familys_quiet_hours_waits_for_their_end(world, outboxes):
    with clock(NIGHT):
        coordinator_writes(world)
    digest = NoticeDigest.objects.get(contact=world.contact_b)
    assert digest.send_at == NIGHT_ENDS  # deferred to 08:00 in Singapore
    for late in (NIGHT + dt.timedelta(minutes=5), NIGHT + dt.timedelta(hours=4), NIGHT_ENDS - dt.timedelta(seconds=1)):
        assert run_due(late) == []
    assert mail.outbox == [] and sms_sent(outboxes) == []
    assert run_due(NIGHT_ENDS).count("sent") == 2
    assert len(mail.outbox) == 1 and len(sms_sent(outboxes)) == 1


def test_quiet_hours_that_began_while_the_window_was_open_defer_the_digest(world, outboxes):
    # 20:58 in Singapore: the window ends at 21:03, inside the quiet hours.
    just_before = dt.datetime(2026, 3, 10, 12, 58, tzinfo=dt.UTC)
    with clock(just_before):
        coordinator_writes(world)
    assert NoticeDigest.objects.get(contact=world.contact_b).send_at == NIGHT_ENDS
    # A contact who moved their quiet hours after the digest opened: the sweep checks again.
    with clock(MORNING):
        coordinator_writes(world, body="second")  # joins the open digest
    NoticeDigest.objects.filter(contact=world.contact_b).update(send_at=NIGHT)
    with clock(NIGHT):
        assert delivery.notices_sweep(now=NIGHT)["deferred"] == 1
    assert NoticeDigest.objects.get(contact=world.contact_b).send_at == NIGHT_ENDS
    assert NoticeDelivery.objects.count() == 0


def test_a_retry_that_comes_due_in_quiet_hours_waits(world, outboxes):
    with clock(MORNING):
        coordinator_writes(world)
        delivery.notices_sweep(now=MORNING + dt.timedelta(minutes=5))
    row = NoticeDelivery.objects.filter(channel="sms").get()
    with clock(NIGHT):
        assert delivery.notice_deliver(delivery_id=row.pk) == "deferred"
    row.refresh_from_db()
    assert (row.status, row.claimed_at, row.attempts) == ("queued", NIGHT_ENDS, 0)
    assert sms_sent(outboxes) == []


def test_a_family_message_reaches_the_coordinator_in_an_hourly_digest_once(world, outboxes):
    with clock(MORNING):
        family_writes(world)
        family_writes(world, body="and a rash")
    with clock(MORNING + dt.timedelta(minutes=20)):
        family_upload(world)
    assert run_due(MORNING + dt.timedelta(minutes=59)) == []
    assert run_due(MORNING + dt.timedelta(hours=1)).count("sent") == 1
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [world.bob.email]
    assert world.case_b.reference in email.body
    assert "2 new messages, 1 new record" in email.body
    assert f"/admin/cases/case/{world.case_b.pk}/change/" in email.body
    assert "fever" not in email.body and "rash" not in email.body
    # The family's own message is no notice to the family.
    assert not Notice.objects.filter(contact__isnull=False).exists()
    # The next message starts the next hour's digest.
    with clock(MORNING + dt.timedelta(hours=1, minutes=1)):
        family_writes(world, body="better now")
    assert run_due(MORNING + dt.timedelta(hours=1, minutes=30)) == []
    assert run_due(MORNING + dt.timedelta(hours=2, minutes=1)).count("sent") == 1
    assert len(mail.outbox) == 2


def test_a_coordinators_own_message_tells_no_coordinator(world):
    with clock(MORNING):
        coordinator_writes(world)
    assert not Notice.objects.filter(user__isnull=False).exists()


def test_a_burst_of_events_makes_one_message_per_channel(world, outboxes):
    with clock(MORNING):
        for n in range(5):
            coordinator_writes(world, body=f"message {n}")
        documents.document_request_create(
            case=world.case_b, doc_type="cd19_flow", description="The latest CD19 flow report", actor=world.bob
        )
        uploaded = family_upload(world)
        documents.document_accept(document=uploaded, actor=world.bob)
    assert Notice.objects.filter(contact=world.contact_b).count() == 7
    assert NoticeDigest.objects.filter(contact=world.contact_b).count() == 1
    run_due(MORNING + dt.timedelta(minutes=5))
    assert len(mail.outbox) == 1 and len(sms_sent(outboxes)) == 1
    body = mail.outbox[0].body
    # One line per kind, whatever the count: 新消息 (message), 记录 (record asked, record reviewed).
    assert body.count("\n- ") == 3


def test_the_same_event_told_twice_is_one_notice(world):
    with clock(MORNING):
        notice_family(case=world.case_b, kind="message", key="message:1")
        notice_family(case=world.case_b, kind="message", key="message:1")
    assert Notice.objects.filter(contact=world.contact_b).count() == 1


def test_a_sweep_run_twice_hands_each_digest_over_once(world, django_capture_on_commit_callbacks):
    with clock(MORNING):
        coordinator_writes(world)
    later = MORNING + dt.timedelta(minutes=5)
    with clock(later), django_capture_on_commit_callbacks() as callbacks:
        first = delivery.notices_sweep(now=later)
        second = delivery.notices_sweep(now=later)
    assert (first["queued"], second["queued"]) == (2, 0)
    assert len(callbacks) == 1  # one publish of the outbox rows after the commit
    assert NoticeDelivery.objects.filter(digest__contact=world.contact_b).count() == 2


def test_a_stale_lease_is_recovered_and_sent_once(world, outboxes):
    with clock(MORNING):
        coordinator_writes(world)
    later = MORNING + dt.timedelta(minutes=5)
    with clock(later):
        delivery.notices_sweep(now=later)
    row = NoticeDelivery.objects.get(channel="sms")
    # A worker leased it and died before recording the send.
    NoticeDelivery.objects.filter(pk=row.pk).update(status="sending", attempts=1, lease_until=later)
    expired = later + dt.timedelta(minutes=1)
    with clock(expired):
        assert delivery.notices_sweep(now=expired)["recovered"] == 1
        assert delivery.notice_deliver(delivery_id=row.pk) == "sent"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.delivery) == ("sent", 2, "exactly_once")
    assert len(sms_sent(outboxes)) == 1


# --- what the family is told of ------------------------------------------------------------------


def test_records_asked_for_and_reviewed_and_a_moved_date_are_told(world):
    with clock(MORNING):
        documents.document_request_create(
            case=world.case_b, doc_type="cd19_flow", description="The flow report", actor=world.bob
        )
        accepted = family_upload(world, seed=2)
        documents.document_accept(document=accepted, actor=world.bob)
        rejected = family_upload(world, seed=3)
        documents.document_reject(document=rejected, actor=world.bob, reason="The name is cut off")
        ours = documents.document_create(
            case=world.case_b,
            file=io.BytesIO(b"\x00" * 128 + b"DICM" + bytes([9]) * 64),
            filename="ours.dcm",
            doc_type="imaging_study",
            actor=world.bob,
        )
        documents.document_accept(document=ours, actor=world.bob)  # not sent by the family: not told
        due = MORNING + dt.timedelta(days=10)
        milestone_upsert(case=world.case_b, key="visit", kind="other", due_at=due, title="Visit", concerns_family=True)
        milestone_upsert(
            case=world.case_b, key="visit", kind="other", due_at=due + dt.timedelta(days=2), title="Visit",
            concerns_family=True,
        )  # fmt: skip
        milestone_upsert(case=world.case_b, key="staff", kind="other", due_at=due, title="Staff only")
        milestone_upsert(case=world.case_b, key="staff", kind="other", due_at=due + dt.timedelta(days=1), title="x")
    keys = sorted(Notice.objects.filter(contact=world.contact_b).values_list("kind", "key"))
    assert [k for k, _ in keys].count("review") == 2
    assert ("review", f"review:{accepted.pk}:accepted") in keys
    assert ("review", f"review:{rejected.pk}:rejected") in keys
    assert [k for k, _ in keys].count("document_request") == 1
    assert [k for k, _ in keys].count("date_changed") == 1


def test_a_better_copy_asked_of_one_contact_tells_that_contact_only(world):
    from cases.factories import ContactFactory

    other = ContactFactory(patient=world.patient_b, name="Chen Wei", language="en", time_zone="Asia/Singapore")
    with clock(MORNING):
        uploaded = family_upload(world)
        documents.document_request_better_copy(
            document=uploaded, actor=world.bob, description="Scan it again, the edge is cut off",
            asked_contact=other,
        )  # fmt: skip
    assert list(Notice.objects.filter(kind="document_request").values_list("contact", flat=True)) == [other.pk]


# --- preferences and unsubscribe ------------------------------------------------------------------


def test_a_kind_turned_off_or_a_channel_turned_off_is_honoured(world, outboxes):
    notice_preference_update(contact=world.contact_b, actor=world.chen, on_message=False, by_sms=False)
    with clock(MORNING):
        coordinator_writes(world)
        assert not Notice.objects.exists()
        documents.document_request_create(
            case=world.case_b, doc_type="cd19_flow", description="The flow report", actor=world.bob
        )
    run_due(MORNING + dt.timedelta(minutes=5))
    assert len(mail.outbox) == 1 and sms_sent(outboxes) == []


def test_whatsapp_chosen_goes_by_whatsapp(world, outboxes):
    notice_preference_update(contact=world.contact_b, actor=world.chen, by_email=False, by_sms=False, by_whatsapp=True)
    with clock(MORNING):
        coordinator_writes(world)
    assert run_due(MORNING + dt.timedelta(minutes=5)).count("sent") == 1
    sent = sms_sent(outboxes, "whatsapp")
    assert len(sent) == 1 and sent[0]["to"] == "+6591234567"
    assert mail.outbox == [] and sms_sent(outboxes) == []


def test_the_unsubscribe_link_works_without_signing_in_and_is_honoured(world, client, outboxes):
    with clock(MORNING):
        coordinator_writes(world)
        delivery.notices_sweep(now=MORNING + dt.timedelta(minutes=5))
    url = f"/portal/notifications/stop/{unsubscribe_token(world.contact_b)}/"
    page = client.get(url)
    assert page.status_code == 200
    assert NoticePreference.objects.filter(contact=world.contact_b, unsubscribed_at__isnull=False).count() == 0
    assert client.post(url).status_code == 200
    assert NoticePreference.objects.get(contact=world.contact_b).unsubscribed_at is not None
    # What was already queued is not sent; nothing new is recorded.
    outcomes = run_due(MORNING + dt.timedelta(minutes=6))
    assert set(outcomes) == {"skipped", "not_claimed"}
    with clock(MORNING + dt.timedelta(minutes=7)):
        coordinator_writes(world, body="again")
    assert run_due(MORNING + dt.timedelta(hours=1)) == []
    assert mail.outbox == [] and sms_sent(outboxes) == []
    # A mail client's one-click unsubscribe (RFC 8058) posts without a CSRF token: still fine.
    assert client.post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200


def test_a_forged_or_altered_unsubscribe_token_is_refused(world, client):
    token = unsubscribe_token(world.contact_b)
    assert client.get(f"/portal/notifications/stop/{token}x/").status_code == 404
    assert client.post("/portal/notifications/stop/123/").status_code == 404
    assert not NoticePreference.objects.filter(unsubscribed_at__isnull=False).exists()


def test_the_family_edits_their_preference_in_the_portal(world, client):
    client.force_login(world.chen)
    prefix = f"c{world.contact_b.pk}"
    page = client.get("/portal/account/notifications/")
    assert page.status_code == 200 and f"{prefix}-quiet_start" in page.content.decode()
    data = {
        "contact": world.contact_b.pk,
        f"{prefix}-subscribed": "on",
        f"{prefix}-by_email": "on",
        f"{prefix}-on_message": "on",
        f"{prefix}-quiet_start": "22:30",
        f"{prefix}-quiet_end": "07:00",
    }
    assert client.post("/portal/account/notifications/", data).status_code == 302
    preference = NoticePreference.objects.get(contact=world.contact_b)
    assert (preference.by_email, preference.by_sms, preference.on_message, preference.on_review) == (
        True,
        False,
        True,
        False,
    )
    assert (preference.quiet_start, preference.quiet_end) == (dt.time(22, 30), dt.time(7, 0))
    # A bad time: the form says which field, nothing is saved.
    bad = client.post("/portal/account/notifications/", {**data, f"{prefix}-quiet_end": "7 o'clock"})
    assert bad.status_code == 400 and f"{prefix}-quiet_end_error" in bad.content.decode()
    assert NoticePreference.objects.get(contact=world.contact_b).quiet_end == dt.time(7, 0)
    # No way to be told while subscribed: refused on the field.
    none = client.post("/portal/account/notifications/", {k: v for k, v in data.items() if not k.endswith("by_email")})
    assert none.status_code == 400 and f"{prefix}-by_email_error" in none.content.decode()
    # Another family's contact does not exist for this family member.
    other = client.post("/portal/account/notifications/", {**data, "contact": world.contact_a.pk})
    assert other.status_code == 404


def test_the_family_turns_notifications_back_on_after_unsubscribing(world, client):
    client.post(f"/portal/notifications/stop/{unsubscribe_token(world.contact_b)}/")
    client.force_login(world.chen)
    prefix = f"c{world.contact_b.pk}"
    data = {
        "contact": world.contact_b.pk,
        f"{prefix}-subscribed": "on",
        f"{prefix}-by_email": "on",
        f"{prefix}-on_message": "on",
        f"{prefix}-quiet_start": "21:00",
        f"{prefix}-quiet_end": "08:00",
    }
    assert client.post("/portal/account/notifications/", data).status_code == 302
    assert NoticePreference.objects.get(contact=world.contact_b).unsubscribed_at is None


def test_a_coordinator_edits_a_contacts_preference_in_the_admin(world, client):
    from navigator.testing import admin_form_data

    client.force_login(world.bob)
    added = client.post(
        "/admin/notifications/noticepreference/add/",
        {"contact": world.contact_b.pk, "subscribed": "on", "by_sms": "on", "on_message": "on",
         "quiet_start": "20:00", "quiet_end": "09:00"},
    )  # fmt: skip
    assert added.status_code == 302, added.content.decode()[:2000]
    preference = NoticePreference.objects.get(contact=world.contact_b)
    assert (preference.by_email, preference.by_sms, preference.quiet_start) == (False, True, dt.time(20))
    form = client.get(f"/admin/notifications/noticepreference/{preference.pk}/change/")
    data = admin_form_data(form)
    data.pop("subscribed", None)
    assert client.post(f"/admin/notifications/noticepreference/{preference.pk}/change/", data).status_code == 302
    assert NoticePreference.objects.get(pk=preference.pk).unsubscribed_at is not None


# --- failures are visible and never swallowed ----------------------------------------------------


def test_a_delivery_refused_for_good_fails_at_once_and_opens_a_coordinator_task(
    world, settings, django_capture_on_commit_callbacks, caplog
):
    settings.SMS_BACKEND = "notifications.tests.backends.RefusingSMSBackend"
    with clock(MORNING):
        coordinator_writes(world)
    later = MORNING + dt.timedelta(minutes=5)
    with clock(later):
        delivery.notices_sweep(now=later)
        row = NoticeDelivery.objects.get(channel="sms")
        with django_capture_on_commit_callbacks() as callbacks:
            assert delivery.notice_deliver(delivery_id=row.pk) == "failed"
    assert callbacks  # the coordinator task is queued through the outbox
    row.refresh_from_db()
    assert row.status == "failed" and "not a mobile number" in row.last_error and row.attempts == 1
    assert "notice delivery failed" in caplog.text
    assert notice_failure_task_open(delivery_id=row.pk) is True
    assert notice_failure_task_open(delivery_id=row.pk) is False  # once
    task = CoordinatorTask.objects.get(case=world.case_b, key__startswith="notice-failed:")
    assert task.assignee == world.bob and "SMS" in task.title
    # Fixed and sent again from the admin.
    settings.SMS_BACKEND = "notifications.sms.FileSMSBackend"
    client_admin = __import__("django.test", fromlist=["Client"]).Client()
    client_admin.force_login(world.bob)
    response = client_admin.post(
        "/admin/notifications/noticedelivery/", {"action": "send_again", "_selected_action": [row.pk]}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == "queued" and row.attempts == 0
    with clock(later):
        assert delivery.notice_deliver(delivery_id=row.pk) == "sent"


def test_a_temporary_failure_is_retried_then_marked_failed_after_the_last_attempt(world, settings):
    settings.SMS_BACKEND = "notifications.tests.backends.UnavailableSMSBackend"
    settings.NOTICE_MAX_ATTEMPTS = 3
    with clock(MORNING):
        coordinator_writes(world)
    later = MORNING + dt.timedelta(minutes=5)
    with clock(later):
        delivery.notices_sweep(now=later)
        row = NoticeDelivery.objects.get(channel="sms")
        outcomes = [delivery.notice_deliver(delivery_id=row.pk) for _ in range(3)]
    assert outcomes == ["retry", "retry", "failed"]
    row.refresh_from_db()
    assert row.status == "failed" and row.attempts == 3


def test_the_failed_deliveries_admin_lists_them_for_a_coordinator(world, client):
    with clock(MORNING):
        coordinator_writes(world)
        delivery.notices_sweep(now=MORNING + dt.timedelta(minutes=5))
    NoticeDelivery.objects.filter(channel="sms").update(status="failed", last_error="SMSError: provider down")
    client.force_login(world.alice)
    page = client.get("/admin/notifications/noticedelivery/?status__exact=failed")
    assert page.status_code == 200 and "provider down" in page.content.decode()
    client.force_login(world.chen)
    assert client.get("/admin/notifications/noticedelivery/").status_code == 302  # families: no admin


def test_delivery_lists_keep_a_constant_number_of_queries(world, client, django_assert_max_num_queries):
    client.force_login(world.alice)

    def make(n):
        for i in range(n):
            with clock(MORNING + dt.timedelta(hours=i)):
                coordinator_writes(world, body=f"m{i}")
            delivery.notices_sweep(now=MORNING + dt.timedelta(hours=i, minutes=6))

    make(2)
    with django_assert_max_num_queries(20) as small:
        client.get("/admin/notifications/noticedelivery/")
    make(10)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get("/admin/notifications/noticedelivery/")
