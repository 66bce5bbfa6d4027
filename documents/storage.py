"""Reading a document's bytes back out of storage, as a stream with bounded memory."""

from __future__ import annotations

from collections.abc import Iterator

from botocore.exceptions import ClientError
from django.core.files.storage import default_storage
from django.http import FileResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from .models import Document

CHUNK = 256 * 1024


def _s3_chunks(storage, name: str) -> Iterator[bytes] | None:
    """S3 objects streamed straight from the GET response body (django-storages' S3File would
    first copy the whole object into a local spool file)."""
    bucket = getattr(storage, "bucket", None)
    if bucket is None or not hasattr(storage, "_normalize_name"):
        return None
    body = bucket.Object(storage._normalize_name(name)).get()["Body"]

    def chunks():
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    return chunks()


def document_chunks(name: str) -> Iterator[bytes]:
    """The stored bytes of ``name`` in pieces (FileNotFoundError when the store has no such file)."""
    if hasattr(default_storage, "bucket_name"):
        try:
            chunks = _s3_chunks(default_storage, name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(name) from exc
            raise
        if chunks is not None:
            yield from chunks
            return
    with default_storage.open(name, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def document_response(document: Document, *, inline: bool = False):
    """A streaming response with the detected content type and a safe Content-Disposition
    (an ASCII ``filename`` plus RFC 5987 ``filename*`` for names in other scripts)."""
    storage = document.file.storage
    chunks = _s3_chunks(storage, document.file.name)
    if chunks is not None:
        response = StreamingHttpResponse(chunks, content_type=document.content_type)
    else:
        response = FileResponse(storage.open(document.file.name, "rb"), content_type=document.content_type)
    response["Content-Length"] = str(document.size)
    response["Content-Disposition"] = content_disposition_header(not inline, document.original_name)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    # Shown inline, a document must not run anything: PDFs and images only, no scripts.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    return response
