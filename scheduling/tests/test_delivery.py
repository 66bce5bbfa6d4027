import datetime as dt
import json

import pytest
from django.core import mail
from django.db import connection
from django.utils import formats, timezone

from scheduling import delivery
from scheduling.models import CoordinatorTask, Milestone, Reminder
from scheduling.services import milestone_complete, milestone_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_dir(settings, tmp_path):
    settings.SMS_BACKEND = "notifications.sms.FileSMSBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    return tmp_path / "sms"


def _due_milestone(world, hours=1):
    """A milestone whose on-the-day reminders are due now (the family's and the coordinator's)."""
    return milestone_upsert(
        case=world.case_b,
        key="k",
        kind="other",
        due_at=timezone.now() + dt.timedelta(hours=hours),
        title="Bring the passport",
        concerns_family=True,
    ).milestone


def _make_due(milestone):
    Reminder.objects.filter(milestone=milestone).update(send_at=timezone.now() - dt.timedelta(minutes=1))


def test_the_sweep_claims_each_due_reminder_once(world, sms_dir, django_capture_on_commit_callbacks):
    m = _due_milestone(world)
    _make_due(m)
    n = Reminder.objects.filter(milestone=m).count()
    assert n >= 3  # coordinator email, family email, family SMS
    with django_capture_on_commit_callbacks() as callbacks:
        first = delivery.reminders_sweep()
        second = delivery.reminders_sweep()
    assert first["claimed"] == n and second["claimed"] == 0
    assert len(callbacks) == 1
    assert set(Reminder.objects.values_list("status", flat=True)) == {"queued"}


def test_a_reminder_is_delivered_once_however_often_its_task_runs(world, sms_dir):
    m = _due_milestone(world)
    _make_due(m)
    delivery.reminders_sweep()
    outcomes = [delivery.reminder_deliver(reminder_id=r.pk) for r in Reminder.objects.all() for _ in range(3)]
    assert outcomes.count("sent") == Reminder.objects.count()
    assert set(outcomes) == {"sent", "not_claimed"}
    sms = list(sms_dir.glob("*.json"))
    assert len(sms) == 1
    message = json.loads(sms[0].read_text())
    assert message["to"] == "+6591234567"
    # The SMS is in the contact's language and names the patient by given name only: no
    # family name, no native-script name, no free text (the title stays with staff).
    body = message["body"]
    assert "定于" in body and "Xiaoming" in body
    assert "陈" not in body and "Chen" not in body and "Bring the passport" not in body
    assert len(mail.outbox) == 2


def test_family_messages_are_in_the_contacts_language(world, sms_dir):
    m = _due_milestone(world)
    _make_due(m)
    delivery.reminders_sweep()
    for r in Reminder.objects.all():
        delivery.reminder_deliver(reminder_id=r.pk)
    family_mail = next(e for e in mail.outbox if e.to == [world.contact_b.email])
    assert "提醒" in family_mail.subject
    coordinator_mail = next(e for e in mail.outbox if e.to == [world.bob.email])
    assert coordinator_mail.subject.startswith("Reminder")
    assert "Bring the passport" in coordinator_mail.body
    assert "Bring the passport" not in family_mail.body  # free text stays with staff
    assert "Asia/Singapore" in family_mail.body


def test_a_reminder_of_a_finished_milestone_is_skipped(world, sms_dir):
    m = _due_milestone(world)
    _make_due(m)
    delivery.reminders_sweep()
    Milestone.objects.filter(pk=m.pk).update(status="done")
    assert {delivery.reminder_deliver(reminder_id=r.pk) for r in Reminder.objects.all()} == {"skipped"}
    assert not mail.outbox and not list(sms_dir.glob("*.json"))


def test_completing_a_milestone_cancels_its_pending_reminders(world, sms_dir):
    m = milestone_upsert(
        case=world.case_b, key="k", kind="other", due_at=timezone.now() + dt.timedelta(days=5), title="T"
    ).milestone
    milestone_complete(milestone=m)
    assert set(Reminder.objects.values_list("status", flat=True)) == {"cancelled"}


