"""What a centre's integrator relies on: conflicts, pages, polling, events, deadlines, answers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from hospitals import workflow
from hospitals.api.docs import STATE_DIAGRAM, diagram_transitions
from hospitals.models import Referral
from hospitals.services.referrals import referral_answer, referral_send, referral_set_deadline, referral_withdraw
from messaging.models import Thread
from messaging.services import message_post
from webhooks.models import WebhookEvent

from .conftest import add_document, api

pytestmark = pytest.mark.django_db


def events(type_=None) -> list[WebhookEvent]:
    rows = WebhookEvent.objects.order_by("created_at")
    return list(rows.filter(type=type_) if type_ else rows)


# --- webhook endpoints: a URL once per centre -------------------------------------------------


def test_moving_an_endpoint_to_a_url_already_registered_is_a_409_like_registering_it_twice(world, pkuph_key):
    client = api(token=pkuph_key)
    first = client.post("/api/v1/webhook-endpoints/", {"url": "https://his.example.cn/a"}, format="json").json()
    second = client.post("/api/v1/webhook-endpoints/", {"url": "https://his.example.cn/b"}, format="json").json()
    again = client.post("/api/v1/webhook-endpoints/", {"url": "https://his.example.cn/a"}, format="json")
    assert again.status_code == 409 and again.json()["fields"] == {"url": [again.json()["detail"]]}
    put = client.put(f"/api/v1/webhook-endpoints/{second['id']}/", {"url": "https://his.example.cn/a"}, format="json")
    patch = client.patch(
        f"/api/v1/webhook-endpoints/{second['id']}/", {"url": "https://his.example.cn/a"}, format="json"
    )
    assert (put.status_code, patch.status_code) == (409, 409)
    assert put.json()["code"] == "conflict" and "url" in patch.json()["fields"]
    same = client.patch(f"/api/v1/webhook-endpoints/{first['id']}/", {"url": "https://his.example.cn/a"}, format="json")
    assert same.status_code == 200  # keeping its own URL is no conflict


# --- transitions ---------------------------------------------------------------------------


def test_an_answer_the_status_does_not_allow_is_a_409_naming_the_possible_moves(packet_world, pkuph_key):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    client = api(token=pkuph_key)
    assert client.post(f"/api/v1/referrals/{w.referral.pk}/start-review/").status_code == 200
    again = client.post(f"/api/v1/referrals/{w.referral.pk}/start-review/")
    assert again.status_code == 409
    assert again.json()["code"] == "transition_not_allowed" and "status" in again.json()["fields"]


def test_the_state_diagram_is_the_workflow_and_the_docs_show_it():
    assert diagram_transitions() == {(f, t, who) for (f, t), who in workflow.TRANSITIONS.items()}
    from pathlib import Path

    from django.conf import settings

    assert STATE_DIAGRAM in (Path(settings.BASE_DIR) / "docs" / "referrals.md").read_text()


# --- per-decision requirements ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "decline"}, "reason"),
        ({"decision": "decline", "reason": "CD19 negative", "items": ["MRD"]}, "items"),
        ({"decision": "more_info"}, "items"),
        ({"decision": "more_info", "items": ["  "]}, "items"),
        ({"decision": "more_info", "items": ["MRD"], "reason": "x"}, "reason"),
        ({"decision": "accept", "reason": "fine"}, "reason"),
        ({"decision": "accept", "items": ["MRD"]}, "items"),
        ({"decision": "maybe"}, "decision"),
    ],
)
def test_each_decision_requires_its_own_fields_and_refuses_the_others(packet_world, pkuph_key, body, field):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    response = api(token=pkuph_key).post(f"/api/v1/referrals/{w.referral.pk}/answer/", body, format="json")
    assert response.status_code == 400 and list(response.json()["fields"]) == [field]
    w.referral.refresh_from_db()
    assert w.referral.status == workflow.SENT  # nothing half-written


def test_the_answer_action_documents_each_decision_and_the_state_diagram():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    answer = schema["paths"]["/api/v1/referrals/{id}/answer/"]["post"]
    assert "stateDiagram-v2" in answer["description"] and "`more_info`" in answer["description"]
    assert "409" in answer["responses"]
    descriptions = {
        schema["paths"][f"/api/v1/referrals/{{id}}/{name}/"]["post"]["description"]
        for name in ("acknowledge", "start-review", "answer", "slots")
    }
    assert len(descriptions) == 4


# --- answers keep the right fields ----------------------------------------------------------------


def test_accepting_after_a_request_for_information_closes_the_request_and_keeps_the_note(packet_world):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    referral_answer(
        referral=w.referral, actor=w.dr_li, decision="more_info", items=["Recent MRD"], note="Call us on Monday."
    )
    w.referral.refresh_from_db()
    assert w.referral.information_requested == ["Recent MRD"]
    referral_answer(referral=w.referral, actor=w.dr_li, decision="accept")
    w.referral.refresh_from_db()
    assert w.referral.status == workflow.ACCEPTED
    assert w.referral.information_requested == []
    assert w.referral.answer_note == "Call us on Monday."
    referral_answer(referral=w.referral, actor=w.dr_li, decision="decline", reason="Screening failed", note="Sorry.")
    w.referral.refresh_from_db()
    assert w.referral.answer_note == "Sorry." and w.referral.decline_reason == "Screening failed"


def test_a_new_packet_after_a_request_keeps_the_request_until_the_centre_answers(packet_world):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    referral_answer(referral=w.referral, actor=w.dr_li, decision="more_info", items=["Recent MRD"])
    add_document(w.case_a, w.alice, "mrd_report", "mrd")
    referral_send(referral=w.referral, actor=w.alice)
    w.referral.refresh_from_db()
    assert w.referral.status == workflow.SENT and w.referral.information_requested == ["Recent MRD"]


# --- the response deadline -----------------------------------------------------------------------


def test_sending_again_keeps_the_deadline_the_coordinator_set(packet_world):
    w = packet_world
    chosen = timezone.now() + dt.timedelta(days=20)
    referral_send(referral=w.referral, actor=w.alice, response_due_at=chosen)
    referral_answer(referral=w.referral, actor=w.dr_li, decision="more_info", items=["Recent MRD"])
    add_document(w.case_a, w.alice, "mrd_report", "mrd")
    referral_send(referral=w.referral, actor=w.alice)
    w.referral.refresh_from_db()
    assert w.referral.response_due_at == chosen


def test_a_send_fills_the_deadline_only_when_there_is_none_in_force(packet_world):
    w = packet_world
    before = timezone.now()
    referral_send(referral=w.referral, actor=w.alice)
    w.referral.refresh_from_db()
    days = w.pkuph.response_days
    assert before + dt.timedelta(days=days) <= w.referral.response_due_at <= timezone.now() + dt.timedelta(days=days)


# --- events: what the centre is told, and what it is not ----------------------------------------------


def test_the_centres_own_actions_never_come_back_to_it_as_message_events(packet_world, pkuph_key):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    client = api(token=pkuph_key)
    base = f"/api/v1/referrals/{w.referral.pk}"
    client.post(f"{base}/acknowledge/")
    client.post(f"{base}/start-review/")
    client.post(f"{base}/messages/", {"body": "We will answer tomorrow."}, format="json")
    client.post(
        f"{base}/slots/",
        {"kind": "teleconsultation", "slots": [{"starts_at": (timezone.now() + dt.timedelta(days=3)).isoformat()}]},
        format="json",
    )
    client.post(f"{base}/answer/", {"decision": "more_info", "items": ["MRD"]}, format="json")
    assert events("message.posted") == []
    message_post(author=w.alice, body="MRD attached.", case=w.case_a, kind=Thread.Kind.HOSPITAL, hospital=w.pkuph)
    [posted] = events("message.posted")
    assert posted.payload["data"]["case_reference"] == w.case_a.reference


def test_a_changed_deadline_is_an_event(packet_world):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    before = Referral.objects.get(pk=w.referral.pk).response_due_at
    later = timezone.now() + dt.timedelta(days=30)
    referral_set_deadline(referral=w.referral, actor=w.alice, due_at=later)
    [changed] = events("deadline.changed")
    assert changed.payload["data"]["response_due_at"] == later.isoformat()
    assert changed.payload["data"]["previous_response_due_at"] == before.isoformat()
    referral_set_deadline(referral=w.referral, actor=w.alice, due_at=later)  # the same: no event
    assert len(events("deadline.changed")) == 1


def test_a_withdrawal_is_an_event_but_withdrawing_a_draft_tells_no_one(packet_world, world):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    referral_withdraw(referral=w.referral, actor=w.alice, reason="The family chose another centre.")
    [withdrawn] = events("referral.withdrawn")
    assert withdrawn.payload["data"]["referral_id"] == w.referral.pk
    assert withdrawn.payload["data"]["previous_status"] == "sent"
    assert "family" not in str(withdrawn.payload)  # the reason stays with the referral: no free text in events


def test_a_new_packet_version_event_lists_what_changed(packet_world):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    add_document(w.case_a, w.alice, "mrd_report", "mrd")
    referral_send(referral=w.referral, actor=w.alice)
    [updated] = events("packet.updated")
    changes = updated.payload["data"]["changes"]
    assert {"section": "documents", "change": "added"}.items() <= changes[0].items()
    assert updated.payload["data"]["compared_to"] == 1
    assert "mrd" not in str(changes)  # sections and fields, not values


# --- pages everywhere ---------------------------------------------------------------------------------


def test_every_list_of_a_referral_is_paginated_with_a_total(packet_world, pkuph_key):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    add_document(w.case_a, w.alice, "mrd_report", "mrd")
    referral_send(referral=w.referral, actor=w.alice)
    for text in ("one", "two", "three"):
        message_post(author=w.alice, body=text, case=w.case_a, kind=Thread.Kind.HOSPITAL, hospital=w.pkuph)
    client = api(token=pkuph_key)
    base = f"/api/v1/referrals/{w.referral.pk}"
    thread = Thread.objects.get(case=w.case_a, kind=Thread.Kind.HOSPITAL)
    for url in (f"{base}/packets/", f"{base}/messages/", f"{base}/slots/", f"/api/v1/threads/{thread.pk}/messages/"):
        page = client.get(url, {"page_size": 1}).json()
        assert set(page) == {"count", "next", "previous", "results"}, url
        if page["count"] > 1:
            assert len(page["results"]) == 1 and page["next"]
            second = client.get(page["next"]).json()
            assert second["results"] != page["results"]
    messages = client.get(f"{base}/messages/").json()
    assert messages["count"] == 3 and [m["body"] for m in messages["results"]] == ["one", "two", "three"]
    assert [p["version"] for p in client.get(f"{base}/packets/").json()["results"]] == [2, 1]


@pytest.mark.parametrize("value", ["null", "0", "-1", "201", "1.5", "abc", ""])
def test_a_page_size_that_is_not_a_whole_number_up_to_the_maximum_is_a_400(world, pkuph_key, value):
    response = api(token=pkuph_key).get("/api/v1/referrals/", {"page_size": value})
    assert response.status_code == 400 and list(response.json()["fields"]) == ["page_size"]


def test_a_forged_cursor_is_a_400_naming_the_cursor(world, pkuph_key):
    response = api(token=pkuph_key).get("/api/v1/referrals/", {"cursor": "not-a-cursor"})
    assert response.status_code == 400 and list(response.json()["fields"]) == ["cursor"]


def test_the_packets_list_documents_no_status_filter_and_every_list_its_maximum_page_size():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    packets = schema["paths"]["/api/v1/referrals/{id}/packets/"]["get"]
    names = {p["name"] for p in packets["parameters"]}
    assert "status" not in names and {"cursor", "page_size", "updated_since"} <= names
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get and any(p["name"] == "cursor" for p in get.get("parameters", [])):
            [size] = [p for p in get["parameters"] if p["name"] == "page_size"]
            assert size["schema"]["maximum"] == 200, path
            page = get["responses"]["200"]["content"]["application/json"]["schema"]
            assert page["$ref"].startswith("#/components/schemas/Paginated"), path


# --- polling ------------------------------------------------------------------------------------------


def test_updated_since_returns_only_what_changed_after_the_last_poll(packet_world, pkuph_key):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    client = api(token=pkuph_key)
    poll = timezone.now()
    assert client.get("/api/v1/referrals/", {"updated_since": poll.isoformat()}).json()["results"] == []
    referral_set_deadline(referral=w.referral, actor=w.alice, due_at=timezone.now() + dt.timedelta(days=9))
    changed = client.get("/api/v1/referrals/", {"updated_since": poll.isoformat()}).json()
    assert [r["id"] for r in changed["results"]] == [w.referral.pk] and changed["count"] == 1
    message_post(author=w.alice, body="New", case=w.case_a, kind=Thread.Kind.HOSPITAL, hospital=w.pkuph)
    new = client.get(f"/api/v1/referrals/{w.referral.pk}/messages/", {"updated_since": poll.isoformat()}).json()
    assert [m["body"] for m in new["results"]] == ["New"]


@pytest.mark.parametrize("value", ["yesterday", "2026-03-01T08:00:00", "2026-13-01T00:00:00Z"])
def test_updated_since_without_a_valid_offset_date_time_is_a_400(world, pkuph_key, value):
    response = api(token=pkuph_key).get("/api/v1/referrals/", {"updated_since": value})
    assert response.status_code == 400 and list(response.json()["fields"]) == ["updated_since"]


# --- triage and links ---------------------------------------------------------------------------------


def test_the_referral_list_carries_a_triage_summary_and_links_that_work(packet_world, pkuph_key):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    client = api(token=pkuph_key)
    [row] = client.get("/api/v1/referrals/").json()["results"]
    triage = row["triage"]
    assert triage["cd19_status"] == "positive" and triage["cns_status"] == "cns1"
    assert triage["ph_status"] == "positive" and triage["prior_transplants"] == 1
    assert triage["packet_version"] == 1 and triage["age_years"] is not None
    links = row["links"]
    assert links["self"].startswith("http://testserver/api/v1/referrals/")
    for url in (links["self"], links["packets"], links["messages"], links["slots"], *links["latest_packet"].values()):
        assert client.get(url).status_code == 200, url
    [packet] = client.get(links["packets"]).json()["results"]
    assert len(packet["document_links"]) == packet["documents"] > 0
    for doc in packet["document_links"]:
        download = client.get(doc["url"])
        assert download.status_code == 200 and download["X-Content-SHA256"]


def test_a_referral_never_sent_has_no_triage_for_a_coordinator(world):
    response = api(user=world.alice).get("/api/v1/referrals/")
    assert all(r["triage"] is None and r["links"]["latest_packet"] is None for r in response.json()["results"])


def test_each_row_of_the_referral_list_links_to_itself_and_names_its_latest_packet(packet_world, pkuph_key):
    from cases.factories import CaseFactory

    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    other = Referral.objects.create(case=CaseFactory(), hospital=w.pkuph, status="sent", sent_at=timezone.now())
    rows = {r["id"]: r for r in api(user=w.alice).get("/api/v1/referrals/").json()["results"]}
    assert set(rows) >= {w.referral.pk, other.pk}
    for pk, row in rows.items():
        assert row["links"]["self"] == f"http://testserver/api/v1/referrals/{pk}/"
        assert row["links"]["answer"] == f"http://testserver/api/v1/referrals/{pk}/answer/"
    sent = rows[w.referral.pk]
    assert sent["latest_packet_version"] == sent["triage"]["packet_version"] == 1
    assert sent["links"]["latest_packet"]["pdf"] == f"http://testserver/api/v1/referrals/{w.referral.pk}/packets/1/pdf/"
    assert sent["status_label"] == Referral(status=sent["status"]).get_status_display()
    assert rows[other.pk]["latest_packet_version"] is None and rows[other.pk]["links"]["latest_packet"] is None
