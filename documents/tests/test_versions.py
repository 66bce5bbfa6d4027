"""Issue 21 item 4: a new version is proposed until accepted; only acceptance supersedes; a
rejected new version leaves the current one current; a coordinator restores a superseded
version; a translation satisfies the checklist only together with its original."""

from __future__ import annotations

import io

import pytest
from rest_framework.test import APIClient

from documents.models import Document
from documents.selectors import checklist_for
from documents.services import document_accept, document_create, document_reject, document_restore
from navigator.errors import DomainError

pytestmark = pytest.mark.django_db


def _dicom(tag: str) -> io.BytesIO:
    return io.BytesIO(b"\x00" * 128 + b"DICM" + tag.encode() * 64)


def _doc(world, tag, actor=None, **extra) -> Document:
    return document_create(
        case=world.case_a, file=_dicom(tag), filename=f"{tag}.dcm", doc_type="imaging_study",
        actor=actor or world.alice, **extra,
    )  # fmt: skip


def _item(world, key="imaging"):
    return next(i for i in checklist_for(world.case_a) if i.key == key)


@pytest.fixture
def current(world):
    doc = _doc(world, "current")
    return document_accept(document=doc, actor=world.alice, include_in_packets=True)


def test_a_new_version_is_proposed_and_the_current_one_stays_current_until_acceptance(world, current):
    proposed = _doc(world, "proposed", actor=world.ivanova, supersedes=current)
    current.refresh_from_db()
    assert current.review_status == "accepted" and current.is_current
    assert proposed.review_status == "received" and proposed.supersedes_id == current.pk
    item = _item(world)
    assert item.state == "satisfied" and item.documents == [current.pk]
    document_accept(document=proposed, actor=world.alice)
    current.refresh_from_db()
    assert current.review_status == "superseded"
    assert _item(world).documents == [proposed.pk]


def test_rejecting_a_new_version_leaves_the_current_one_current_and_in_packets(world, current):
    proposed = _doc(world, "proposed", actor=world.ivanova, supersedes=current)
    document_reject(document=proposed, actor=world.alice, reason="The same report, older date")
    current.refresh_from_db()
    proposed.refresh_from_db()
    assert current.review_status == "accepted" and current.include_in_packets
    assert proposed.review_status == "rejected" and proposed.supersedes_id is None
    item = _item(world)
    assert item.state == "satisfied" and item.documents == [current.pk]
    # The current version is free for the next proposal.
    again = _doc(world, "again", actor=world.ivanova, supersedes=current)
    assert again.supersedes_id == current.pk


def test_only_one_new_version_waits_for_review_at_a_time(world, current):
    _doc(world, "first", actor=world.ivanova, supersedes=current)
    with pytest.raises(DomainError) as refused:
        _doc(world, "second", actor=world.ivanova, supersedes=current)
    assert refused.value.field == "supersedes" and "waiting for review" in refused.value.message


def test_a_coordinator_restores_a_superseded_version_through_the_api(world, current):
    newer = document_accept(document=_doc(world, "newer", supersedes=current), actor=world.alice)
    client = APIClient()
    client.force_authenticate(world.ivanova)
    assert client.post(f"/api/v1/documents/{current.pk}/restore/").status_code in (403, 404)
    client.force_authenticate(world.alice)
    response = client.post(f"/api/v1/documents/{current.pk}/restore/")
    assert response.status_code == 200 and response.json()["review_status"] == "accepted"
    newer.refresh_from_db()
    assert newer.review_status == "superseded" and not newer.include_in_packets
    assert _item(world).documents == [current.pk]
    again = client.post(f"/api/v1/documents/{current.pk}/restore/")
    assert again.status_code == 400 and "review_status" in again.json()["fields"]


def test_restoring_from_the_admin(client, world, current):
    document_accept(document=_doc(world, "newer", supersedes=current), actor=world.alice)
    client.force_login(world.alice)
    response = client.post(
        "/admin/documents/document/", {"action": "action_restore", "_selected_action": [current.pk]}, follow=True
    )
    assert "Restored 1 version(s)." in response.content.decode()
    current.refresh_from_db()
    assert current.review_status == "accepted"
    with pytest.raises(DomainError):
        document_restore(document=current, actor=world.alice)


def test_a_translation_satisfies_the_checklist_only_together_with_its_original(world):
    original = _doc(world, "original-ru", language="ru")
    translation = _doc(world, "translation-en", translation_of=original, translator="Lingua Bridge Ltd", language="en")
    document_accept(document=translation, actor=world.alice)
    assert _item(world).state == "in_review"  # the original is not accepted yet: not satisfied
    document_accept(document=original, actor=world.alice)
    item = _item(world)
    assert item.state == "satisfied" and item.documents == [original.pk, translation.pk]