def test_a_failing_provider_is_retried_then_the_reminder_is_marked_failed(world, settings, monkeypatch, tmp_path):
    settings.SMS_BACKEND = "notifications.tests.backends.FailingSMSBackend"
    settings.SMS_FILE_PATH = str(tmp_path)
    settings.REMINDER_MAX_ATTEMPTS = 3
    monkeypatch.setenv("SMS_TEST_FAILURES", "1000")
    m = _due_milestone(world)
    _make_due(m)
    Reminder.objects.exclude(channel="sms").delete()
    delivery.reminders_sweep()
    r = Reminder.objects.get()
    before = timezone.now()
    assert delivery.reminder_deliver(reminder_id=r.pk) == "retry"
    r.refresh_from_db()
    assert (r.status, r.attempts) == ("queued", 1) and "provider unavailable" in r.last_error
    # The next attempt is due after the first backoff step (30 s, less up to 20 % jitter).
    assert 24 - 1 <= (r.claimed_at - before).total_seconds() <= 30 + 1
    assert delivery.reminder_deliver(reminder_id=r.pk) == "retry"
    r.refresh_from_db()
    assert 48 - 1 <= (r.claimed_at - before).total_seconds() <= 60 + 1
    assert delivery.reminder_deliver(reminder_id=r.pk) == "failed"
    r.refresh_from_db()
    assert r.status == "failed" and r.attempts == 3
    # The coordinator sees it in their task list, not only in a log.
    [task] = CoordinatorTask.objects.filter(key__startswith=f"reminder-failed:{r.pk}:")
    assert task.assignee == world.case_b.coordinator and task.priority == CoordinatorTask.Priority.HIGH
    assert task.milestone == m and "provider unavailable" in task.detail and "Bring the passport" in task.title
    assert delivery.reminder_deliver(reminder_id=r.pk) == "not_claimed"
    assert delivery.reminder_retry_failed(reminder=r, actor=world.bob)
    r.refresh_from_db()
    assert r.status == "pending" and r.attempts == 0
    # Sent again and failing again: a second task, not a silently reused one.
    delivery.reminders_sweep(now=timezone.now() + dt.timedelta(seconds=1))
    for _ in range(3):
        outcome = delivery.reminder_deliver(reminder_id=r.pk)
    assert outcome == "failed"
    assert CoordinatorTask.objects.filter(key__startswith=f"reminder-failed:{r.pk}:").count() == 2


def test_the_retry_backoff_doubles_from_30_seconds_to_an_hour_and_lasts_hours_in_all():
    from scheduling import conf

    waits = [delivery.retry_countdown(n, jitter=0) for n in range(1, conf.max_attempts())]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert delivery.retry_countdown(30, jitter=0) == 3600
    # A provider outage of a few hours is ridden out before the reminder is marked failed.
    shortest = sum(delivery.retry_countdown(n, jitter=1) for n in range(1, conf.max_attempts()))
    assert 3 * 3600 < shortest < sum(waits) < 4.1 * 3600


def test_the_retry_waits_are_jittered_within_a_fifth_of_the_step():
    for attempts, step in ((1, 30), (5, 480), (12, 3600)):
        samples = [delivery.retry_countdown(attempts) for _ in range(200)]
        assert all(0.8 * step <= s <= step for s in samples)
        assert len({round(s, 3) for s in samples}) > 150  # spread, not one value


def test_the_backoff_is_configurable(settings):
    settings.REMINDER_RETRY_BASE_SECONDS = 10
    settings.REMINDER_RETRY_MAX_SECONDS = 45
    assert [delivery.retry_countdown(n, jitter=0) for n in (1, 2, 3, 4)] == [10, 20, 40, 45]


def test_a_long_backoff_is_not_cut_short_by_the_sweep_but_a_lost_retry_is_recovered(
    world, settings, monkeypatch, tmp_path
):
    from scheduling import conf

    settings.SMS_BACKEND = "notifications.tests.backends.FailingSMSBackend"
    settings.SMS_FILE_PATH = str(tmp_path)
    monkeypatch.setenv("SMS_TEST_FAILURES", "1000")
    m = _due_milestone(world)
    _make_due(m)
    Reminder.objects.exclude(channel="sms").delete()
    delivery.reminders_sweep()
    r = Reminder.objects.get()
    Reminder.objects.filter(pk=r.pk).update(attempts=6)  # five failures before: the next wait is 32 min
    before = timezone.now()
    assert delivery.reminder_deliver(reminder_id=r.pk) == "retry"
    r.refresh_from_db()
    wait = (r.claimed_at - before).total_seconds()
    assert 0.8 * 1920 - 1 <= wait <= 1920 + 1
    # The sweep runs every minute; REMINDER_REQUEUE_SECONDS (15 min) later the retry is not lost, only waiting.
    later = before + dt.timedelta(seconds=conf.requeue_after_seconds() + 60)
    assert delivery.reminders_sweep(now=later)["requeued"] == 0
    # Its message really lost: the sweep sends it again once it is overdue by that margin.
    lost = r.claimed_at + dt.timedelta(seconds=conf.requeue_after_seconds() + 1)
    assert delivery.reminders_sweep(now=lost)["requeued"] == 1


