"""The home haematologist is reminded of each follow-up visit: in their language, at a sensible
hour in their zone, with the link to their page, through the same reminders as the family
(claimed by the sweep, sent once, a failure opening the coordinator's task); not without a usable
link, not after it is revoked, not once the case is closed."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cases.models import Case
from cases.services import case_transition
from followup.services import (
    followup_reminders_sync,
    haematologist_save,
    handback_create,
    link_issue,
    link_revoke,
    link_token,
)
from scheduling import delivery
from scheduling.models import CoordinatorTask, Milestone, Reminder
from scheduling.reminders import reminders_sync

from .conftest import discharge

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_dir(settings, tmp_path):
    settings.SMS_BACKEND = "notifications.sms.FileSMSBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    return tmp_path / "sms"


@pytest.fixture
def handed_back(treated, world):
    handback_create(case=treated, actor=world.alice, discharge=discharge())
    link, token = link_issue(haematologist=treated.home_haematologist_contact, actor=world.alice)
    return link, token


def home_reminders(**filters):
    return Reminder.objects.filter(audience=Reminder.Audience.HOME_HAEMATOLOGIST, **filters)


def make_due(reminders) -> None:
    """Due now, each a second apart (one recipient never has two reminders at the same moment)."""
    now = timezone.now()
    for n, pk in enumerate(reminders.order_by("pk").values_list("pk", flat=True)):
        Reminder.objects.filter(pk=pk).update(send_at=now - dt.timedelta(minutes=1, seconds=n))


def month3(case) -> Milestone:
    return Milestone.objects.get(case=case, key="followup:m3")


def test_each_visit_is_reminded_to_the_home_haematologist_in_their_language_and_zone(handed_back, treated):
    visit = month3(treated)
    rows = list(home_reminders(milestone=visit))
    # Dr Tan (Singapore, reads Chinese, email only): the day before and on the day of the visit.
    assert {(r.channel, r.language, r.time_zone, r.slot) for r in rows} == {
        ("email", "zh-hans", "Asia/Singapore", "-1d"),
        ("email", "zh-hans", "Asia/Singapore", "on the day"),
    }
    assert {r.recipient for r in rows} == {f"home:{treated.home_haematologist_contact.pk}"}
    # The visit is due 09:00 at the treating centre (Shanghai), 09:00 in Singapore too.
    day = visit.due_at.astimezone(ZoneInfo("Asia/Singapore")).date()
    local = sorted(r.send_at.astimezone(ZoneInfo("Asia/Singapore")) for r in rows)
    assert [(t.date(), t.time()) for t in local] == [(day - dt.timedelta(days=1), dt.time(9)), (day, dt.time(9))]
    # Every follow-up visit ahead that their link covers has them (the others wait for a new
    # link: link_renewal_plan); the family's reminders are unchanged.
    link, _token = handed_back
    ahead = Milestone.objects.open().filter(
        case=treated, key__startswith="followup:", due_at__gt=timezone.now(), due_at__lte=link.expires_at
    )
    assert ahead.exists()
    assert set(home_reminders().values_list("milestone_id", flat=True)) == set(ahead.values_list("pk", flat=True))
    assert Reminder.objects.filter(milestone=visit, audience="family").exists()


def test_a_change_of_language_zone_or_phone_moves_their_unsent_reminders(handed_back, treated, world):
    haematologist_save(
        case=treated,
        actor=world.alice,
        name="Dr Petrova",
        email="petrova@hospital.example",
        phone="+79123456789",
        language="ru",
        time_zone="Europe/Moscow",
    )
    visit = month3(treated)
    rows = list(home_reminders(milestone=visit))
    assert {(r.channel, r.language, r.time_zone) for r in rows} == {
        ("email", "ru", "Europe/Moscow"),
        ("sms", "ru", "Europe/Moscow"),
    }
    # 09:00 in Shanghai is 04:00 in Moscow: the day-before reminder waits for 09:00 local, and the
    # one "on the day" would come after the visit itself, so it comes at 19:00 the evening before.
    moscow = ZoneInfo("Europe/Moscow")
    day = visit.due_at.astimezone(moscow).date()
    assert visit.due_at.astimezone(moscow).time() == dt.time(4)
    times = {(r.slot, r.send_at.astimezone(moscow)) for r in rows if r.channel == "email"}
    assert times == {
        ("-1d", dt.datetime.combine(day - dt.timedelta(days=1), dt.time(9), tzinfo=moscow)),
        ("on the day", dt.datetime.combine(day - dt.timedelta(days=1), dt.time(19), tzinfo=moscow)),
    }
    for r in home_reminders():
        local = r.send_at.astimezone(moscow).time()
        assert dt.time(9) <= local < dt.time(20)


def test_no_reminders_without_a_usable_link_and_none_after_it_is_revoked(treated, world):
    handback_create(case=treated, actor=world.alice, discharge=discharge())
    assert not home_reminders().exists()  # no link issued yet: nothing to send them to
    link, _token = link_issue(haematologist=treated.home_haematologist_contact, actor=world.alice, days=366)
    assert home_reminders(status="pending").count() > 10
    link_revoke(link=link, actor=world.alice)
    assert not home_reminders(status="pending").exists()
    assert Reminder.objects.filter(milestone__case=treated, audience="family", status="pending").exists()
    # A new link brings them back.
    link_issue(haematologist=treated.home_haematologist_contact, actor=world.alice, days=366)
    assert home_reminders(status="pending").count() > 10


def test_a_reminder_claimed_before_the_link_was_revoked_is_skipped_not_sent(handed_back, treated, world, sms_dir):
    link, _token = handed_back
    visit = month3(treated)
    make_due(home_reminders(milestone=visit))
    delivery.reminders_sweep()
    claimed = list(home_reminders(milestone=visit, status="queued"))
    assert claimed
    link_revoke(link=link, actor=world.alice)
    assert {delivery.reminder_deliver(reminder_id=r.pk) for r in claimed} == {"skipped"}
    assert all("link" in r.last_error for r in home_reminders(pk__in=[r.pk for r in claimed]))
    assert not [m for m in mail.outbox if m.to == ["tan@sgh.example"]]


def test_an_expired_link_stops_them_at_send_time(handed_back, treated, sms_dir):
    link, _token = handed_back
    visit = month3(treated)
    make_due(home_reminders(milestone=visit))
    delivery.reminders_sweep()
    type(link).objects.filter(pk=link.pk).update(
        created_at=timezone.now() - dt.timedelta(days=2), expires_at=timezone.now() - dt.timedelta(days=1)
    )
    assert {delivery.reminder_deliver(reminder_id=r.pk) for r in home_reminders(milestone=visit)} == {"skipped"}
    # The coordinator is told once (per link), so a new link can be issued.
    tasks = CoordinatorTask.objects.filter(case=visit.case, key=f"followup:link-expired:{link.pk}")
    assert tasks.count() == 1 and "new link" in tasks.get().title
    assert tasks.get().assignee_id == visit.case.coordinator_id


def test_a_revoked_link_stops_them_without_a_task(handed_back, treated, world, sms_dir):
    # Revoking is the coordinator's own act: nothing to tell them.
    link, _token = handed_back
    visit = month3(treated)
    make_due(home_reminders(milestone=visit))
    delivery.reminders_sweep()
    claimed = list(home_reminders(milestone=visit))
    link_revoke(link=link, actor=world.alice)
    assert {delivery.reminder_deliver(reminder_id=r.pk) for r in claimed} == {"skipped"}
    assert not CoordinatorTask.objects.filter(key__startswith="followup:link-expired:").exists()


def test_closing_the_case_stops_them(handed_back, treated, world):
    assert home_reminders(status="pending").exists()
    Case.objects.filter(pk=treated.pk).update(status="follow_up")
    case_transition(case=Case.objects.get(pk=treated.pk), to_status="closed", actor=world.alice, reason="Discharged")
    assert home_reminders().exists()
    assert set(home_reminders().values_list("status", flat=True)) == {"cancelled"}


def test_their_reminder_is_delivered_once_in_their_language_with_the_link_to_their_page(
    handed_back, treated, world, sms_dir, client, django_capture_on_commit_callbacks
):
    _link, token = handed_back
    haematologist_save(
        case=treated,
        actor=world.alice,
        name="Dr Tan",
        centre="Singapore General",
        email="tan@sgh.example",
        phone="+6591110000",
        language="zh-hans",
        time_zone="Asia/Singapore",
    )
    visit = month3(treated)
    make_due(Reminder.objects.filter(milestone=visit))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        swept = delivery.reminders_sweep()
    assert swept["claimed"] >= Reminder.objects.filter(milestone=visit).count()
    assert set(Reminder.objects.filter(milestone=visit).values_list("status", flat=True)) == {"queued"}
    assert callbacks  # the sends are enqueued after the commit, through the outbox
    mine = list(home_reminders(milestone=visit))
    outcomes = [delivery.reminder_deliver(reminder_id=r.pk) for r in mine for _ in range(2)]
    assert outcomes.count("sent") == len(mine) == 4 and set(outcomes) == {"sent", "not_claimed"}

    emails = [m for m in mail.outbox if m.to == ["tan@sgh.example"]]
    assert len(emails) == 2  # the day before and on the day, each once
    email = emails[0]
    assert "随访" in email.subject and treated.reference in email.subject
    body = email.body
    assert "Dr Tan" in body and "血常规" in body  # the checks of the visit, in Chinese
    assert "EBMT/JACIE" in body  # the source each check comes from
    assert "临床决策由您作出" in body  # a plan, not an instruction; nothing promised
    url = next(line for line in body.splitlines() if "/home/" in line).strip()
    assert url.endswith(f"/home/{token}/")
    page = client.get(urlsplit(url).path)
    assert page.status_code == 200 and 'lang="zh-hans"' in page.content.decode()

    sms = [json.loads(p.read_text()) for p in sms_dir.glob("*.json")]
    to_doctor = [s for s in sms if s["to"] == "+6591110000"]
    assert len(to_doctor) == 2
    assert "随访" in to_doctor[0]["body"] and "/home/" not in to_doctor[0]["body"]  # no link by SMS


def test_their_page_link_is_derived_again_only_with_the_site_key(handed_back, settings):
    link, token = handed_back
    assert link_token(link) == token
    issued_with = settings.SECRET_KEY
    settings.SECRET_KEY = "another-key-entirely-" + "x" * 40
    assert link_token(link) is None  # the database alone does not give the link away
    settings.SECRET_KEY_FALLBACKS = [issued_with]  # a rotated key still serves the links it issued
    assert link_token(link) == token


def test_a_reminder_that_cannot_be_delivered_becomes_the_coordinators_task(
    handed_back, treated, world, settings, monkeypatch, tmp_path
):
    settings.SMS_BACKEND = "notifications.tests.backends.FailingSMSBackend"
    settings.SMS_FILE_PATH = str(tmp_path)
    settings.REMINDER_MAX_ATTEMPTS = 1
    monkeypatch.setenv("SMS_TEST_FAILURES", "1000")
    haematologist_save(case=treated, actor=world.alice, name="Dr Tan", email="tan@sgh.example", phone="+6591110000")
    visit = month3(treated)
    make_due(home_reminders(milestone=visit, channel="sms"))
    delivery.reminders_sweep()
    r = home_reminders(milestone=visit, channel="sms", status="queued").first()
    assert delivery.reminder_deliver(reminder_id=r.pk) == "failed"
    task = CoordinatorTask.objects.get(case=treated, key__startswith=f"reminder-failed:{r.pk}:")
    assert "home haematologist" in task.detail


def test_one_reminder_per_visit_recipient_channel_and_slot(handed_back, treated):
    visit = month3(treated)
    assert reminders_sync(milestone=visit) == {"created": 0, "moved": 0, "removed": 0}
    row = home_reminders(milestone=visit).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        Reminder.objects.create(
            milestone=visit,
            recipient=row.recipient,
            channel=row.channel,
            slot=row.slot,
            audience=row.audience,
            send_at=row.send_at + dt.timedelta(hours=1),
        )


def test_the_coordinator_sets_their_language_and_zone_in_the_admin_and_the_reminders_follow(
    handed_back, treated, world, client
):
    client.force_login(world.alice)
    contact = treated.home_haematologist_contact
    url = f"/admin/followup/homehaematologist/{contact.pk}/change/"
    form = client.get(url)
    assert form.status_code == 200
    body = form.content.decode()
    assert '<option value="Europe/Moscow">' in body and '<option value="ar">' in body  # picked, not typed
    data = {
        "case": treated.pk,
        "name": "Dr Tan",
        "centre": "Singapore General",
        "email": "tan@sgh.example",
        "phone": "",
        "language": "ar",
        "time_zone": "Asia/Dubai",
        "receives_reminders": "on",
        "links-TOTAL_FORMS": "1",
        "links-INITIAL_FORMS": "1",
        "links-MIN_NUM_FORMS": "0",
        "links-MAX_NUM_FORMS": "1000",
        "links-0-id": str(handed_back[0].pk),
        "links-0-haematologist": str(contact.pk),
    }
    assert client.post(url, data).status_code == 302
    assert {(r.language, r.time_zone) for r in home_reminders(status="pending")} == {("ar", "Asia/Dubai")}
    bad = client.post(url, {**data, "language": "es"})
    assert bad.status_code == 200 and "not one of the available choices" in bad.content.decode()
    data.pop("receives_reminders")  # unticked: no longer reminded
    assert client.post(url, data).status_code == 302
    assert not home_reminders(status="pending").exists()


def test_a_link_issued_before_tokens_were_derived_is_not_repeated_in_the_reminder(handed_back, treated, sms_dir):
    link, _token = handed_back
    type(link).objects.filter(pk=link.pk).update(nonce="")  # as for links issued before this change
    haematologist = treated.home_haematologist_contact
    type(haematologist).objects.filter(pk=haematologist.pk).update(language="en")
    visit = month3(treated)
    reminders_sync(milestone=visit)
    make_due(home_reminders(milestone=visit))
    delivery.reminders_sweep()
    for r in home_reminders(milestone=visit):
        assert delivery.reminder_deliver(reminder_id=r.pk) == "sent"
    body = next(m.body for m in mail.outbox if m.to == ["tan@sgh.example"])
    assert "/home/" not in body and "Please use the link the coordinator sent you" in body
    assert "Blood counts" in body and "Sources: EBMT/JACIE" in body


def test_a_new_language_alone_reaches_their_unsent_reminders(handed_back, treated, world):
    # Same zone offset, same instants: only the language changes.
    haematologist_save(
        case=treated,
        actor=world.alice,
        name="Dr Tan",
        email="tan@sgh.example",
        language="ar",
        time_zone="Asia/Singapore",
    )
    assert {r.language for r in home_reminders(status="pending")} == {"ar"}


def test_the_familys_reminder_of_a_visit_names_it_and_gives_its_date_not_a_clock_time(
    handed_back, treated, world, sms_dir
):
    """Dates of the pathway are dates (pathway.md): a visit is a day. 09:00 at the centre is the
    evening before in New York, so a clock time converted to the family's zone named the wrong day."""
    import re

    from django.utils import formats, translation

    contact = world.contact_b
    contact.time_zone, contact.language = "America/New_York", "ru"
    contact.save()
    visit = month3(treated)
    reminders_sync(milestone=visit)
    family = Reminder.objects.filter(milestone=visit, audience=Reminder.Audience.FAMILY)
    assert family.exists()
    make_due(family)
    delivery.reminders_sweep()
    for r in family:
        assert delivery.reminder_deliver(reminder_id=r.pk) == "sent"
    day = visit.due_at.astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert visit.due_at.astimezone(ZoneInfo("America/New_York")).date() < day
    with translation.override("ru"):
        shown = formats.date_format(day, "DATE_FORMAT")
    mails = [e for e in mail.outbox if e.to == [contact.email]]
    texts = [f"{e.subject}\n{e.body}" for e in mails]
    texts += [json.loads(p.read_text())["body"] for p in sms_dir.glob("*.json")] if sms_dir.exists() else []
    assert texts
    for text in texts:
        assert shown in text and "Контрольный визит по месту жительства" in text, text
        assert "Приём или срок" not in text and not re.search(r"\b\d{1,2}:\d{2}\b", text), text


