"""Reviewing where the document is: the file shown beside accept / reject / ask for a better copy."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from audit.models import AuditEvent
from documents import services
from documents.models import Document, DocumentRequest

from .conftest import image_bytes, pdf_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(world):
    client = Client()
    client.force_login(world.alice)
    return client


def _upload(world, data: bytes, name: str, doc_type="cd19_flow") -> Document:
    return services.document_create(
        case=world.case_a, file=io.BytesIO(data), filename=name, doc_type=doc_type, actor=world.ivanova
    )


def test_a_pdf_is_shown_in_a_frame_beside_the_review_through_the_audited_preview(world, coordinator):
    doc = _upload(world, pdf_bytes(), "cd19.pdf")
    page = coordinator.get(f"/admin/documents/document/{doc.pk}/change/").content.decode()
    preview = f"/admin/documents/document/{doc.pk}/download/?inline=1"
    assert f'<iframe src="{preview}"' in page
    assert 'value="accept"' in page and 'value="reject"' in page and 'value="better_copy"' in page
    shown = coordinator.get(preview)
    assert shown.status_code == 200
    assert shown["X-Frame-Options"] == "SAMEORIGIN"
    policy = shown["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy and "frame-ancestors 'self'" in policy
    assert AuditEvent.objects.filter(action="view", object_id=str(doc.pk), detail__via="admin").exists()
    # Only the inline preview may be framed; a download keeps the site's refusal.
    assert coordinator.get(preview.replace("?inline=1", ""))["X-Frame-Options"] == "DENY"


def test_an_image_is_shown_as_an_image(world, coordinator):
    doc = _upload(world, image_bytes("PNG"), "marrow.png", doc_type="bone_marrow")
    page = coordinator.get(f"/admin/documents/document/{doc.pk}/change/").content.decode()
    assert f'<img src="/admin/documents/document/{doc.pk}/download/?inline=1"' in page


def test_accepting_on_the_page_puts_the_record_into_packets_and_moves_on(world, coordinator):
    first = _upload(world, pdf_bytes(text="one"), "one.pdf")
    second = _upload(world, pdf_bytes(text="two"), "two.pdf", doc_type="mrd_report")
    response = coordinator.post(
        f"/admin/documents/document/{first.pk}/review/", {"decision": "accept", "include_in_packets": "1"}
    )
    first.refresh_from_db()
    assert first.review_status == "accepted" and first.include_in_packets
    assert response.status_code == 302 and response["Location"].endswith(f"/document/{second.pk}/change/")
    last = coordinator.post(f"/admin/documents/document/{second.pk}/review/", {"decision": "accept"})
    second.refresh_from_db()
    assert second.review_status == "accepted" and not second.include_in_packets
    assert last["Location"].endswith(f"/case/{world.case_a.pk}/change/?open=records#tab-records")


def test_rejecting_needs_a_reason_the_family_can_act_on(world, coordinator):
    doc = _upload(world, pdf_bytes(), "blurry.pdf")
    url = f"/admin/documents/document/{doc.pk}/review/"
    refused = coordinator.post(url, {"decision": "reject", "reject-reason": " "}, follow=True)
    doc.refresh_from_db()
    assert doc.review_status == "received" and "Say why" in refused.content.decode()
    coordinator.post(url, {"decision": "reject", "reject-reason": "The scan is blurred; photograph it again."})
    doc.refresh_from_db()
    assert doc.review_status == "rejected" and doc.rejection_reason.startswith("The scan is blurred")


def test_asking_for_a_better_copy_opens_a_request_that_replaces_the_file(world, coordinator):
    doc = _upload(world, pdf_bytes(), "cut-off.pdf")
    coordinator.post(
        f"/admin/documents/document/{doc.pk}/review/",
        {"decision": "better_copy", "better-description": "Page 2 is cut off.", "better-due_date": ""},
    )
    request = DocumentRequest.objects.get(replaces_document=doc)
    assert request.description == "Page 2 is cut off." and request.status == "open"


def test_a_family_member_cannot_review(world):
    doc = _upload(world, pdf_bytes(), "mine.pdf")
    family = Client()
    family.force_login(world.ivanova)
    response = family.post(f"/admin/documents/document/{doc.pk}/review/", {"decision": "accept"})
    assert response.status_code in (302, 403, 404)
    doc.refresh_from_db()
    assert doc.review_status == "received"
