"""Resumable uploads that any replica can continue: state in PostgreSQL, one writer at a time
(an advisory lock held by a database session), parts in a shared directory or S3 multipart."""

import hashlib
import os

import psycopg
import pytest
from django.db import connection

from documents import tasks, tus, upload_parts
from documents.models import Document, Upload

from .conftest import dicom_bytes, pdf_bytes
from .test_s3_and_admin import s3_server, s3_storage  # noqa: F401 - fixtures
from .test_tus import client_for, create, head, patch, sha1

pytestmark = pytest.mark.django_db(transaction=True)


def other_session():
    """A second database session, as another web replica would hold."""
    params = connection.get_connection_params()
    conninfo = psycopg.conninfo.make_conninfo(
        dbname=params.get("dbname") or connection.settings_dict["NAME"],
        host=params.get("host"),
        port=params.get("port"),
        user=params.get("user"),
        password=params.get("password"),
    )
    return psycopg.connect(conninfo, autocommit=True)


def upload_id(location):
    return location.rstrip("/").rsplit("/", 1)[1]


def test_a_patch_while_another_replica_writes_the_upload_answers_423_and_changes_nothing(world):
    data = pdf_bytes(text="locked")
    client = client_for(world.ivanova)
    location = create(client, world.case_a, len(data))["Location"]
    key = tus.upload_lock_key(upload_id(location))
    with other_session() as replica:
        replica.execute("SELECT pg_advisory_lock(%s)", (key,))
        response = patch(client, location, 0, data[:10])
        assert response.status_code == 423 and response.json()["code"] == "upload_locked"
        assert head(client, location)["Upload-Offset"] == "0"
        # The expiry task leaves an upload alone while it is being written.
        Upload.objects.update(expires_at="2000-01-01T00:00:00Z")
        assert tasks.uploads_expire_run() == 0 and Upload.objects.exists()
        Upload.objects.update(expires_at="2100-01-01T00:00:00Z")
    # The replica's session ended (as when its process dies): the lock went with it.
    assert patch(client, location, 0, data).status_code == 204
    assert Document.objects.get().sha256 == hashlib.sha256(data).hexdigest()


def test_bytes_written_but_never_committed_by_a_dead_replica_are_ignored(world):
    data = pdf_bytes(pages=2, text="replica")
    client = client_for(world.ivanova)
    location = create(client, world.case_a, len(data))["Location"]
    assert patch(client, location, 0, data[:100]).status_code == 204
    # A replica died mid-request: it wrote garbage past the committed offset, never committed.
    with open(tus.upload_path(upload_id(location)), "ab") as part:
        part.write(b"garbage" * 50)
    assert head(client, location)["Upload-Offset"] == "100"
    assert patch(client, location, 100, data[100:]).status_code == 204
    assert Document.objects.get().sha256 == hashlib.sha256(data).hexdigest()


def test_an_upload_whose_parts_are_gone_answers_410(world):
    client = client_for(world.ivanova)
    location = create(client, world.case_a, 100)["Location"]
    patch(client, location, 0, b"%PDF-1.4 ")
    os.unlink(tus.upload_path(upload_id(location)))
    response = patch(client, location, 9, b"x")
    assert response.status_code == 410 and not Upload.objects.exists()


def list_multipart(s3):
    client, bucket = s3
    return client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def objects_under(s3, prefix):
    client, bucket = s3
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def test_with_s3_the_parts_go_to_a_multipart_upload_and_nothing_stays_on_local_disk(world, s3_storage):  # noqa: F811
    part = upload_parts.PART_SIZE
    data = dicom_bytes() + os.urandom(2 * part + 12345)
    client = client_for(world.ivanova)
    created = create(client, world.case_a, len(data), filename="scan.dcm", doc_type="imaging_study")
    location = created["Location"]
    upload = Upload.objects.get()
    assert upload.parts["store"] == "s3"
    prefix = f"{upload_parts.S3_PREFIX}/{upload.pk.hex}/"

    # Less than a part: only the tail object.
    assert patch(client, location, 0, data[:1000]).status_code == 204
    assert [k.rsplit("/", 1)[1].startswith("tail-") for k in objects_under(s3_storage, prefix)] == [True]
    # Across a part boundary: one whole part, the rest as the new tail.
    assert patch(client, location, 1000, data[1000 : part + 5000]).status_code == 204
    assert Upload.objects.get().parts["tail"] == 5000 and len(Upload.objects.get().parts["parts"]) == 1
    assert len(objects_under(s3_storage, prefix)) == 1  # the old tail is gone
    # A piece that fails its checksum commits nothing, though a part was sent to S3.
    bad = patch(client, location, part + 5000, data[part + 5000 : 2 * part + 6000], checksum=sha1(b"other"))
    assert bad.status_code == 460
    assert head(client, location)["Upload-Offset"] == str(part + 5000)
    assert not os.path.exists(tus.upload_path(upload.pk))
    # The rest, with a good checksum: the document is complete and identical.
    rest = data[part + 5000 :]
    response = patch(client, location, part + 5000, rest, checksum=sha1(rest))
    assert response.status_code == 204, response.content
    document = Document.objects.get()
    assert document.sha256 == hashlib.sha256(data).hexdigest() and document.size == len(data)
    assert objects_under(s3_storage, prefix) == [] and list_multipart(s3_storage) == []
    assert not Upload.objects.exists()


def test_with_s3_a_terminated_or_expired_upload_leaves_no_parts(world, s3_storage):  # noqa: F811
    data = dicom_bytes() + os.urandom(upload_parts.PART_SIZE + 10)
    client = client_for(world.ivanova)
    location = create(client, world.case_a, len(data) + 10, filename="scan.dcm", doc_type="imaging_study")["Location"]
    assert patch(client, location, 0, data).status_code == 204
    assert list_multipart(s3_storage) != []
    assert client.delete(location, **{"HTTP_TUS_RESUMABLE": "1.0.0"}).status_code == 204
    assert list_multipart(s3_storage) == [] and objects_under(s3_storage, upload_parts.S3_PREFIX) == []

    other = create(client, world.case_a, len(data) + 10, filename="scan.dcm", doc_type="imaging_study")["Location"]
    assert patch(client, other, 0, data).status_code == 204
    Upload.objects.update(expires_at="2000-01-01T00:00:00Z")
    assert tasks.uploads_expire_run() == 1
    assert list_multipart(s3_storage) == [] and objects_under(s3_storage, upload_parts.S3_PREFIX) == []
