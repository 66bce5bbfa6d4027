"""Resumable uploads (tus 1.0): creation, resume at any offset, checksum, termination, expiry."""

import base64
import datetime as dt
import hashlib
import io
import os

import pytest
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from documents import tasks, tus
from documents.models import Document, Upload

from .conftest import b64, pdf_bytes

URL = "/api/v1/uploads/"
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def metadata(case, filename="big-report.pdf", doc_type="bone_marrow", **extra):
    pairs = {"case": str(case.pk), "doc_type": doc_type, "filename": filename, **extra}
    return ",".join(f"{k} {b64(v)}" for k, v in pairs.items())


def create(client, case, length, **meta):
    return client.post(URL, **TUS, HTTP_UPLOAD_LENGTH=str(length), HTTP_UPLOAD_METADATA=metadata(case, **meta))


def patch(client, location, offset, data, checksum=None):
    headers = {**TUS, "HTTP_UPLOAD_OFFSET": str(offset)}
    if checksum:
        headers["HTTP_UPLOAD_CHECKSUM"] = checksum
    return client.generic("PATCH", location, data, content_type="application/offset+octet-stream", **headers)


def head(client, location):
    return client.head(location, **TUS)


def temp_files():
    return list(tus.upload_dir().glob("*.part"))


def sha1(data: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(data).digest()).decode()


def test_options_announces_version_extensions_and_limits(world):
    response = client_for(world.ivanova).options(URL)
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) == {"creation", "checksum", "expiration", "termination"}
    assert "sha1" in response["Tus-Checksum-Algorithm"]
    assert int(response["Tus-Max-Size"]) > 0


def test_a_request_without_tus_resumable_is_refused_with_412(world):
    response = client_for(world.ivanova).post(URL, HTTP_UPLOAD_LENGTH="10", HTTP_UPLOAD_METADATA=metadata(world.case_a))
    assert response.status_code == 412 and response["Tus-Version"] == "1.0.0"


