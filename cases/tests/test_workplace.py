"""The case page as a workplace: a header with what matters and only the allowed status moves, tabs that
open on demand, a timeline of everything that happened, and a constant number of queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import workflow
from cases.models import StatusChange
from cases.selectors import case_timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(world):
    client = Client()
    client.force_login(world.alice)
    return client


def _page(client, case, query=""):
    response = client.get(f"/admin/cases/case/{case.pk}/change/{query}")
    assert response.status_code == 200
    return response.content.decode()


def _header_moves(html: str) -> set[str]:
    select = re.search(r'<select name="to_status" id="workplace-to-status">(.*?)</select>', html, re.S)
    assert select, "no status control in the header"
    return set(re.findall(r'<option value="([^"]+)"', select.group(1)))


def test_the_header_shows_who_the_patient_is_and_the_familys_local_time(world, coordinator):
    world.contact_a.time_zone = "Asia/Almaty"
    world.contact_a.is_primary = True
    world.contact_a.save()
    html = _page(coordinator, world.case_a)
    header = html[html.index("workplace-header") : html.index("workplace-tabs")]
    assert world.case_a.reference in header and "Misha Ivanov" in header
    assert f"Age {world.case_a.patient.age()}" in header
    assert "(Asia/Almaty)" in header
    now_there = timezone.now().astimezone(dt.timezone(dt.timedelta(hours=5)))
    assert now_there.strftime("%H:") in header or (now_there + dt.timedelta(minutes=1)).strftime("%H:") in header


@pytest.mark.parametrize("status", [workflow.INQUIRY, workflow.REFERRED, workflow.TREATMENT])
def test_the_status_control_offers_exactly_the_allowed_moves(world, coordinator, status):
    world.case_a.status = status
    world.case_a.save(update_fields=["status"])
    assert _header_moves(_page(coordinator, world.case_a)) == workflow.TRANSITIONS[status]


def test_a_move_from_the_header_changes_the_status_and_a_refused_one_says_why(world, coordinator):
    url = f"/admin/cases/case/{world.case_a.pk}/transition/"
    done = coordinator.post(url, {"to_status": workflow.RECORDS, "reason": ""}, follow=True)
    world.case_a.refresh_from_db()
    assert world.case_a.status == workflow.RECORDS
    assert "moved to" in done.content.decode()
    refused = coordinator.post(url, {"to_status": workflow.TREATMENT}, follow=True)
    world.case_a.refresh_from_db()
    assert world.case_a.status == workflow.RECORDS
    assert "Select a valid choice" in refused.content.decode()
    assert coordinator.get(url).status_code == 405


def test_the_list_action_offers_the_moves_allowed_for_the_selected_cases(world, coordinator):
    page = coordinator.post(
        "/admin/cases/case/", {"action": "action_transition", "_selected_action": [world.case_a.pk]}
    ).content.decode()
    offered = set(re.findall(r'<option value="([^"]+)"', page))
    assert offered == workflow.TRANSITIONS[world.case_a.status]


def test_the_page_is_made_of_tabs_that_open_on_demand(world, coordinator):
    # The sections and what each holds without script: a link to the page with it rendered open.
    html = _page(coordinator, world.case_a)
    for key in ("overview", "records", "eligibility", "referrals", "schedule", "travel", "messages", "audit"):
        assert re.search(
            rf'<details class="workplace-tab" id="tab-{key}" data-section-url="/admin/cases/case/{world.case_a.pk}'
            rf'/section/{key}/">',
            html,
        )
        assert f'<a href="?open={key}#tab-{key}">' in html
    assert 'name="_section"' not in html


def _fill(world, n: int) -> None:
    """n items of each kind on case_a: status moves, documents, messages, referral events, packets, MRD
    results, reminders sent, document requests."""
    from documents.models import Document, DocumentRequest
    from hospitals.models import PacketVersion, ReferralEvent
    from messaging.models import Message, Thread
    from scheduling.models import Milestone, MRDResult, Reminder

    case, alice, now = world.case_a, world.alice, timezone.now()
    start = StatusChange.objects.filter(case=case).count()
    StatusChange.objects.bulk_create(
        StatusChange(case=case, from_status="inquiry", to_status="inquiry", changed_by=alice, reason=f"r{i}")
        for i in range(start, n)
    )
    have = Document.objects.filter(case=case).count()
    Document.objects.bulk_create(
        Document(
            case=case,
            doc_type="blood_counts",
            source="coordinator",
            uploaded_by=alice,
            original_name=f"counts-{i}.pdf",
            file=f"x/{i}.pdf",
            content_type="application/pdf",
            size=100,
            sha256=f"{i:064d}",
            review_status="accepted" if i % 2 else "received",
            reviewed_by=alice if i % 2 else None,
            reviewed_at=now if i % 2 else None,
        )
        for i in range(have, n)
    )
    DocumentRequest.objects.bulk_create(
        DocumentRequest(case=case, doc_type="mrd_report", description=f"please {i}", requested_by=alice)
        for i in range(DocumentRequest.objects.filter(case=case).count(), n)
    )
    thread, _ = Thread.objects.get_or_create(case=case, kind="family", defaults={"subject": "Family"})
    Message.objects.bulk_create(
        Message(thread=thread, author=alice, side="coordinator", body=f"m{i}")
        for i in range(Message.objects.filter(thread__case=case).count(), n)
    )
    referral = world.referral_a
    ReferralEvent.objects.bulk_create(
        ReferralEvent(referral=referral, from_status="sent", to_status="sent", actor=alice)
        for i in range(ReferralEvent.objects.filter(referral=referral).count(), n)
    )
    have = PacketVersion.objects.filter(referral=referral).count()
    PacketVersion.objects.bulk_create(
        PacketVersion(referral=referral, version=i + 1, snapshot={}, content_hash=f"{i:064d}", created_by=alice)
        for i in range(have, n)
    )
    MRDResult.objects.bulk_create(
        MRDResult(
            case=case,
            checkpoint="other",
            sample_date=timezone.localdate(),
            method="flow",
            result="negative",
            complete_remission=True,
            recorded_by=alice,
        )
        for i in range(MRDResult.objects.filter(case=case).count(), n)
    )
    have = Milestone.objects.filter(case=case).count()
    milestones = Milestone.objects.bulk_create(
        Milestone(case=case, key=f"test:{i}", kind="apheresis", title=f"m{i}", due_at=now + dt.timedelta(days=i))
        for i in range(have, n)
    )
    Reminder.objects.bulk_create(
        Reminder(
            milestone=m,
            slot="-1d",
            audience="family",
            recipient=f"contact:{world.contact_a.pk}",
            contact=world.contact_a,
            channel="email",
            send_at=now,
            status="sent",
            sent_at=now,
        )
        for m in milestones
    )


def test_the_timeline_has_every_kind_newest_first_in_a_constant_number_of_queries(world):
    _fill(world, 5)
    with CaptureQueriesContext(connection) as small:
        entries = case_timeline(world.case_a)
    kinds = {e.kind for e in entries}
    assert {"status", "upload", "review", "message", "referral", "packet", "mrd", "reminder"} <= kinds
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    _fill(world, 200)
    with CaptureQueriesContext(connection) as large:
        assert len(case_timeline(world.case_a)) == 60
    assert len(small.captured_queries) == len(large.captured_queries)


def test_the_case_page_costs_the_same_at_5_and_200_items_of_each_kind(world, coordinator):
    _fill(world, 5)
    _page(coordinator, world.case_a)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as small:
        _page(coordinator, world.case_a)
    _fill(world, 200)
    with CaptureQueriesContext(connection) as large:
        _page(coordinator, world.case_a)
    assert len(small.captured_queries) == len(large.captured_queries), [
        q["sql"][:120] for q in large.captured_queries[len(small.captured_queries) - 5 :]
    ]


def test_contact_language_and_time_zone_are_chosen_from_lists(world, coordinator):
    page = coordinator.get(f"/admin/cases/familycontact/{world.contact_a.pk}/change/").content.decode()
    language = re.search(r'<select name="language"[^>]*>(.*?)</select>', page, re.S)
    zone = re.search(r'<select name="time_zone"[^>]*>(.*?)</select>', page, re.S)
    assert language and 'value="ru"' in language.group(1) and 'value="zh-hans"' in language.group(1)
    assert zone and 'value="Asia/Almaty"' in zone.group(1) and 'value="Europe/Moscow"' in zone.group(1)
    assert f'value="{world.contact_a.time_zone}" selected' in zone.group(1)


def test_on_the_case_page_a_contacts_zone_is_typed_from_the_one_iana_list(world, coordinator):
    html = coordinator.get(f"/admin/cases/case/{world.case_a.pk}/section/overview/").content.decode()
    assert html.count('<datalist id="iana-zones">') == 1 and '<option value="Asia/Almaty">' in html
    assert re.search(r'<input type="text" name="contacts-0-time_zone"[^>]*list="iana-zones"', html)
