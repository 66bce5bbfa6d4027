"""Where the bytes of a resumable upload wait until the last one arrives, reachable from every
web replica.

The upload's row in PostgreSQL is the truth: its ``offset`` counts the bytes that are safely
stored, its ``parts`` say where they are. Bytes a request wrote but never committed (the
replica died, the checksum failed) are ignored by the next request, whichever replica serves it.

- ``directory``: one file per upload under ``DOCUMENT_UPLOAD_DIR``, a directory every replica
  mounts (a shared volume) when documents are stored on disk. Each request first cuts the file
  back to the committed offset, then appends.
- ``s3``: when documents are stored in S3, the bytes go to an S3 multipart upload as they
  arrive, in parts of ``PART_SIZE`` (S3 wants at least 5 MiB for every part but the last). The
  bytes after the last whole part (the tail, less than a part) are kept as a small object of
  their own and read back by the next request. No replica keeps anything on its own disk.

A store is chosen when the upload is created and kept in its row, so a change of settings never
strands an upload in progress.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages

from navigator.errors import DomainError

PART_SIZE = 8 * 1024 * 1024
S3_PREFIX = "tus-uploads"


class PartsGone(DomainError):
    """The stored bytes of an upload no longer match its row (removed, or a store mislaid them)."""

    def __init__(self):
        super().__init__("The data of this upload is gone; start again.", code="upload_expired")


def upload_dir() -> Path:
    path = Path(getattr(settings, "DOCUMENT_UPLOAD_DIR", settings.BASE_DIR / "var" / "uploads"))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def upload_path(upload_id) -> Path:
    return upload_dir() / f"{uuid.UUID(str(upload_id)).hex}.part"


def _s3_storage():
    """The document storage when it is S3 (django-storages), else None."""
    storage = storages["default"]
    return storage if hasattr(storage, "bucket_name") and hasattr(storage, "connection") else None


def store_for_new_upload() -> dict:
    """The ``parts`` state of a new upload: where its bytes will go."""
    if _s3_storage() is not None:
        return {"store": "s3", "parts": [], "tail": 0}
    return {"store": "directory"}


def store(upload) -> DirectoryStore | S3Store:
    kind = (upload.parts or {}).get("store", "directory")
    return S3Store(upload) if kind == "s3" else DirectoryStore(upload)


# --- A directory every replica mounts ----------------------------------------------------------------


class DirectoryStore:
    def __init__(self, upload):
        self.upload = upload
        self.path = upload_path(upload.pk)
        self.fd: int | None = None

    def create(self) -> None:
        self.path.touch(mode=0o600)

    def begin(self) -> None:
        """Open the file and cut off anything past the committed offset."""
        try:
            self.fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            raise PartsGone()
        if os.fstat(self.fd).st_size < self.upload.offset:
            os.close(self.fd)
            self.fd = None
            raise PartsGone()
        os.ftruncate(self.fd, self.upload.offset)
        os.lseek(self.fd, self.upload.offset, os.SEEK_SET)

    def write(self, chunk: bytes) -> None:
        assert self.fd is not None
        view = memoryview(chunk)
        while view:
            view = view[os.write(self.fd, view) :]

    def commit(self) -> dict:
        assert self.fd is not None
        os.fsync(self.fd)
        return self.upload.parts

    def abort(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, self.upload.offset)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    @contextlib.contextmanager
    def assembled(self) -> Iterator[str]:
        """The whole file on local disk, for ``document_create``."""
        yield str(self.path)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


# --- S3 multipart ------------------------------------------------------------------------------------


class S3Store:
    def __init__(self, upload):
        self.upload = upload
        self.state = dict(upload.parts or {})
        storage = _s3_storage()
        if storage is None:
            raise DomainError("This upload was started in S3, which is no longer the document store; start again.")
        self.client = storage.connection.meta.client
        self.bucket = storage.bucket_name
        self.prefix = f"{S3_PREFIX}/{uuid.UUID(str(upload.pk)).hex}/"
        self.buffer = bytearray()
        self.pending: list[list] = []

    def create(self) -> None:
        """Nothing yet: the multipart upload is started by the first bytes."""

    def _committed_parts(self) -> list[list]:
        return list(self.state.get("parts", []))

    def begin(self) -> None:
        if not self.state.get("mpu"):
            created = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.prefix + "data")
            self.state["mpu"] = created["UploadId"]
            # Recorded at once: a request that then fails still leaves the next one this upload.
            type(self.upload).objects.filter(pk=self.upload.pk).update(parts=self.state)
        tail = self.state.get("tail", 0)
        if tail:
            try:
                body = self.client.get_object(Bucket=self.bucket, Key=self.state["tail_key"])["Body"]
                data = body.read()
            except self.client.exceptions.NoSuchKey:
                raise PartsGone()
            if len(data) != tail:
                raise PartsGone()
            self.buffer = bytearray(data)

    def _flush_part(self, data: bytes) -> None:
        number = len(self._committed_parts()) + len(self.pending) + 1
        # A part number uploaded by a request that never committed is simply uploaded again.
        result = self.client.upload_part(
            Bucket=self.bucket,
            Key=self.prefix + "data",
            UploadId=self.state["mpu"],
            PartNumber=number,
            Body=data,
        )
        self.pending.append([number, result["ETag"], len(data)])

    def write(self, chunk: bytes) -> None:
        self.buffer += chunk
        while len(self.buffer) >= PART_SIZE:
            self._flush_part(bytes(self.buffer[:PART_SIZE]))
            del self.buffer[:PART_SIZE]

    def commit(self) -> dict:
        """Store the tail under a new key (the old one stays valid until the row says otherwise)
        and return the state the row must now hold."""
        state = dict(self.state)
        state["parts"] = self._committed_parts() + self.pending
        self._old_tail = state.get("tail_key")
        if self.buffer:
            offset = sum(p[2] for p in state["parts"]) + len(self.buffer)
            key = f"{self.prefix}tail-{offset}-{uuid.uuid4().hex[:8]}"
            self.client.put_object(Bucket=self.bucket, Key=key, Body=bytes(self.buffer))
            state["tail_key"] = key
        else:
            state.pop("tail_key", None)
        state["tail"] = len(self.buffer)
        self.pending = []
        self.state = state
        return state

    def committed(self) -> None:
        """The row holds the new state: the previous tail is garbage now."""
        old = getattr(self, "_old_tail", None)
        if old and old != self.state.get("tail_key"):
            self.client.delete_object(Bucket=self.bucket, Key=old)

    def abort(self) -> None:
        self.pending = []
        self.buffer = bytearray()

    def close(self) -> None:
        self.buffer = bytearray()

    @contextlib.contextmanager
    def assembled(self) -> Iterator[str]:
        """Complete the multipart upload and bring the file to a local temporary file for
        validation (``document_create`` reads it twice: to inspect, then to store)."""
        parts = self._committed_parts()
        if self.state.get("tail"):
            data = self.client.get_object(Bucket=self.bucket, Key=self.state["tail_key"])["Body"].read()
            self._flush_part(data)
            parts = parts + self.pending
        if not parts:  # an empty upload is refused earlier (Upload-Length 0); keep S3 happy anyway
            raise PartsGone()
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.prefix + "data",
            UploadId=self.state["mpu"],
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag, _size in parts]},
        )
        self.state["mpu"] = None
        with tempfile.NamedTemporaryFile(prefix="navigator-upload-", suffix=".part") as local:
            body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + "data")["Body"]
            try:
                for chunk in body.iter_chunks(1024 * 1024):
                    local.write(chunk)
            finally:
                body.close()
            local.flush()
            yield local.name

    def discard(self) -> None:
        """Abort the multipart uploads and remove every object of this upload. Safe to call twice."""
        listed_uploads = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix)
        for started in listed_uploads.get("Uploads", []):
            with contextlib.suppress(self.client.exceptions.NoSuchUpload):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=started["Key"], UploadId=started["UploadId"])
        listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix)
        keys = [{"Key": item["Key"]} for item in listed.get("Contents", [])]
        if keys:
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
