"""The coordinator's landing page: today's work in groups, mine by default, the team for
supervisors, every row one click from where it is acted on, at a constant query count."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from desk.selectors import TEAM, today_for
from messaging.models import Message, Thread, ThreadRead
from messaging.services import message_post

from .stock import stock, stock_deadlines

pytestmark = pytest.mark.django_db


def counts(response) -> dict[str, int]:
    return {group.key: group.count for group in response.context["groups"]}


def test_a_coordinator_lands_on_today_after_signing_in(world, client):
    world.alice.set_password("pw-alice-2026")
    world.alice.save()
    response = client.post("/admin/login/?next=/admin/", {"username": "alice", "password": "pw-alice-2026"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200
    assert [t.name for t in page.templates][0] == "desk/today.html"
    assert b"Today: my work" in page.content


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_today_counts_each_kind_of_work_on_my_cases_only(world, client):
    stock(coordinator=world.alice, hospital=world.pkuph, n=3)
    mine = stock(coordinator=world.alice, hospital=world.ruijin, n=0)
    stock(coordinator=world.bob, hospital=world.pkuph, n=2)
    assert mine == []
    client.force_login(world.alice)
    response = client.get("/admin/")
    assert counts(response) == {
        "overdue": 3,
        "soon": 3,
        "uploads": 3,
        "messages": 3,
        "answers": 3,
        "deadlines": 0,
        "tasks": 6,  # 3 open tasks and 3 failed reminders
        "followup": 3,  # follow-up after discharge, apart from the other overdue items
    }


def test_referral_deadlines_show_those_awaiting_an_answer_within_7_days(world, client):
    cases = stock(coordinator=world.alice, hospital=world.pkuph, n=2)
    stock_deadlines(cases=cases, hospital=world.ruijin)
    client.force_login(world.alice)
    response = client.get("/admin/")
    assert counts(response)["deadlines"] == 2
    group = next(g for g in response.context["groups"] if g.key == "deadlines")
    assert all(row.url.startswith("/admin/hospitals/referral/") for row in group.rows)


def test_every_row_links_to_the_page_where_it_is_acted_on(world, client):
    stock(coordinator=world.alice, hospital=world.pkuph, n=1)
    client.force_login(world.alice)
    groups = {g.key: g for g in client.get("/admin/").context["groups"]}
    expected = {
        "overdue": "/admin/cases/case/",
        "soon": "/admin/cases/case/",
        "uploads": "/admin/documents/document/",
        "messages": "/admin/messaging/thread/",
        "answers": "/admin/hospitals/referral/",
        "tasks": "/admin/scheduling/coordinatortask/",
    }
    for key, prefix in expected.items():
        assert groups[key].rows, key
        row = groups[key].rows[0]
        assert row.url.startswith(prefix), (key, row.url)
        assert client.get(row.url).status_code == 200, (key, row.url)
    failed = [r for r in groups["tasks"].rows if r.title.startswith("Reminder failed")]
    assert failed and client.get(failed[0].url).context["cl"].result_count == 1


def test_a_milestone_from_a_referral_links_to_the_referral(world, client):
    from scheduling.services import milestone_upsert

    milestone_upsert(
        case=world.case_a,
        key=world.referral_a.milestone_key,
        kind="referral_deadline",
        title="PKUPH's answer due",
        due_at=timezone.now() - dt.timedelta(hours=3),
        source=world.referral_a,
    )
    client.force_login(world.alice)
    overdue = next(g for g in client.get("/admin/").context["groups"] if g.key == "overdue")
    assert overdue.rows[0].url == f"/admin/hospitals/referral/{world.referral_a.pk}/change/"


def test_a_supervisor_sees_the_team_and_a_coordinator_cannot(world, client):
    stock(coordinator=world.alice, hospital=world.pkuph, n=2)
    stock(coordinator=world.bob, hospital=world.ruijin, n=3)
    client.force_login(world.sam)
    assert counts(client.get("/admin/"))["overdue"] == 0  # sam coordinates nothing himself
    team = client.get("/admin/?scope=team")
    assert team.context["scope"] == TEAM
    assert counts(team)["overdue"] == 5
    assert b"Reassign a case" in team.content
    client.force_login(world.alice)
    asked = client.get("/admin/?scope=team")
    assert asked.context["scope"] == "mine" and counts(asked)["overdue"] == 2
    assert b"Reassign a case" not in asked.content


def test_the_page_records_what_it_showed(world, client):
    stock(coordinator=world.alice, hospital=world.pkuph, n=2)
    client.force_login(world.alice)
    before = AuditEvent.objects.count()
    client.get("/admin/")
    shown = AuditEvent.objects.filter(actor=world.alice, action="list", detail__page="today")
    assert shown.count() > 0 and AuditEvent.objects.count() - before == shown.count()
    assert {"scheduling.Milestone", "documents.Document", "messaging.Thread"} <= set(
        shown.values_list("object_type", flat=True)
    )


def test_staff_who_coordinate_nothing_get_the_app_index(world, client):
    from cases.factories import UserFactory

    clerk = UserFactory(username="clerk", role="family", is_staff=True)
    client.force_login(clerk)
    response = client.get("/admin/")
    assert response.status_code == 200 and "groups" not in response.context


# --- unread state per coordinator --------------------------------------------------------------


def test_a_family_message_is_unread_until_the_coordinator_opens_the_thread(world, client):
    message_post(author=world.ivanova, case=world.case_a, kind="family", body="We have the new results.")
    thread = Thread.objects.get(case=world.case_a, kind="family")
    client.force_login(world.alice)
    assert counts(client.get("/admin/"))["messages"] == 1
    page = client.get(f"/admin/messaging/thread/{thread.pk}/change/")
    assert page.status_code == 200 and b"We have the new results." in page.content
    assert ThreadRead.objects.filter(user=world.alice, thread=thread).exists()
    assert counts(client.get("/admin/"))["messages"] == 0
    # Bob has not read it: unread state is per coordinator.
    assert today_for(user=world.bob, scope="mine") and not ThreadRead.objects.filter(user=world.bob).exists()
    # A newer message is unread again, and counted alone.
    message_post(author=world.ivanova, case=world.case_a, kind="family", body="And a question.")
    group = next(g for g in client.get("/admin/").context["groups"] if g.key == "messages")
    assert group.count == 1 and group.rows[0].title == "1 new message from the family"


def test_replying_marks_the_thread_read(world):
    message_post(author=world.ivanova, case=world.case_a, kind="family", body="Hello?")
    message_post(author=world.alice, case=world.case_a, kind="family", body="Hello, Olga.")
    groups = {g.key: g for g in today_for(user=world.alice)}
    assert groups["messages"].count == 0


def test_a_supervisors_team_view_counts_what_each_cases_coordinator_has_not_read(world, client):
    message_post(author=world.ivanova, case=world.case_a, kind="family", body="Hello?")
    thread = Thread.objects.get(case=world.case_a)
    client.force_login(world.sam)
    client.get(f"/admin/messaging/thread/{thread.pk}/change/")  # sam reads it, alice has not
    assert counts(client.get("/admin/?scope=team"))["messages"] == 1
    client.force_login(world.alice)
    client.get(f"/admin/messaging/thread/{thread.pk}/change/")
    client.force_login(world.sam)
    assert counts(client.get("/admin/?scope=team"))["messages"] == 0


def test_an_old_page_does_not_move_the_read_mark_back(world):
    from messaging.services import thread_mark_read

    message_post(author=world.ivanova, case=world.case_a, kind="family", body="Hello?")
    thread = Thread.objects.get(case=world.case_a)
    now = timezone.now()
    thread_mark_read(thread=thread, user=world.alice, when=now)
    thread_mark_read(thread=thread, user=world.alice, when=now - dt.timedelta(hours=1))
    assert ThreadRead.objects.get(user=world.alice, thread=thread).read_at == now
    assert thread_mark_read(thread=thread, user=world.ivanova) is None  # families keep their marks on the portal
    assert Message.objects.filter(thread=thread).count() == 1


# --- performance -------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_landing_page_makes_as_many_queries_for_5_items_of_each_kind_as_for_200(world, client):
    client.force_login(world.sam)
    stock(coordinator=world.sam, hospital=world.pkuph, n=5)
    small = _queries(client, "/admin/")
    small_team = _queries(client, "/admin/?scope=team")
    stock(coordinator=world.sam, hospital=world.ruijin, n=195)
    large = _queries(client, "/admin/")
    large_team = _queries(client, "/admin/?scope=team")
    assert counts(client.get("/admin/"))["overdue"] == 200
    assert small == large, (small, large)
    assert small_team == large_team, (small_team, large_team)
    assert large <= 40