def renewal_tasks(case, **filters):
    return CoordinatorTask.objects.filter(case=case, key__startswith="followup:link-renew:", **filters)


def test_visits_after_the_link_ends_wait_for_a_new_link_and_the_coordinator_is_asked_in_time(
    handed_back, treated, world
):
    """A link lasts HOME_LINK_DAYS (90); the visits run for two years. The home haematologist is
    reminded only of the visits their link covers (a reminder would lead to a closed page); the
    coordinator gets a task due two weeks before the link ends, naming the first visit after it."""
    from followup.services import RENEW_DAYS_BEFORE

    link, _token = handed_back
    visits = Milestone.objects.open().filter(case=treated, key__startswith="followup:").order_by("due_at")
    covered = {m.pk for m in visits if m.due_at <= link.expires_at}
    after = [m for m in visits if m.due_at > link.expires_at]
    assert covered and after
    assert set(home_reminders().values_list("milestone_id", flat=True)) == {
        m.pk for m in visits if m.pk in covered and m.due_at > timezone.now()
    }
    [task] = renewal_tasks(treated, status="open")
    assert task.milestone == after[0] and task.assignee == treated.coordinator
    assert task.due_at == link.expires_at - dt.timedelta(days=RENEW_DAYS_BEFORE)
    ends_at_centre = link.expires_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"{ends_at_centre:%Y-%m-%d}" in task.title and after[0].title in task.detail
    # Planning again (as a change of the doctor's details does) opens no second task.
    followup_reminders_sync(case=treated)
    assert renewal_tasks(treated).count() == 1

    # A new link for a year: the next visits get their reminders, the old task closes itself and
    # the new link's own task (a visit still comes after it) is due two weeks before it ends.
    longer, _token = link_issue(haematologist=treated.home_haematologist_contact, actor=world.alice, days=366)
    assert set(home_reminders(status="pending").values_list("milestone_id", flat=True)) == {
        m.pk for m in visits if timezone.now() < m.due_at <= longer.expires_at
    }
    assert renewal_tasks(treated, status="done").get().key.endswith(f":{link.pk}")
    still_after = [m for m in visits if m.due_at > longer.expires_at]
    if still_after:
        [task] = renewal_tasks(treated, status="open")
        assert task.key.endswith(f":{longer.pk}") and task.milestone == still_after[0]
    else:
        assert not renewal_tasks(treated, status="open").exists()


