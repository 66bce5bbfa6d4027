"""Reminders and threads in the admin as a coordinator uses them: reminders of my cases,
soonest first, to people by name; a thread that reads like a conversation with a reply box."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from messaging.models import Message, Thread
from messaging.services import message_post
from scheduling.models import Milestone, Reminder

pytestmark = pytest.mark.django_db


def _reminder(milestone, *, send_at, **kw):
    return Reminder.objects.create(milestone=milestone, slot=kw.pop("slot", "-1d"), send_at=send_at, **kw)


@pytest.fixture
def reminders(world):
    now = timezone.now()
    mine = Milestone.objects.create(case=world.case_a, key="other:a", kind="other", title="Visa interview", due_at=now)
    bobs = Milestone.objects.create(case=world.case_b, key="other:b", kind="other", title="Flight", due_at=now)
    later = _reminder(
        mine,
        send_at=now + dt.timedelta(days=5),
        audience="family",
        recipient=f"contact:{world.contact_a.pk}",
        contact=world.contact_a,
        channel="sms",
    )
    sooner = _reminder(
        mine,
        send_at=now + dt.timedelta(days=1),
        audience="coordinator",
        recipient=f"user:{world.alice.pk}",
        user=world.alice,
        channel="email",
        slot="-5d",
    )
    sent = _reminder(
        mine,
        send_at=now - dt.timedelta(days=9),
        audience="coordinator",
        recipient=f"user:{world.alice.pk}",
        user=world.alice,
        channel="sms",
        status="sent",
    )
    other = _reminder(
        bobs, send_at=now, audience="coordinator", recipient=f"user:{world.bob.pk}", user=world.bob, channel="email"
    )
    return {"later": later, "sooner": sooner, "sent": sent, "other": other}


def test_the_reminder_list_shows_my_cases_reminders_still_to_go_soonest_first(world, client, reminders):
    world.alice.first_name, world.alice.last_name = "Alice", "Moreau"
    world.alice.save()
    client.force_login(world.alice)
    response = client.get("/admin/scheduling/reminder/")
    rows = list(response.context["cl"].result_list)
    assert rows == [reminders["sooner"], reminders["later"]]
    html = response.content.decode()
    assert "Alice Moreau (coordinator)" in html and "Olga Ivanova (family)" in html
    assert "user:" not in html.split('id="result_list"')[1] and "contact:" not in html.split('id="result_list"')[1]
    assert world.case_a.reference in html and "Visa interview" in html


def test_the_team_and_everything_are_one_click_away(world, client, reminders):
    client.force_login(world.alice)
    team = client.get("/admin/scheduling/reminder/?caseload=all")
    assert set(team.context["cl"].result_list) == {reminders["sooner"], reminders["later"], reminders["other"]}
    everything = client.get("/admin/scheduling/reminder/?caseload=mine&status=all")
    assert list(everything.context["cl"].result_list)[0] == reminders["sent"]


def test_the_thread_page_reads_as_a_conversation_with_a_reply_box(world, client):
    message_post(author=world.ivanova, case=world.case_a, kind="family", body="Is the visa ready?")
    message_post(author=world.alice, case=world.case_a, kind="family", body="Yes, on Tuesday.")
    thread = Thread.objects.get(case=world.case_a)
    client.force_login(world.alice)
    page = client.get(f"/admin/messaging/thread/{thread.pk}/change/")
    html = page.content.decode()
    assert html.index("Is the visa ready?") < html.index("Yes, on Tuesday.") < html.index('name="reply"')
    assert "Send reply" in html
    for absent in ("_addanother", "_continue", "deletelink", "/delete/"):
        assert absent not in html, absent
    assert client.get(f"/admin/messaging/thread/{thread.pk}/delete/").status_code == 403


def test_a_reply_is_sent_and_the_page_shows_it(world, client):
    thread = message_post(author=world.ivanova, case=world.case_a, kind="family", body="Hello?").thread
    client.force_login(world.alice)
    response = client.post(f"/admin/messaging/thread/{thread.pk}/change/", {"reply": "Hello, Olga."})
    assert response.status_code == 302 and response["Location"] == f"/admin/messaging/thread/{thread.pk}/change/"
    assert Message.objects.filter(thread=thread, side="coordinator", body="Hello, Olga.").exists()
    assert "Hello, Olga." in client.get(response["Location"]).content.decode()


def test_an_empty_reply_is_refused_with_a_message_on_the_field(world, client):
    thread = message_post(author=world.ivanova, case=world.case_a, kind="family", body="Hello?").thread
    client.force_login(world.alice)
    response = client.post(f"/admin/messaging/thread/{thread.pk}/change/", {"reply": "   "})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["reply"] == ["Write your reply before sending it."]
    assert Message.objects.filter(thread=thread).count() == 1