def test_the_task_waits_until_the_retry_is_due(world, settings, monkeypatch, tmp_path):
    from celery.exceptions import Retry

    from scheduling.tasks import reminder_send

    settings.SMS_BACKEND = "notifications.tests.backends.FailingSMSBackend"
    settings.SMS_FILE_PATH = str(tmp_path)
    monkeypatch.setenv("SMS_TEST_FAILURES", "1000")
    m = _due_milestone(world)
    _make_due(m)
    Reminder.objects.exclude(channel="sms").delete()
    delivery.reminders_sweep()
    r = Reminder.objects.get()
    Reminder.objects.filter(pk=r.pk).update(attempts=3)
    asked = {}

    def retry(**kwargs):
        asked.update(kwargs)
        return Retry("retry", when=kwargs.get("countdown"))

    monkeypatch.setattr(reminder_send, "retry", retry)
    with pytest.raises(Retry):
        reminder_send.run(r.pk)
    r.refresh_from_db()
    assert r.attempts == 4 and r.status == "queued"
    assert 0.8 * 240 - 2 <= asked["countdown"] <= 240
    assert abs((r.claimed_at - timezone.now()).total_seconds() - asked["countdown"]) < 2


def test_a_stale_sending_lease_is_handed_back_to_the_queue(world, sms_dir, settings):
    m = _due_milestone(world)
    _make_due(m)
    delivery.reminders_sweep()
    r = Reminder.objects.first()
    # A worker took it and died: 'sending' with a lease that has run out.
    Reminder.objects.filter(pk=r.pk).update(
        status="sending", attempts=1, lease_until=timezone.now() - dt.timedelta(seconds=1)
    )
    result = delivery.reminders_sweep()
    assert result["recovered"] == 1
    assert delivery.reminder_deliver(reminder_id=r.pk) == "sent"
    r.refresh_from_db()
    assert r.attempts == 2


def test_a_worker_that_lost_its_lease_cannot_overwrite_the_result(world, sms_dir):
    m = _due_milestone(world)
    _make_due(m)
    delivery.reminders_sweep()
    r = Reminder.objects.first()
    Reminder.objects.filter(pk=r.pk).update(status="sending", attempts=2)
    assert not delivery._finish(r.pk, 1, status="failed")  # attempt 1's worker is late
    r.refresh_from_db()
    assert r.status == "sending"


def test_the_due_query_walks_the_partial_index(world):
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        qs = Reminder.objects.filter(status="pending", send_at__lte=timezone.now()).order_by("send_at")
        sql, params = qs.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "reminder_pending_send_at" in plan


def test_a_pathway_date_reads_as_the_centres_day_not_a_night_hour_in_the_familys_zone(world, sms_dir):
    from scheduling.services import event_record

    contact = world.contact_a
    contact.time_zone, contact.language = "America/New_York", "en"
    contact.save()
    d0 = timezone.localdate() + dt.timedelta(days=3)
    event_record(case=world.case_a, kind="infusion", occurred_on=d0, actor=world.alice, hospital=world.pkuph)
    m = Milestone.objects.get(case=world.case_a, key="pathway:infusion")
    # 09:00 in Beijing is the evening before in New York: the message still names the centre's day.
    assert m.due_at.astimezone(dt.timezone(dt.timedelta(hours=-4))).date() < d0
    Reminder.objects.filter(milestone=m).exclude(audience="family").delete()
    for i, r in enumerate(Reminder.objects.filter(milestone=m)):  # every slot due now, each at its own minute
        Reminder.objects.filter(pk=r.pk).update(send_at=timezone.now() - dt.timedelta(minutes=1 + i))
    delivery.reminders_sweep()
    for r in Reminder.objects.filter(milestone=m):
        assert delivery.reminder_deliver(reminder_id=r.pk) == "sent"
    family_mails = [e for e in mail.outbox if e.to == [contact.email]]
    shown = formats.date_format(d0, "DATE_FORMAT")  # en: "Nov. 28, 2026"
    assert family_mails and all(shown in e.body and "America/New_York" not in e.body for e in family_mails)
    sms = [json.loads(p.read_text()) for p in sms_dir.glob("*.json")]
    assert sms and all(shown in s["body"] and "p.m." not in s["body"] for s in sms)