def test_revoking_the_link_closes_its_renewal_task_and_opens_none(handed_back, treated, world):
    link, _token = handed_back
    assert renewal_tasks(treated, status="open").exists()
    link_revoke(link=link, actor=world.alice)
    assert not renewal_tasks(treated, status="open").exists()
    assert not home_reminders(status="pending").exists()


def test_a_link_that_outlives_every_open_visit_asks_for_nothing(treated, world):
    from scheduling.services import milestone_complete

    handback_create(case=treated, actor=world.alice, discharge=discharge())
    visits = Milestone.objects.open().filter(case=treated, key__startswith="followup:")
    horizon = timezone.now() + dt.timedelta(days=200)
    for later in visits.filter(due_at__gt=horizon):  # the later visits already done (or dropped)
        milestone_complete(milestone=later)
    assert visits.exists()
    link_issue(haematologist=treated.home_haematologist_contact, actor=world.alice, days=201)
    assert not renewal_tasks(treated).exists()
    assert set(home_reminders().values_list("milestone_id", flat=True)) == set(
        visits.filter(due_at__gt=timezone.now()).values_list("pk", flat=True)
    )


def test_a_closed_renewal_task_reopens_when_its_link_is_again_the_one_to_renew(handed_back, treated, world):
    """Task keys are unique per case: the same link's task is reopened, not lost, when a longer
    link that had closed it is revoked, or the doctor stops and resumes reminders."""
    link, _token = handed_back
    [task] = renewal_tasks(treated, status="open")
    longer, _token = link_issue(haematologist=treated.home_haematologist_contact, actor=world.alice, days=366)
    task.refresh_from_db()
    assert task.status == "done"
    link_revoke(link=longer, actor=world.alice)
    task.refresh_from_db()
    assert task.status == "open" and task.completed_at is None
    assert renewal_tasks(treated, status="open").get() == task

    contact = treated.home_haematologist_contact
    details = {f: getattr(contact, f) for f in ("name", "centre", "email", "language", "time_zone")}
    haematologist_save(case=treated, actor=world.alice, receives_reminders=False, **details)
    assert not renewal_tasks(treated, status="open").exists() and not home_reminders(status="pending").exists()
    haematologist_save(case=treated, actor=world.alice, receives_reminders=True, **details)
    assert renewal_tasks(treated, status="open").get() == task
    assert home_reminders(status="pending").exists()


def test_reminders_carry_the_newest_link_even_when_an_older_one_lasts_longer(handed_back, treated, world):
    """A new link for a new doctor (or a corrected address): reminders carry it, never an older
    link that may have gone elsewhere."""
    old, _token = link_issue(haematologist=treated.home_haematologist_contact, actor=world.alice, days=366)
    newest, token = link_issue(haematologist=treated.home_haematologist_contact, actor=world.alice, days=30)
    pending = home_reminders(status="pending")
    assert pending.exists()
    assert all(r.milestone.due_at <= newest.expires_at for r in pending)
    [task] = renewal_tasks(treated, status="open")
    assert task.key.endswith(f":{newest.pk}")
    emails = list(pending.filter(channel="email").values_list("pk", flat=True))
    make_due(pending)
    delivery.reminders_sweep()
    for pk in emails:
        assert delivery.reminder_deliver(reminder_id=pk) == "sent"
    bodies = [e.body for e in mail.outbox if e.to == ["tan@sgh.example"]]
    assert bodies and all(token in body for body in bodies)
    assert old.pk != newest.pk
