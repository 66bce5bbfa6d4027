"""A family's data request: everything held about the case, as JSON plus every file, in a ZIP."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile

import pytest
from django.core.files.storage import default_storage

from audit.models import AuditEvent
from documents.services import document_create
from portal.models import PortalInvitation


def dicom(size: int, seed: int = 7) -> bytes:
    return b"\x00" * 128 + b"DICM" + bytes([seed]) * (size - 132)


@pytest.fixture
def document(world):
    return document_create(
        case=world.case_a,
        file=io.BytesIO(dicom(4096)),
        filename="Ivanov MRI.dcm",
        doc_type="imaging_study",
        actor=world.alice,
        notes="Sedated; mother present.",
    )


def export(client, case) -> tuple[dict, zipfile.ZipFile]:
    response = client.get(f"/api/v1/cases/{case.pk}/export/")
    assert response.status_code == 200, getattr(response, "content", b"")[:500]
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{case.reference}-data-export.zip"'
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    return json.loads(archive.read("data.json")), archive


def test_a_coordinator_exports_all_structured_data_and_every_file(client, world, document):
    PortalInvitation.objects.create(
        contact=world.contact_a,
        email="olga@example.org",
        token_hash="f" * 64,
        invited_by=world.alice,
        expires_at="2030-01-01T00:00:00Z",
    )
    client.force_login(world.alice)
    data, archive = export(client, world.case_a)

    assert data["format"] == "navigator-case-export/1"
    assert data["case_reference"] == world.case_a.reference
    assert data["case"][0]["pk"] == world.case_a.pk
    assert data["patient"][0]["fields"]["family_name"] == "Ivanov"
    assert [c["fields"]["name"] for c in data["contacts"]] == ["Olga Ivanova"]
    assert {"documents.Document", "hospitals.Referral", "portal.PortalInvitation"} <= set(data["related"])
    (doc,) = data["related"]["documents.Document"]
    assert doc["pk"] == document.pk and doc["fields"]["notes"] == "Sedated; mother present."
    (entry,) = [f for f in data["files"] if f["model"] == "documents.Document"]
    assert archive.read(entry["path"]) == default_storage.open(document.file.name).read()
    # Another family's data is not in it.
    text = archive.read("data.json").decode()
    assert "Xiaoming" not in text and world.case_b.reference not in text


def test_the_export_leaves_out_secrets(client, world):
    PortalInvitation.objects.create(
        contact=world.contact_a,
        email="olga@example.org",
        token_hash="deadbeef" * 8,
        invited_by=world.alice,
        expires_at="2030-01-01T00:00:00Z",
    )
    client.force_login(world.alice)
    data, archive = export(client, world.case_a)
    text = archive.read("data.json").decode()
    assert "deadbeef" not in text
    for rows in data["related"].values():
        for row in rows:
            assert not any(k in row["fields"] for k in ("password", "token_hash", "secret", "key"))


def test_an_export_is_audited(client, world, document):
    client.force_login(world.alice)
    export(client, world.case_a)
    event = AuditEvent.objects.get(action="export")
    assert event.actor == world.alice
    assert event.case_id == world.case_a.pk and event.case_reference == world.case_a.reference
    assert event.detail["files"] == 1 and event.detail["models"]["documents.Document"] == 1


@pytest.mark.parametrize("who", ["ivanova", "dr_li", "dr_wang", "chen"])
def test_only_coordinators_may_export(client, world, who):
    client.force_login(getattr(world, who))
    response = client.get(f"/api/v1/cases/{world.case_a.pk}/export/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not AuditEvent.objects.filter(action="export").exists()


def test_exporting_a_case_that_does_not_exist_answers_404(client, world):
    client.force_login(world.alice)
    response = client.get("/api/v1/cases/987654/export/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_coordinator_exports_from_the_admin(client, world, document):
    client.force_login(world.alice)
    page = client.get("/admin/privacy/casedatarequest/")
    assert page.status_code == 200
    assert world.case_a.reference in page.content.decode()
    response = client.post(
        "/admin/privacy/casedatarequest/",
        {"action": "export_selected", "_selected_action": [world.case_a.pk]},
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "data.json" in archive.namelist()
    link = client.get(f"/admin/privacy/casedatarequest/{world.case_a.pk}/export/")
    assert link.status_code == 200
    assert AuditEvent.objects.filter(action="export", actor=world.alice).count() == 2


def test_families_cannot_reach_the_export_desk_in_the_admin(client, world):
    client.force_login(world.ivanova)
    assert client.get(f"/admin/privacy/casedatarequest/{world.case_a.pk}/export/").status_code == 302


def test_exporting_large_files_streams_with_bounded_memory(client, world):
    size = 24 * 1024 * 1024
    document_create(
        case=world.case_a, file=io.BytesIO(dicom(size)), filename="ct.dcm", doc_type="imaging_study", actor=world.alice
    )
    client.force_login(world.alice)
    response = client.get(f"/api/v1/cases/{world.case_a.pk}/export/")
    tracemalloc.start()
    total = 0
    for chunk in response.streaming_content:
        total += len(chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert total > size
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes while streaming {total}"


def test_the_export_includes_the_access_log_by_role(client, world):
    client.force_login(world.alice)
    client.get(f"/api/v1/cases/{world.case_a.pk}/")  # an audited read
    data, _ = export(client, world.case_a)
    assert any(e["action"] == "view" and e["actor_role"] for e in data["access_log"])
    assert "alice" not in json.dumps(data["access_log"])


def test_the_data_request_desk_keeps_a_constant_number_of_queries(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.factories import CaseFactory

    client.force_login(world.alice)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/admin/privacy/casedatarequest/").status_code == 200
        return len(ctx.captured_queries)

    CaseFactory.create_batch(3)
    count()  # the first page also works out the sidebar's list, which is then kept a while
    small = count()
    CaseFactory.create_batch(30)
    assert count() == small


def test_the_export_holds_every_kind_of_record_the_api_serves_for_the_case_with_field_history(client, world):
    """Issue 21 item 3: per kind, each record the API shows for case A is in the export, the
    field history of patient, contacts and case is there, and so is which centre saw what."""
    from cases.services import case_transition
    from navigator.tests.test_idor import kwargs_for, object_routes, owned_by_case_a, stock_case_a, url_of

    stock_case_a(world)
    case_transition(case=world.case_a, to_status="closed", actor=world.alice, reason="Moving home")
    hospital = client.__class__()
    hospital.force_login(world.dr_li)
    assert hospital.get(f"/api/v1/referrals/{world.referral_a.pk}/").status_code == 200
    client.force_login(world.alice)
    data, _ = export(client, world.case_a)
    exported = {(label, row["pk"]) for label, rows in data["related"].items() for row in rows}
    for section in ("case", "patient", "contacts", "status_history"):
        exported |= {(row["model"], row["pk"]) for row in data[section]}
    exported = {(label.lower(), str(pk)) for label, pk in exported}

    kinds = set()
    for route, callback, methods in object_routes():
        view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        queryset = getattr(view, "queryset", None)
        if "get" not in methods or queryset is None or queryset.model._meta.label == "cases.Case":
            continue
        model = queryset.model
        obj = owned_by_case_a(model, world)
        kwargs = kwargs_for(route, callback, world)
        if obj is None or kwargs is None or str(obj.pk) not in {str(v) for v in kwargs.values()}:
            continue
        if client.get(url_of(route, kwargs)).status_code != 200:
            continue
        kinds.add(model._meta.label)
        assert (model._meta.label_lower, str(obj.pk)) in exported, f"{model._meta.label} {obj.pk} ({route}) missing"
    assert len(kinds) >= 15, kinds
    history = data["field_history"]
    assert {"cases.Patient", "cases.FamilyContact", "cases.Case"} <= set(history)
    assert history["cases.Case"] and any(row["fields"]["family_name"] == "Ivanov" for row in history["cases.Patient"])
    seen = data["seen_by_centres"]
    assert seen and {row["centre"] for row in seen} == {world.pkuph.code}
    assert all(row["actor_role"] == "hospital" for row in seen)