@pytest.mark.parametrize("cut", ["zero", "one", "mid", "last"])
def test_an_interrupted_upload_resumes_where_it_stopped(world, cut):
    data = pdf_bytes(pages=3, text="resume")
    at = {"zero": 0, "one": 1, "mid": len(data) // 2 + 3, "last": len(data) - 1}[cut]
    client = client_for(world.ivanova)
    created = create(client, world.case_a, len(data), clinical_date="2026-02-01")
    assert created.status_code == 201, created.content
    location = created["Location"]
    assert created["Tus-Resumable"] == "1.0.0" and created["Upload-Expires"]
    if at:
        first = patch(client, location, 0, data[:at])
        assert first.status_code == 204 and first["Upload-Offset"] == str(at)
    # The connection dropped; the client asks where to continue.
    probe = head(client, location)
    assert probe.status_code == 200
    assert probe["Upload-Offset"] == str(at) and probe["Upload-Length"] == str(len(data))
    assert probe["Cache-Control"] == "no-store"
    done = patch(client, location, at, data[at:], checksum=sha1(data[at:]))
    assert done.status_code == 204, done.content
    document = Document.objects.get(pk=done["Navigator-Document-Id"])
    assert document.sha256 == hashlib.sha256(data).hexdigest() and document.size == len(data)
    assert document.clinical_date == dt.date(2026, 2, 1) and document.source == "family"
    assert document.original_name == "big-report.pdf"
    with document.file.open("rb") as f:
        assert f.read() == data
    assert not Upload.objects.exists() and temp_files() == []


def test_a_body_cut_off_mid_request_keeps_what_arrived(world):
    data = pdf_bytes(text="cut")
    client = client_for(world.ivanova)
    location = create(client, world.case_a, len(data))["Location"]
    upload = Upload.objects.get()

    class Dropping(io.BytesIO):
        def read(self, n=-1):
            chunk = super().read(min(n, 100) if n and n > 0 else 100)
            if self.tell() > 300:
                raise OSError("connection reset by peer")
            return chunk

    request = RequestFactory().generic(
        "PATCH",
        location,
        b"",
        content_type="application/offset+octet-stream",
        HTTP_TUS_RESUMABLE="1.0.0",
        HTTP_UPLOAD_OFFSET="0",
    )
    request.META["wsgi.input"] = Dropping(data)
    request.META["CONTENT_LENGTH"] = str(len(data))
    request.META["CONTENT_TYPE"] = "application/offset+octet-stream"
    request._stream = Dropping(data)
    request.user = world.ivanova
    from rest_framework.test import force_authenticate

    force_authenticate(request, user=world.ivanova)
    response = tus.UploadDetailView.as_view()(request, pk=upload.pk)
    assert response.status_code == 204, (response.data, request.META.get("CONTENT_TYPE"))
    received = int(response["Upload-Offset"])
    assert 0 < received < len(data)
    assert patch(client, location, received, data[received:]).status_code == 204
    assert Document.objects.get().sha256 == hashlib.sha256(data).hexdigest()


def test_a_wrong_offset_answers_409_and_changes_nothing(world):
    data = pdf_bytes()
    client = client_for(world.ivanova)
    location = create(client, world.case_a, len(data))["Location"]
    patch(client, location, 0, data[:10])
    response = patch(client, location, 5, data[5:20])
    assert response.status_code == 409 and response.json()["code"] == "offset_mismatch"
    assert head(client, location)["Upload-Offset"] == "10"


def test_a_checksum_mismatch_answers_460_and_discards_the_piece(world):
    data = pdf_bytes()
    client = client_for(world.ivanova)
    location = create(client, world.case_a, len(data))["Location"]
    patch(client, location, 0, data[:10], checksum=sha1(data[:10]))
    response = patch(client, location, 10, data[10:50], checksum=sha1(b"something else"))
    assert response.status_code == 460 and response["Tus-Resumable"] == "1.0.0"
    assert head(client, location)["Upload-Offset"] == "10"
    assert os.path.getsize(temp_files()[0]) == 10


def test_wrong_content_type_and_unknown_checksum_algorithm_are_refused(world):
    client = client_for(world.ivanova)
    location = create(client, world.case_a, 100)["Location"]
    response = client.generic("PATCH", location, b"x", content_type="application/pdf", **TUS, HTTP_UPLOAD_OFFSET="0")
    assert response.status_code == 415
    assert patch(client, location, 0, b"x", checksum="crc32 AAAA").status_code == 400


def test_more_bytes_than_upload_length_are_refused(world):
    client = client_for(world.ivanova)
    location = create(client, world.case_a, 10)["Location"]
    assert patch(client, location, 0, b"x" * 11).status_code == 413
    assert head(client, location)["Upload-Offset"] == "0"


def test_creation_checks_the_metadata_and_size(world, settings):
    client = client_for(world.ivanova)
    assert create(client, world.case_a, 10, filename="../x.pdf").json()["fields"] == {
        "filename": ["The file name must not contain '/' or '\\'; send the file name only, without folders."]
    }
    assert create(client, world.case_a, 10, doc_type="nonsense").status_code == 400
    assert create(client, world.case_a, 10, clinical_date="2026-13-01").status_code == 400
    settings.DOCUMENT_MAX_BYTES = 100
    assert create(client, world.case_a, 101).status_code == 413
    assert create(client, world.case_a, 0).status_code == 400
    assert not Upload.objects.exists() and temp_files() == []


def test_an_upload_for_a_case_the_user_cannot_see_answers_404(world):
    response = create(client_for(world.chen), world.case_a, 10)
    assert response.status_code == 404 and not Upload.objects.exists()


def test_only_the_uploader_may_touch_an_upload(world):
    location = create(client_for(world.ivanova), world.case_a, 10)["Location"]
    for other in (world.chen, world.alice):
        client = client_for(other)
        assert head(client, location).status_code == 404
        assert patch(client, location, 0, b"x").status_code == 404
        assert client.delete(location, **TUS).status_code == 404
    assert Upload.objects.count() == 1


def test_a_hospital_user_cannot_upload(world):
    assert create(client_for(world.dr_li), world.case_a, 10).status_code == 403


def test_termination_removes_the_row_and_the_temporary_data(world):
    client = client_for(world.ivanova)
    location = create(client, world.case_a, 100)["Location"]
    patch(client, location, 0, b"%PDF-" + b"x" * 20)
    assert client.delete(location, **TUS).status_code == 204
    assert not Upload.objects.exists() and temp_files() == []
    assert head(client, location).status_code == 404


def test_a_completed_upload_that_fails_validation_leaves_nothing(world):
    data = pdf_bytes(password="pw")
    client = client_for(world.ivanova)
    location = create(client, world.case_a, len(data))["Location"]
    response = patch(client, location, 0, data)
    assert response.status_code == 400 and response.json()["code"] == "pdf_encrypted"
    assert not Upload.objects.exists() and temp_files() == [] and not Document.objects.exists()


def test_a_completed_duplicate_answers_409_and_leaves_nothing(world):
    data = pdf_bytes(text="dup")
    client = client_for(world.ivanova)
    for expected in (204, 409):
        location = create(client, world.case_a, len(data))["Location"]
        assert patch(client, location, 0, data).status_code == expected
    assert Document.objects.count() == 1 and not Upload.objects.exists() and temp_files() == []


def test_an_expired_upload_answers_410_and_the_task_removes_it_once(world):
    client = client_for(world.ivanova)
    location = create(client, world.case_a, 100)["Location"]
    patch(client, location, 0, b"%PDF-1.4")
    keep = create(client, world.case_a, 100)["Location"]
    Upload.objects.filter(pk=location.rstrip("/").rsplit("/", 1)[1]).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert head(client, location).status_code == 410
    assert tasks.uploads_expire_run() == 1
    assert tasks.uploads_expire_run() == 0  # a second run finds nothing and fails on nothing
    assert Upload.objects.count() == 1 and len(temp_files()) == 1
    assert head(client, keep).status_code == 200
    assert head(client, location).status_code == 404


def test_the_task_removes_old_temporary_files_that_have_no_upload(world):
    orphan = tus.upload_dir() / "0123456789abcdef0123456789abcdef.part"
    orphan.write_bytes(b"x")
    os.utime(orphan, (0, 0))
    assert tasks.uploads_expire.run() == 1 and not orphan.exists()


def test_the_expiry_task_is_scheduled_by_a_migration(db):
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    # Run the migration's own code (the row itself may have been flushed by a transactional
    # test of an earlier run reusing the database); twice, as it must be idempotent.
    migration = importlib.import_module("documents.migrations.0002_expire_uploads_schedule")
    PeriodicTask.objects.filter(task="documents.uploads_expire").delete()
    migration.schedule(apps, None)
    migration.schedule(apps, None)
    task = PeriodicTask.objects.get(task="documents.uploads_expire")
    assert task.enabled and task.interval.every == 1 and task.interval.period == "hours"


def test_upload_expires_is_an_http_date_on_creation_every_patch_and_head(world, settings):
    """tus 1.0 expiration: Upload-Expires in RFC 9110 IMF-fixdate, on POST and on every PATCH."""
    from email.utils import parsedate_to_datetime

    settings.DOCUMENT_UPLOAD_EXPIRY_SECONDS = 3600
    data = pdf_bytes(text="expires")
    client = client_for(world.ivanova)
    assert client.options(URL)["Tus-Max-Size"] == str(settings.DOCUMENT_MAX_BYTES)
    created = create(client, world.case_a, len(data))
    piece = patch(client, created["Location"], 0, data[:10])
    for response in (created, piece, head(client, created["Location"])):
        value = response["Upload-Expires"]
        assert value.endswith(" GMT") and len(value) == len("Wed, 25 Jun 2014 16:00:00 GMT"), value
        expires = parsedate_to_datetime(value)
        assert abs((expires - timezone.now()).total_seconds() - 3600) < 60


def test_a_patch_without_content_length_is_411_and_keeps_the_offset(world):
    """A chunked body reaches a WSGI app with no CONTENT_LENGTH and reads as empty: answering
    204 with the same offset made clients resend the same chunk for ever."""
    client = client_for(world.ivanova)
    data = pdf_bytes(pages=2)
    location = create(client, world.case_a, len(data))["Location"]
    request = RequestFactory().generic(
        "PATCH",
        location,
        data[:100],
        content_type="application/offset+octet-stream",
        HTTP_TUS_RESUMABLE="1.0.0",
        HTTP_UPLOAD_OFFSET="0",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    del request.META["CONTENT_LENGTH"]
    request.user = world.ivanova
    upload_id = location.rstrip("/").rsplit("/", 1)[-1]
    from rest_framework.test import force_authenticate

    force_authenticate(request, user=world.ivanova)
    response = tus.UploadDetailView.as_view()(request, pk=upload_id)
    assert response.status_code == 411
    assert response.data["fields"] == {"Content-Length": [response.data["detail"]]}
    assert head(client, location)["Upload-Offset"] == "0"


@pytest.mark.parametrize(
    "filename, filetype",
    [("notes.txt", ""), ("scan.exe", "application/octet-stream"), ("report.pdf", "text/plain"), ("x.mp4", "video/mp4")],
)
def test_a_file_type_that_cannot_be_accepted_is_refused_before_any_byte_is_sent(world, filename, filetype):
    extra = {"filetype": filetype} if filetype else {}
    response = create(client_for(world.ivanova), world.case_a, 50 * 1024 * 1024, filename=filename, **extra)
    assert response.status_code == 415
    body = response.json()
    assert body["code"] == "file_type" and "file" in body["fields"]
    assert not Upload.objects.exists() and temp_files() == []


@pytest.mark.parametrize(
    "filename, filetype",
    [("report.PDF", "application/pdf"), ("IM000123", ""), ("photo.jpeg", "image/jpeg"), ("scan.heic", "")],
)
def test_an_acceptable_name_and_type_open_an_upload(world, filename, filetype):
    extra = {"filetype": filetype} if filetype else {}
    response = create(client_for(world.ivanova), world.case_a, 1024, filename=filename, **extra)
    assert response.status_code == 201