def test_a_reminder_to_a_centre_whose_referral_was_withdrawn_is_not_sent(world, sms_dir):
    from hospitals.models import Referral

    m = milestone_upsert(
        case=world.case_a,
        key="centre-check",
        kind="other",
        due_at=timezone.now() + dt.timedelta(hours=1),
        title="Marrow aspirate at PKUPH",
        hospital=world.pkuph,
    ).milestone
    world.dr_li.email = "li@pkuph.example.cn"
    world.dr_li.save()
    Reminder.objects.all().delete()
    planned = {"milestone": m, "slot": "0d", "audience": "hospital", "channel": "email", "user": world.dr_li}
    r = Reminder.objects.create(recipient=f"user:{world.dr_li.pk}", send_at=timezone.now(), **planned)
    Referral.objects.filter(pk=world.referral_a.pk).update(
        status=Referral.Status.WITHDRAWN, withdraw_reason="Family chose another centre"
    )
    delivery.reminders_sweep()
    assert delivery.reminder_deliver(reminder_id=r.pk) == "skipped"
    r.refresh_from_db()
    assert r.status == "skipped" and "no longer see the case" in r.last_error
    assert not mail.outbox
    # While the referral is shared (declined included), the centre is reminded.
    Referral.objects.filter(pk=world.referral_a.pk).update(
        status=Referral.Status.DECLINED, decline_reason="CD19-negative relapse"
    )
    Reminder.objects.filter(pk=r.pk).update(status="queued", claimed_at=timezone.now())
    assert delivery.reminder_deliver(reminder_id=r.pk) == "sent"
    assert mail.outbox[0].to == ["li@pkuph.example.cn"]


def test_the_stay_near_the_centre_is_announced_as_a_period_not_as_due(world, sms_dir):
    m = milestone_upsert(
        case=world.case_b,
        key="pathway:stay_near_centre",
        kind="stay_near_centre",
        due_at=timezone.now() + dt.timedelta(days=7, hours=1),
        title="Stay near the treating centre until at least this day (4 weeks after infusion)",
        concerns_family=True,
    ).milestone
    _make_due(m)
    delivery.reminders_sweep()
    for r in Reminder.objects.filter(milestone=m):
        delivery.reminder_deliver(reminder_id=r.pk)
    coordinator_mail = next(e for e in mail.outbox if e.to == [world.bob.email])
    assert "stays near the treating centre until at least" in coordinator_mail.body
    assert "is due on" not in coordinator_mail.body
    family_mail = next(e for e in mail.outbox if e.to == [world.contact_b.email])
    assert "至少在" in family_mail.body


@pytest.mark.parametrize(
    "language, label",
    [("ru", "Оценка МОБ на 28-й день"), ("zh-hans", "第28天 MRD 评估"), ("en", "Day-28 MRD assessment")],
)
def test_a_familys_reminder_names_the_milestone_in_the_familys_language(world, sms_dir, language, label):
    from scheduling.services import event_record

    contact = world.contact_a
    contact.language = language
    contact.save()
    d0 = timezone.localdate() - dt.timedelta(days=20)
    event_record(case=world.case_a, kind="infusion", occurred_on=d0, actor=world.alice, hospital=world.pkuph)
    m = Milestone.objects.get(case=world.case_a, key="pathway:mrd_day28")
    family = Reminder.objects.filter(milestone=m, audience="family")
    assert family.exists() and {r.language for r in family} == {language}
    for i, r in enumerate(family):
        Reminder.objects.filter(pk=r.pk).update(send_at=timezone.now() - dt.timedelta(minutes=1 + i))
    delivery.reminders_sweep()
    for r in family:
        assert delivery.reminder_deliver(reminder_id=r.pk) == "sent"
    mails = [e for e in mail.outbox if e.to == [contact.email]]
    sms = [json.loads(p.read_text())["body"] for p in sms_dir.glob("*.json")]
    assert mails or sms
    for text in [f"{e.subject}\n{e.body}" for e in mails] + sms:
        assert label in text, text
