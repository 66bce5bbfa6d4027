"""The S3 storage path against a local S3-compatible server (moto), the admin desk, the schema."""

import io
import socket
import subprocess
import sys
import time

import boto3
import pytest
from django.urls import reverse

from audit.models import AuditEvent
from documents import services
from documents.models import Document

from .conftest import pdf_bytes


@pytest.fixture(scope="module")
def s3_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def s3_storage(settings, s3_server):
    bucket = "navigator-test"
    client = boto3.client(
        "s3", endpoint_url=s3_server, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    if bucket not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_server,
                "region_name": "us-east-1",
                "access_key": "test",
                "secret_key": "test",
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
    }
    return client, bucket


def test_documents_are_stored_in_s3_privately_and_streamed_back(world, s3_storage, client):
    s3, bucket = s3_storage
    data = pdf_bytes(pages=2, text="s3")
    document = services.document_create(
        case=world.case_a, file=io.BytesIO(data), filename="flow.pdf", doc_type="cd19_flow", actor=world.alice
    )
    assert s3.get_object(Bucket=bucket, Key=document.file.name)["Body"].read() == data
    client.force_login(world.ivanova)
    response = client.get(f"/api/v1/documents/{document.pk}/download/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "application/pdf"


def test_a_refused_upload_leaves_nothing_in_s3(world, s3_storage):
    s3, bucket = s3_storage
    before = s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0)
    with pytest.raises(Exception):  # noqa: B017
        services.document_create(
            case=world.case_a,
            file=io.BytesIO(pdf_bytes(password="x")),
            filename="a.pdf",
            doc_type="cd19_flow",
            actor=world.alice,
        )
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == before


def test_the_admin_upload_shows_validation_errors_as_form_errors(world, client):
    world.alice.is_superuser = True
    world.alice.save()
    client.force_login(world.alice)
    url = reverse("admin:documents_document_add")
    bad = io.BytesIO(b"MZ not a pdf")
    bad.name = "x.pdf"
    response = client.post(url, {"case": world.case_a.pk, "doc_type": "cd19_flow", "upload": bad, "language": ""})
    assert response.status_code == 200 and "This kind of file is not accepted" in response.content.decode()
    good = io.BytesIO(pdf_bytes())
    good.name = "ok.pdf"
    response = client.post(url, {"case": world.case_a.pk, "doc_type": "cd19_flow", "upload": good, "language": ""})
    assert response.status_code == 302
    assert Document.objects.get().original_name == "ok.pdf"


def test_the_admin_review_queue_rejects_with_a_reason_and_downloads_are_audited(world, client):
    world.alice.is_superuser = True
    world.alice.save()
    document = services.document_create(
        case=world.case_a, file=io.BytesIO(pdf_bytes()), filename="a.pdf", doc_type="cd19_flow", actor=world.ivanova
    )
    client.force_login(world.alice)
    changelist = reverse("admin:documents_document_changelist")
    assert client.get(changelist + "?queue=waiting").status_code == 200
    form = client.post(changelist, {"action": "action_reject", "_selected_action": [document.pk]})
    assert b"reason" in form.content
    client.post(
        changelist,
        {"action": "action_reject", "_selected_action": [document.pk], "apply": "1", "reason": "Blurred scan"},
    )
    document.refresh_from_db()
    assert document.review_status == "rejected" and document.rejection_reason == "Blurred scan"
    response = client.get(reverse("admin:documents_document_download", args=[document.pk]))
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="download", object_id=str(document.pk), detail__via="admin").exists()


def test_the_admin_changelist_costs_the_same_queries_at_5_and_50_documents(world, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    world.alice.is_superuser = True
    world.alice.save()
    client.force_login(world.alice)
    counts = []
    for n in (5, 50):
        Document.objects.all().delete()
        Document.objects.bulk_create(
            Document(
                case=world.case_a,
                doc_type="other",
                source="family",
                original_name=f"{i}.pdf",
                file=f"documents/x{i}",
                content_type="application/pdf",
                size=1,
                sha256=f"{i:064d}",
                uploaded_by=world.ivanova,
            )
            for i in range(n)
        )
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("admin:documents_document_changelist")).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_the_openapi_schema_describes_every_documents_operation(db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    ops = {op["operationId"] for path in schema["paths"].values() for op in path.values() if isinstance(op, dict)}
    for expected in (
        "documents_upload",
        "documents_download",
        "documents_accept",
        "documents_reject",
        "documents_checklist",
        "uploads_create",
        "uploads_append",
        "uploads_terminate",
        "document_requests_create",
    ):
        assert expected in ops
    upload = schema["paths"]["/api/v1/documents/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert "409" in upload["responses"]
