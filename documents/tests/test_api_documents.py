"""The documents API: upload, duplicates, per-role access, audited downloads, review, query counts."""

import datetime as dt
import io
import urllib.parse

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from documents import services
from documents.models import Document, DocumentRequest

from .conftest import dicom_bytes, pdf_bytes

URL = "/api/v1/documents/"


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def upload(client, case, data: bytes, name="report.pdf", doc_type="cd19_flow", **extra):
    f = io.BytesIO(data)
    f.name = name
    return client.post(URL, {"file": f, "case": case.pk, "doc_type": doc_type, **extra}, format="multipart")


def stored_files():
    try:
        _dirs, files = default_storage.listdir("documents")
    except FileNotFoundError:
        return []
    names = []
    for d in _dirs:
        names += default_storage.listdir(f"documents/{d}")[1]
    return names + files


def make_document(case, actor, seed=0, **kw):
    return services.document_create(
        case=case,
        file=io.BytesIO(dicom_bytes(seed) + str(seed).encode()),
        filename=f"IM{seed}.dcm",
        doc_type=kw.pop("doc_type", "imaging_study"),
        actor=actor,
        **kw,
    )


def test_a_family_uploads_a_report_to_its_own_case(world):
    response = upload(
        client_for(world.ivanova),
        world.case_a,
        pdf_bytes(),
        name="Анализ CD19.pdf",
        clinical_date="2026-01-10",
        language="ru",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["content_type"] == "application/pdf"
    assert body["source"] == "family" and body["review_status"] == "received"
    assert body["original_name"] == "Анализ CD19.pdf"
    assert body["notes"] == ""  # coordinators' notes are never shown to the family
    document = Document.objects.get(pk=body["id"])
    assert document.file.name.startswith(f"documents/{world.case_a.pk}/") and "CD19" not in document.file.name
    assert AuditEvent.objects.filter(
        action="create", object_type="documents.Document", object_id=str(document.pk)
    ).exists()


def test_the_content_type_comes_from_the_content_not_the_name(world):
    response = upload(client_for(world.alice), world.case_a, dicom_bytes(), name="scan.pdf", doc_type="imaging_study")
    assert response.status_code == 201
    assert response.json()["content_type"] == "application/dicom"


def test_a_rejected_upload_leaves_no_row_and_no_file(world):
    response = upload(client_for(world.ivanova), world.case_a, pdf_bytes(password="pw"))
    assert response.status_code == 400
    assert response.json()["code"] == "pdf_encrypted" and "file" in response.json()["fields"]
    assert not Document.objects.exists() and stored_files() == []


def test_an_empty_upload_is_refused_with_a_clear_message(world):
    response = upload(client_for(world.ivanova), world.case_a, b"")
    assert response.status_code == 400 and response.json()["code"] == "file_empty"


def test_a_duplicate_in_the_same_case_answers_409_and_names_the_existing_file(world):
    client = client_for(world.ivanova)
    assert upload(client, world.case_a, pdf_bytes(), name="first.pdf").status_code == 201
    response = upload(client, world.case_a, pdf_bytes(), name="again.pdf")
    assert response.status_code == 409
    assert "first.pdf" in response.json()["detail"] and response.json()["code"] == "duplicate"
    assert Document.objects.count() == 1 and len(stored_files()) == 1


def test_the_same_file_in_another_case_is_not_a_duplicate(world):
    assert upload(client_for(world.alice), world.case_a, pdf_bytes()).status_code == 201
    assert upload(client_for(world.alice), world.case_b, pdf_bytes()).status_code == 201


def test_a_family_cannot_upload_to_another_familys_case(world):
    response = upload(client_for(world.chen), world.case_a, pdf_bytes())
    assert response.status_code == 400 and "case" in response.json()["fields"]
    assert not Document.objects.exists()


def test_a_hospital_cannot_upload(world):
    assert upload(client_for(world.dr_li), world.case_a, pdf_bytes()).status_code == 403


def test_a_family_cannot_see_or_download_another_familys_document(world):
    document = make_document(world.case_a, world.alice)
    chen = client_for(world.chen)
    assert chen.get(f"{URL}{document.pk}/").status_code == 404
    assert chen.get(f"{URL}{document.pk}/download/").status_code == 404
    assert chen.get(URL).json()["results"] == []


def test_a_hospital_sees_only_packet_documents_of_cases_shared_with_it(world):
    packet = make_document(world.case_a, world.alice, seed=1, include_in_packets=True)
    internal = make_document(world.case_a, world.alice, seed=2)
    other_case = make_document(world.case_b, world.alice, seed=3, include_in_packets=True)
    li = client_for(world.dr_li)
    assert [d["id"] for d in li.get(URL).json()["results"]] == [packet.pk]
    assert li.get(f"{URL}{internal.pk}/download/").status_code == 404
    assert li.get(f"{URL}{other_case.pk}/download/").status_code == 404
    assert li.get(f"{URL}{packet.pk}/download/").status_code == 200
    assert client_for(world.dr_wang).get(f"{URL}{packet.pk}/download/").status_code == 404


def test_a_download_streams_the_bytes_with_a_safe_disposition_and_is_audited(world):
    data = pdf_bytes(text="x")
    document = services.document_create(
        case=world.case_a, file=io.BytesIO(data), filename='Отчёт "CD19".pdf', doc_type="cd19_flow", actor=world.ivanova
    )
    response = client_for(world.ivanova).get(f"{URL}{document.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''")
    encoded = response["Content-Disposition"].split("''", 1)[1]
    assert urllib.parse.unquote(encoded) == 'Отчёт "CD19".pdf' and '"' not in encoded and " " not in encoded
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    events = AuditEvent.objects.filter(object_id=str(document.pk), action="download")
    assert [e.actor_label for e in events] == [world.ivanova.pseudonym] and events[0].case_id == world.case_a.pk
    assert not AuditEvent.objects.filter(object_id=str(document.pk), action="view").exists()


def test_viewing_content_inline_is_audited_as_a_view(world):
    document = make_document(world.case_a, world.alice)
    response = client_for(world.alice).get(f"{URL}{document.pk}/download/?inline=true")
    assert response["Content-Disposition"].startswith("inline")
    assert AuditEvent.objects.filter(object_id=str(document.pk), action="view", detail__content=True).count() == 1


def test_reading_a_documents_description_is_audited(world):
    document = make_document(world.case_a, world.alice)
    client_for(world.ivanova).get(f"{URL}{document.pk}/")
    assert AuditEvent.objects.filter(
        object_id=str(document.pk), action="view", actor_label=world.ivanova.pseudonym
    ).exists()


def test_filters_by_type_status_date_and_case(world):
    a = make_document(world.case_a, world.alice, seed=1, doc_type="cd19_flow", clinical_date=dt.date(2026, 1, 5))
    make_document(world.case_a, world.alice, seed=2, doc_type="mrd_report", clinical_date=dt.date(2025, 6, 1))
    make_document(world.case_b, world.alice, seed=3, doc_type="cd19_flow")
    client = client_for(world.alice)
    ids = lambda q: [d["id"] for d in client.get(URL + q).json()["results"]]  # noqa: E731
    assert ids(f"?case={world.case_a.pk}&doc_type=cd19_flow") == [a.pk]
    assert ids(f"?case={world.case_a.pk}&clinical_date_after=2026-01-01") == [a.pk]
    assert ids(f"?case={world.case_a.pk}&review_status=accepted") == []


def test_only_coordinators_review(world):
    document = make_document(world.case_a, world.alice)
    assert client_for(world.ivanova).post(f"{URL}{document.pk}/accept/").status_code == 403
    assert client_for(world.chen).post(f"{URL}{document.pk}/accept/").status_code in (403, 404)


def test_a_coordinator_accepts_rejects_with_a_reason_and_asks_for_a_better_copy(world):
    client = client_for(world.alice)
    doc = make_document(world.case_a, world.alice, seed=1, doc_type="cd19_flow")
    response = client.post(f"{URL}{doc.pk}/reject/", {"reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    response = client.post(f"{URL}{doc.pk}/reject/", {"reason": "Page 2 is cut off"}, format="json")
    assert response.json()["review_status"] == "rejected" and response.json()["rejection_reason"] == "Page 2 is cut off"
    response = client.post(
        f"{URL}{doc.pk}/request-better-copy/",
        {
            "description": "Please scan both pages",
            "due_date": str(timezone.localdate() + dt.timedelta(days=7)),
            "asked_contact": world.contact_a.pk,
        },
        format="json",
    )
    assert response.status_code == 201
    req = DocumentRequest.objects.get(pk=response.json()["id"])
    assert req.replaces_document == doc and req.asked_user == world.ivanova
    # The family's new copy answers the request and is proposed to supersede the old one; both
    # are kept, and the old one is superseded once the new one is accepted (issue 21).
    new = upload(client_for(world.ivanova), world.case_a, pdf_bytes(text="better"), doc_type="cd19_flow")
    assert new.status_code == 201 and new.json()["supersedes"] == doc.pk
    doc.refresh_from_db()
    assert doc.review_status == "rejected"
    accepted = client.post(f"{URL}{new.json()['id']}/accept/", {"include_in_packets": True}, format="json")
    assert accepted.json()["review_status"] == "accepted" and accepted.json()["include_in_packets"] is True
    doc.refresh_from_db()
    assert doc.review_status == "superseded"
    req.refresh_from_db()
    assert req.status == "fulfilled"
    listed = client.get(f"{URL}?case={world.case_a.pk}").json()["results"]
    assert {d["id"]: d["superseded_by"] for d in listed}[doc.pk] == new.json()["id"]


def test_mark_for_translation_and_link_the_translation(world):
    client = client_for(world.alice)
    original = make_document(world.case_a, world.alice, seed=1, language="ru")
    assert client.post(f"{URL}{original.pk}/mark-for-translation/").json()["translation_status"] == "needed"
    response = upload(
        client,
        world.case_a,
        pdf_bytes(text="en"),
        doc_type="imaging_study",
        language="en",
        translation_of=original.pk,
        translator="Lingua Med",
    )
    assert response.status_code == 201 and response.json()["translation_of"] == original.pk
    original.refresh_from_db()
    assert original.translation_status == "translated" and original.translations.get().translator == "Lingua Med"


def _list_queries(client, case):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"{URL}?case={case.pk}&page_size=200")
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["results"])


def _bulk_documents(case, user, n):
    Document.objects.bulk_create(
        Document(
            case=case,
            doc_type="other",
            source="family",
            uploaded_by=user,
            original_name=f"f{i}.pdf",
            file=f"documents/{case.pk}/x{i}.pdf",
            content_type="application/pdf",
            size=10,
            sha256=f"{i:064d}",
        )
        for i in range(n)
    )


@pytest.mark.parametrize("who", ["alice", "ivanova", "dr_li"])
def test_a_cases_document_list_costs_the_same_queries_at_5_and_300_documents(world, who):
    user = getattr(world, who)
    client = client_for(user)
    _bulk_documents(world.case_a, world.ivanova, 5)
    Document.objects.update(include_in_packets=True)
    small, shown_small = _list_queries(client, world.case_a)
    Document.objects.all().delete()
    _bulk_documents(world.case_a, world.ivanova, 300)
    Document.objects.update(include_in_packets=True)
    large, shown_large = _list_queries(client, world.case_a)
    assert (shown_small, shown_large) == (5, 200)
    assert small == large
