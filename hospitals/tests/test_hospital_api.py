import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from cases.models import Case
from hospitals.models import ApiCredential, Referral
from hospitals.services.credentials import credential_issue, credential_revoke, credential_rotate
from hospitals.services.referrals import referral_create, referral_send

from .conftest import api, move_case_to

pytestmark = pytest.mark.django_db


# --- credentials ------------------------------------------------------------------------------


def test_an_issued_key_is_stored_only_as_a_hash_and_acts_as_the_centre(world, pkuph_key):
    cred = ApiCredential.objects.get()
    assert pkuph_key.split("_", 2)[2] not in cred.secret_hash
    assert cred.user.is_hospital and cred.user.hospital == world.pkuph
    response = api(token=pkuph_key).get("/api/v1/referrals/")
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [world.referral_a.pk]


def test_a_revoked_key_is_refused_with_401(world, pkuph_key):
    credential_revoke(credential=ApiCredential.objects.get(), actor=world.alice, reason="leaked")
    response = api(token=pkuph_key).get("/api/v1/referrals/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_an_expired_or_wrong_key_is_refused_with_401(world, pkuph_key):
    cred = ApiCredential.objects.get()
    wrong = pkuph_key[:-4] + ("AAAA" if not pkuph_key.endswith("AAAA") else "BBBB")
    assert api(token=wrong).get("/api/v1/referrals/").status_code == 401
    assert api(token="nvk_short_x").get("/api/v1/referrals/").status_code == 401
    ApiCredential.objects.filter(pk=cred.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = api(token=pkuph_key).get("/api/v1/referrals/")
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_rotation_keeps_the_old_key_working_for_the_grace_period_only(world, pkuph_key):
    old = ApiCredential.objects.get()
    new, new_token = credential_rotate(credential=old, actor=world.alice, grace=dt.timedelta(hours=1))
    assert api(token=pkuph_key).get("/api/v1/referrals/").status_code == 200
    assert api(token=new_token).get("/api/v1/referrals/").status_code == 200
    ApiCredential.objects.filter(pk=old.pk).update(expires_at=timezone.now())
    assert api(token=pkuph_key).get("/api/v1/referrals/").status_code == 401
    assert api(token=new_token).get("/api/v1/referrals/").status_code == 200


def test_only_a_coordinator_issues_keys(world):
    from navigator.errors import DomainError

    with pytest.raises(DomainError):
        credential_issue(hospital=world.pkuph, actor=world.dr_li, label="mine")


# --- isolation ------------------------------------------------------------------------------


def test_hospital_a_never_sees_hospital_bs_referrals_packets_or_documents(packet_world, ruijin_key, pkuph_key):
    w = packet_world
    packet = referral_send(referral=w.referral, actor=w.alice)
    other = api(token=ruijin_key)
    base = f"/api/v1/referrals/{w.referral.pk}"
    assert other.get("/api/v1/referrals/").json()["results"] == []
    for path in (
        f"{base}/",
        f"{base}/packets/",
        f"{base}/packets/1/json/",
        f"{base}/packets/latest/zip/",
        f"{base}/documents/{w.cd19.pk}/",
        f"{base}/messages/",
    ):
        assert other.get(path).status_code == 404, path
    assert other.post(f"{base}/acknowledge/").status_code == 404
    # A family may not use the hospital API at all: the same 403 for any id, so nothing leaks.
    assert api(user=w.chen).get(f"{base}/").status_code == 403
    assert api(user=w.chen).get("/api/v1/referrals/999999/").status_code == 403
    assert api(token=pkuph_key).get(f"{base}/packets/{packet.version}/json/").status_code == 200


def test_a_draft_referral_is_invisible_to_its_centre(packet_world, pkuph_key):
    w = packet_world
    assert api(token=pkuph_key).get(f"/api/v1/referrals/{w.referral.pk}/").status_code == 404


def test_the_centre_downloads_only_documents_that_are_in_a_packet(packet_world, pkuph_key):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    client = api(token=pkuph_key)
    base = f"/api/v1/referrals/{w.referral.pk}/documents"
    response = client.get(f"{base}/{w.pathology_en.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == w.pathology_en.file.open("rb").read()
    assert response["X-Content-SHA256"] == w.pathology_en.sha256
    assert client.get(f"{base}/{w.private.pk}/").status_code == 404
    assert AuditEvent.objects.filter(action="download", object_id=str(w.pathology_en.pk)).exists()


def test_every_packet_format_is_served_and_audited(packet_world, pkuph_key):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    client = api(token=pkuph_key)
    base = f"/api/v1/referrals/{w.referral.pk}/packets/latest"
    assert client.get(f"{base}/json/").json()["patient"]["given_name"] == "Misha"
    assert client.get(f"{base}/pdf/")["Content-Type"] == "application/pdf"
    assert client.get(f"{base}/fhir/").json()["type"] == "document"
    zipped = client.get(f"{base}/zip/")
    assert zipped["Content-Type"] == "application/zip"
    assert len(b"".join(zipped.streaming_content)) == int(zipped["Content-Length"])
    formats = set(
        AuditEvent.objects.filter(object_type="hospitals.PacketVersion", action__in=["view", "download"]).values_list(
            "detail__format", flat=True
        )
    )
    assert formats == {"json", "pdf", "fhir", "zip"}
    assert client.get(f"/api/v1/referrals/{w.referral.pk}/packets/7/json/").status_code == 404


def test_the_referral_list_keeps_a_constant_number_of_queries(world, pkuph_key):
    client = api(token=pkuph_key)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/referrals/").status_code == 200
        return len(ctx.captured_queries)

    from cases.factories import CaseFactory

    count()  # the first request of a minute also records the key's last use
    few = count()
    for _ in range(10):
        Referral.objects.create(case=CaseFactory(), hospital=world.pkuph, status="sent", sent_at=timezone.now())
    assert count() == few


# --- answers move the case ----------------------------------------------------------------------


def test_acknowledging_then_accepting_moves_the_case_to_accepted_and_tells_the_coordinator(packet_world, pkuph_key):
    from messaging.models import Message

    w = packet_world
    move_case_to(w.case_a, "eligibility_screening", w.alice)
    referral_send(referral=w.referral, actor=w.alice)
    assert Case.objects.get(pk=w.case_a.pk).status == "referred"
    client = api(token=pkuph_key)
    base = f"/api/v1/referrals/{w.referral.pk}"
    assert client.post(f"{base}/acknowledge/").json()["status"] == "acknowledged"
    response = client.post(f"{base}/answer/", {"decision": "accept", "note": "Screening visit next week"})
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert Case.objects.get(pk=w.case_a.pk).status == "accepted"
    texts = list(Message.objects.filter(thread__case=w.case_a).values_list("body", flat=True))
    assert any("accepted" in t and "Screening visit" in t for t in texts)
    assert AuditEvent.objects.filter(object_type="cases.Case", action="transition", detail__to="accepted").exists()


def test_when_every_centre_declines_the_case_is_declined(packet_world, pkuph_key, ruijin_key):
    w = packet_world
    move_case_to(w.case_a, "eligibility_screening", w.alice)
    referral_send(referral=w.referral, actor=w.alice)
    second = referral_create(case=w.case_a, hospital=w.ruijin, actor=w.alice)
    referral_send(referral=second, actor=w.alice)
    r1 = api(token=pkuph_key).post(
        f"/api/v1/referrals/{w.referral.pk}/answer/", {"decision": "decline", "reason": "CD19-dim blasts"}
    )
    assert r1.status_code == 200
    assert Case.objects.get(pk=w.case_a.pk).status == "referred"  # Ruijin still considering
    api(token=ruijin_key).post(f"/api/v1/referrals/{second.pk}/answer/", {"decision": "decline", "reason": "No beds"})
    case = Case.objects.get(pk=w.case_a.pk)
    assert case.status == "declined"
    assert "No beds" in case.status_changes.first().reason


def test_asking_for_more_information_needs_a_list_and_reopens_for_a_new_packet(packet_world, pkuph_key):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    client = api(token=pkuph_key)
    url = f"/api/v1/referrals/{w.referral.pk}/answer/"
    bad = client.post(url, {"decision": "more_info"})
    assert bad.status_code == 400 and "items" in bad.json()["fields"]
    ok = client.post(url, {"decision": "more_info", "items": ["CSF cytology", "Recent blood counts"]})
    assert ok.json()["information_requested"] == ["CSF cytology", "Recent blood counts"]
    from .conftest import add_document

    add_document(w.case_a, w.alice, "csf_cns", "csf")
    packet = referral_send(referral=w.referral, actor=w.alice)
    assert packet.version == 2
    w.referral.refresh_from_db()
    assert w.referral.status == "sent"


def test_declining_without_a_reason_or_answering_twice_is_refused_with_a_field_message(packet_world, pkuph_key):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    client = api(token=pkuph_key)
    url = f"/api/v1/referrals/{w.referral.pk}/answer/"
    response = client.post(url, {"decision": "decline"})
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    client.post(url, {"decision": "decline", "reason": "Not r/r"})
    again = client.post(url, {"decision": "accept"})
    assert again.status_code == 409 and again.json()["code"] == "transition_not_allowed"


def test_a_coordinator_cannot_answer_for_the_centre(packet_world):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    response = api(user=w.alice).post(f"/api/v1/referrals/{w.referral.pk}/answer/", {"decision": "accept"})
    assert response.status_code == 403


def test_the_centre_proposes_slots_and_the_coordinator_confirms_one(packet_world, pkuph_key):
    from hospitals.models import AppointmentSlot
    from hospitals.services.referrals import slot_confirm

    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    soon = timezone.now() + dt.timedelta(days=3)
    response = api(token=pkuph_key).post(
        f"/api/v1/referrals/{w.referral.pk}/slots/",
        {
            "kind": "teleconsultation",
            "slots": [
                {"starts_at": soon.isoformat(), "ends_at": (soon + dt.timedelta(hours=1)).isoformat()},
                {"starts_at": (soon + dt.timedelta(days=1)).isoformat(), "location": "https://meet.example.cn/x"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201 and len(response.json()) == 2
    past = api(token=pkuph_key).post(
        f"/api/v1/referrals/{w.referral.pk}/slots/",
        {"kind": "teleconsultation", "slots": [{"starts_at": "2020-01-01T00:00:00Z"}]},
        format="json",
    )
    assert past.status_code == 400
    first = AppointmentSlot.objects.order_by("starts_at").first()
    slot_confirm(slot=first, actor=w.alice)
    assert set(AppointmentSlot.objects.values_list("status", flat=True)) == {"confirmed", "lapsed"}


def test_the_response_deadline_becomes_a_milestone_and_is_closed_by_the_answer(packet_world, pkuph_key):
    from scheduling.models import Milestone

    w = packet_world
    due = timezone.now() + dt.timedelta(days=5)
    referral_send(referral=w.referral, actor=w.alice, response_due_at=due)
    milestone = Milestone.objects.get(case=w.case_a, key=f"referral-deadline:{w.referral.pk}")
    assert milestone.due_at == due and milestone.is_open
    api(token=pkuph_key).post(f"/api/v1/referrals/{w.referral.pk}/answer/", {"decision": "accept"})
    milestone.refresh_from_db()
    assert not milestone.is_open


def test_the_centre_posts_and_reads_messages_on_its_referral(packet_world, pkuph_key):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    client = api(token=pkuph_key)
    url = f"/api/v1/referrals/{w.referral.pk}/messages/"
    assert client.post(url, {"body": "Please send the latest CSF result."}).status_code == 201
    assert client.post(url, {"body": "  "}).status_code == 400
    bodies = [m["body"] for m in client.get(url).json()["results"]]
    assert "Please send the latest CSF result." in bodies


def test_the_openapi_schema_documents_the_hospital_api(db):
    from django.urls import include, path
    from drf_spectacular.generators import SchemaGenerator

    patterns = [
        path("api/v1/", include("hospitals.api.urls")),
        path("api/v1/", include("messaging.api.urls")),
        path("api/v1/", include("webhooks.api.urls")),
    ]
    schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    paths = schema["paths"]
    for expected in (
        "/api/v1/referrals/{id}/answer/",
        "/api/v1/referrals/{id}/acknowledge/",
        "/api/v1/referrals/{id}/slots/",
        "/api/v1/referrals/{id}/packets/{version}/{fmt}/",
        "/api/v1/referrals/{id}/documents/{document_id}/",
        "/api/v1/webhook-endpoints/",
        "/api/v1/threads/{id}/messages/",
    ):
        assert expected in paths, expected
    assert "hospitalApiKey" in schema["components"]["securitySchemes"]
    assert paths["/api/v1/referrals/{id}/answer/"]["post"]["requestBody"]


def _logged_in(user):
    """A real session login (SessionAuthentication), not a forced user."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_hospital_b_sees_nothing_of_hospital_a_through_a_session_or_an_api_key(packet_world, pkuph_key, ruijin_key):
    from hospitals.models import AppointmentSlot
    from messaging.models import Thread
    from messaging.services import message_post
    from webhooks.models import WebhookEndpoint

    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    soon = timezone.now() + dt.timedelta(days=3)
    assert (
        api(token=pkuph_key)
        .post(
            f"/api/v1/referrals/{w.referral.pk}/slots/",
            {"kind": "teleconsultation", "slots": [{"starts_at": soon.isoformat()}]},
            format="json",
        )
        .status_code
        == 201
    )
    message_post(author=w.alice, body="Hello PKUPH", case=w.case_a, kind=Thread.Kind.HOSPITAL, hospital=w.pkuph)
    thread = Thread.objects.get(case=w.case_a, hospital=w.pkuph)
    family_thread = message_post(author=w.alice, body="Hello family", case=w.case_a, kind=Thread.Kind.FAMILY).thread
    endpoint = WebhookEndpoint.objects.create(hospital=w.pkuph, url="https://his.pkuph.example.cn/hooks")
    assert AppointmentSlot.objects.filter(referral=w.referral).count() == 1
    messages_before = Thread.objects.get(pk=thread.pk).message_count

    base = f"/api/v1/referrals/{w.referral.pk}"
    forbidden_paths = [
        f"{base}/",
        f"{base}/packets/",
        f"{base}/packets/1/pdf/",
        f"{base}/packets/1/fhir/",
        f"{base}/packets/latest/zip/",
        f"{base}/documents/{w.cd19.pk}/",
        f"{base}/messages/",
        f"{base}/slots/",
        f"/api/v1/threads/{thread.pk}/",
        f"/api/v1/threads/{thread.pk}/messages/",
        f"/api/v1/threads/{family_thread.pk}/messages/",
        f"/api/v1/webhook-endpoints/{endpoint.pk}/",
    ]
    # The core API does not take centre keys at all (one answer for every id); a session does.
    session_only = [f"/api/v1/cases/{w.case_a.pk}/", f"/api/v1/documents/{w.cd19.pk}/"]
    for label, client in (("session", _logged_in(w.dr_wang)), ("api key", api(token=ruijin_key))):
        for path in forbidden_paths + (session_only if label == "session" else []):
            assert client.get(path).status_code == 404, (label, path)
        for path in ("/api/v1/referrals/", "/api/v1/threads/", "/api/v1/webhook-endpoints/"):
            response = client.get(path)
            assert response.status_code == 200 and response.json()["results"] == [], (label, path)
        writes = [
            ("post", f"{base}/acknowledge/", {}),
            ("post", f"{base}/answer/", {"decision": "decline", "reason": "x"}),
            ("post", f"{base}/slots/", {"kind": "admission", "slots": [{"starts_at": soon.isoformat()}]}),
            ("post", f"{base}/messages/", {"body": "hi"}),
            ("post", f"/api/v1/threads/{thread.pk}/messages/", {"body": "hi"}),
            ("patch", f"/api/v1/webhook-endpoints/{endpoint.pk}/", {"url": "https://evil.example/x"}),
            ("delete", f"/api/v1/webhook-endpoints/{endpoint.pk}/", None),
        ]
        for method, path, body in writes:
            kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
            if isinstance(client, type(api())):
                kwargs = {"data": body, "format": "json"} if body is not None else {}
            assert getattr(client, method)(path, **kwargs).status_code == 404, (label, method, path)
    # Nothing moved: the referral, the slots, the thread and the endpoint are as PKUPH left them.
    w.referral.refresh_from_db()
    assert w.referral.status == "sent"
    assert AppointmentSlot.objects.filter(referral=w.referral).count() == 1
    assert Thread.objects.get(pk=thread.pk).message_count == messages_before
    endpoint.refresh_from_db()
    assert endpoint.url == "https://his.pkuph.example.cn/hooks"
    # The owner sees it all through its session too.
    own = _logged_in(w.dr_li)
    assert own.get(f"{base}/slots/").status_code == 200
    assert own.get(f"/api/v1/threads/{thread.pk}/messages/").status_code == 200
    assert own.get(f"/api/v1/threads/{family_thread.pk}/messages/").status_code == 404  # the family's thread


def test_a_revoked_or_rotated_out_key_stops_the_key_but_not_other_keys_of_the_centre(world, pkuph_key):
    second, second_token = credential_issue(hospital=world.pkuph, actor=world.alice, label="PKUPH backup")
    first = ApiCredential.objects.exclude(pk=second.pk).get()
    new, new_token = credential_rotate(credential=first, actor=world.alice, grace=dt.timedelta(0))
    assert api(token=pkuph_key).get("/api/v1/referrals/").status_code == 401  # no grace: refused at once
    credential_revoke(credential=new, actor=world.alice, reason="leaked")
    assert api(token=new_token).get("/api/v1/referrals/").status_code == 401
    assert api(token=second_token).get("/api/v1/referrals/").status_code == 200
    from navigator.errors import DomainError

    with pytest.raises(DomainError):
        credential_rotate(credential=new, actor=world.alice)  # a revoked key cannot be rotated back to life


# --- withdrawal ends the sharing, a decline does not ------------------------------------------------


def _centre_paths(w):
    base = f"/api/v1/referrals/{w.referral.pk}"
    api_key = [
        f"{base}/",
        f"{base}/packets/",
        f"{base}/packets/latest/json/",
        f"{base}/packets/1/pdf/",
        f"{base}/packets/1/zip/",
        f"{base}/documents/{w.cd19.pk}/",
        f"{base}/documents/{w.pathology_en.pk}/",
        f"{base}/messages/",
    ]
    session = [
        f"/api/v1/cases/{w.case_a.pk}/",
        f"/api/v1/documents/{w.cd19.pk}/",
        f"/api/v1/documents/{w.cd19.pk}/download/",
    ]
    return api_key, session


def test_after_a_withdrawal_the_centre_gets_404_on_the_case_packets_and_documents(packet_world, pkuph_key):
    from documents.models import Document
    from hospitals.services.referrals import referral_withdraw

    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    key, session = api(token=pkuph_key), _logged_in(w.dr_li)
    api_key_paths, session_paths = _centre_paths(w)
    for path in api_key_paths:
        assert key.get(path).status_code == 200, path
    for path in session_paths:
        assert session.get(path).status_code == 200, path
    earlier_reads = set(
        AuditEvent.objects.filter(actor=w.dr_li, action__in=["view", "list", "download"]).values_list("pk", flat=True)
    )
    assert AuditEvent.objects.filter(pk__in=earlier_reads, object_type="documents.Document", action="download").exists()

    referral_withdraw(referral=w.referral, actor=w.alice, reason="The family chose another centre")

    for path in api_key_paths:
        assert key.get(path).status_code == 404, path
    for path in session_paths:
        assert session.get(path).status_code == 404, path
    assert key.get("/api/v1/referrals/").json()["results"] == []
    assert key.post(f"/api/v1/referrals/{w.referral.pk}/messages/", {"body": "hi"}, format="json").status_code == 404
    assert not Case.objects.visible_to(w.dr_li).exists()
    assert not Document.objects.visible_to(w.dr_li).exists()
    # The coordinator still sees everything, and the centre's earlier reads stay on record.
    coordinator = api(user=w.alice)
    for path in api_key_paths + session_paths:
        assert coordinator.get(path).status_code == 200, path
    still = set(AuditEvent.objects.filter(pk__in=earlier_reads).values_list("pk", flat=True))
    assert still == earlier_reads


def test_a_declined_referral_keeps_read_access_to_what_was_sent(packet_world, pkuph_key):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    key, session = api(token=pkuph_key), _logged_in(w.dr_li)
    answered = key.post(
        f"/api/v1/referrals/{w.referral.pk}/answer/",
        {"decision": "decline", "reason": "CD19-negative relapse"},
        format="json",
    )
    assert answered.status_code == 200 and answered.json()["status"] == "declined"
    api_key_paths, session_paths = _centre_paths(w)
    for path in api_key_paths:
        assert key.get(path).status_code == 200, path
    for path in session_paths:
        assert session.get(path).status_code == 200, path


def test_sending_a_withdrawn_referral_again_shares_the_case_again(packet_world, pkuph_key):
    from hospitals.services.referrals import referral_withdraw

    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    referral_withdraw(referral=w.referral, actor=w.alice, reason="Sent too early")
    key = api(token=pkuph_key)
    assert key.get(f"/api/v1/referrals/{w.referral.pk}/packets/latest/json/").status_code == 404
    referral_send(referral=w.referral, actor=w.alice, reason="New CD19 result")
    assert key.get(f"/api/v1/referrals/{w.referral.pk}/packets/latest/json/").status_code == 200


# --- a centre's key on routes that do not take it; the schema for integrators -----------------


@pytest.mark.parametrize("path", ["/api/v1/cases/", "/api/v1/documents/", "/api/v1/milestones/"])
def test_a_centres_key_on_a_route_that_does_not_take_it_is_401_with_a_bearer_challenge(world, pkuph_key, path):
    response = api(token=pkuph_key).get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer realm="navigator"')
    assert response.json()["code"] == "not_authenticated"


def test_without_a_bearer_header_the_answers_stay_as_they_were(world):
    assert api().get("/api/v1/cases/").status_code == 403
    assert api(user=world.chen).get("/api/v1/coordinator-tasks/").status_code == 403


def test_the_schema_and_docs_need_a_user_or_a_centres_key_in_production(world, pkuph_key):
    assert api().get("/api/schema/").status_code in (401, 403)
    assert api().get("/api/docs/").status_code in (401, 403)
    assert api(token=pkuph_key).get("/api/schema/").status_code == 200
    assert api(user=world.alice).get("/api/docs/").status_code == 200


def test_a_centres_request_for_more_information_opens_one_task_for_the_coordinator(packet_world, pkuph_key):
    """It used to be dropped by an import guard around a function that never existed."""
    from scheduling.models import CoordinatorTask

    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    url = f"/api/v1/referrals/{w.referral.pk}/answer/"
    response = api(token=pkuph_key).post(url, {"decision": "more_info", "items": ["CSF cytology"]})
    assert response.status_code == 200, response.content
    task = CoordinatorTask.objects.get(case=w.case_a, key=f"referral-info:{w.referral.pk}")
    assert "CSF cytology" in task.detail
    assert task.assignee_id == w.case_a.coordinator_id
