"""Resumable uploads: the tus 1.0.0 protocol (https://tus.io/protocols/resumable-upload).

Core protocol plus the creation, checksum, expiration and termination extensions, at
``/api/v1/uploads/``. A family on a dropping connection sends a file in pieces; whenever the
connection breaks, the client asks for the offset (HEAD) and continues from there (PATCH).

Any web replica continues any upload. The upload's state is its row in PostgreSQL: the
committed offset, and where the bytes are (``documents.upload_parts``: a directory every replica
mounts, or an S3 multipart upload when documents live in S3). One request at a time writes to an
upload: a PATCH takes a PostgreSQL advisory lock on it (``navigator.locks``), held by its
database session, so a replica that dies mid-request lets go at once; a second PATCH meanwhile
answers 423 Locked. Bodies are read in 1 MiB pieces (memory stays bounded whatever the file
size). When the last byte arrives the file goes through ``documents.services.document_create``,
the same validation and storage as any other upload; refused or finished, the stored parts are
removed at once. Abandoned uploads expire and ``documents.tasks.uploads_expire`` removes them.

Only the user who created an upload may touch it, and only while they can still see its case;
to anybody else it does not exist (404).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import is_coordinator, is_family
from audit.mixins import AuditedViewMixin, audited
from audit.services import audit_record
from cases.models import Case
from navigator import locks
from navigator.errors import DomainError
from navigator.metrics import UPLOAD_BYTES

from . import services, upload_parts
from .models import DocType, DocumentRequest, Upload
from .upload_parts import upload_dir, upload_path  # noqa: F401 - part of this module's interface
from .validation import check_declared_size, check_declared_type, clean_filename

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,checksum,expiration,termination"
CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "md5": hashlib.md5}
CHUNK = 1024 * 1024
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"


class TusError(DomainError):
    """A protocol error with the status tus prescribes for it."""

    def __init__(self, message: str, *, status_code: int, code: str, field: str | None = None):
        super().__init__(message, field=field, code=code)
        self.status_code = status_code


def upload_lifetime() -> dt.timedelta:
    return dt.timedelta(seconds=getattr(settings, "DOCUMENT_UPLOAD_EXPIRY_SECONDS", 24 * 3600))


def upload_lock_key(upload_id) -> int:
    return locks.key_for(f"upload:{upload_id}")


def upload_discard(upload: Upload | str) -> None:
    """Remove an upload's stored parts and its row. Safe to call twice."""
    if not isinstance(upload, Upload):
        found = Upload.objects.filter(pk=upload).first()
        if found is None:
            return
        upload = found
    upload_parts.store(upload).discard()
    Upload.objects.filter(pk=upload.pk).delete()


# --- Parsing headers ---------------------------------------------------------------------------


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata: key base64value,key2 base64value2`` as a dict of text values."""
    result: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in (header or "").split(","))):
        key, _sep, value = pair.partition(" ")
        if not key or key in result:
            raise TusError(
                "Upload-Metadata must be comma-separated 'key base64value' pairs with unique keys.",
                status_code=400,
                code="metadata_invalid",
                field="Upload-Metadata",
            )
        try:
            result[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value.strip() else ""
        except (binascii.Error, UnicodeDecodeError):
            raise TusError(
                f"Upload-Metadata value of '{key}' is not base64-encoded UTF-8.",
                status_code=400,
                code="metadata_invalid",
                field=key,
            )
    return result


def _int_header(request, name: str) -> int | None:
    raw = request.headers.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise TusError(f"{name} must be a non-negative integer.", status_code=400, code="header_invalid", field=name)
    return int(raw)


def _checksum(request):
    raw = request.headers.get("Upload-Checksum")
    if not raw:
        return None
    algorithm, _sep, encoded = raw.strip().partition(" ")
    if algorithm.lower() not in CHECKSUM_ALGORITHMS:
        raise TusError(
            f"Checksum algorithm '{algorithm}' is not supported; use one of {', '.join(CHECKSUM_ALGORITHMS)}.",
            status_code=400,
            code="checksum_algorithm",
            field="Upload-Checksum",
        )
    try:
        expected = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise TusError(
            "Upload-Checksum must be '<algorithm> <base64 digest>'.",
            status_code=400,
            code="header_invalid",
            field="Upload-Checksum",
        )
    return CHECKSUM_ALGORITHMS[algorithm.lower()](), expected


def _metadata_to_fields(meta: dict[str, str], user) -> dict:
    """Case, type, date and name from the metadata, each checked with a field-level message."""
    case_value = (meta.get("case") or meta.get("case_id") or "").strip()
    if not case_value:
        raise TusError(
            "Upload-Metadata must name the case (key 'case').", status_code=400, code="required", field="case"
        )
    cases = Case.objects.visible_to(user)
    lookup = {"pk": int(case_value)} if case_value.isdigit() else {"reference": case_value}
    case = cases.filter(**lookup).select_related("patient").first()
    if case is None:
        raise Http404("No such case.")
    doc_type = (meta.get("doc_type") or meta.get("type") or "").strip()
    if doc_type not in DocType.values:
        raise TusError(
            f"Upload-Metadata 'doc_type' must be one of {', '.join(DocType.values)}.",
            status_code=400,
            code="invalid",
            field="doc_type",
        )
    clinical_date = None
    if meta.get("clinical_date"):
        try:
            clinical_date = dt.date.fromisoformat(meta["clinical_date"].strip())
        except ValueError:
            raise TusError(
                "Upload-Metadata 'clinical_date' must be a date as YYYY-MM-DD.",
                status_code=400,
                code="invalid",
                field="clinical_date",
            )
        if clinical_date > timezone.localdate():
            raise TusError(
                "The clinical date (of the report or sample) cannot be in the future.",
                status_code=400,
                code="invalid",
                field="clinical_date",
            )
    filename = clean_filename(meta.get("filename") or meta.get("name"))
    try:
        check_declared_type(filename, meta.get("filetype") or meta.get("type"))
    except DomainError as refused:
        raise TusError(refused.message, status_code=415, code="file_type", field="file") from refused
    request_obj = None
    if meta.get("request"):
        raw = meta["request"].strip()
        request_obj = (
            DocumentRequest.objects.visible_to(user).filter(pk=int(raw), case=case).first() if raw.isdigit() else None
        )
        if request_obj is None:
            raise TusError("No such open request for this case.", status_code=400, code="invalid", field="request")
    language = (meta.get("language") or "").strip()[:16]
    return {
        "case": case,
        "doc_type": doc_type,
        "clinical_date": clinical_date,
        "filename": filename,
        "request": request_obj,
        "language": language,
    }


def upload_create(*, actor, length: int, meta: dict[str, str]) -> Upload:
    """Open a resumable upload of ``length`` bytes described by its tus metadata: the row and
    its empty file. A description that does not validate raises before anything is written."""
    fields = _metadata_to_fields(meta, actor)
    now = timezone.now()
    upload = Upload(
        user=actor,
        length=length,
        metadata={k: v for k, v in meta.items() if k not in ("filename", "name")},
        created_at=now,
        expires_at=now + upload_lifetime(),
        case=fields["case"],
        doc_type=fields["doc_type"],
        clinical_date=fields["clinical_date"],
        filename=fields["filename"],
        request=fields["request"],
        language=fields["language"],
        parts=upload_parts.store_for_new_upload(),
    )
    store = upload_parts.store(upload)
    # The store's place exists before the row is committed; if the commit fails, it goes again.
    store.create()
    try:
        with transaction.atomic():
            upload.save(force_insert=True)
            audit_record(actor=actor, action="create", obj=upload, case=upload.case, detail={"length": length})
    except BaseException:
        store.discard()
        raise
    return upload


# --- Views --------------------------------------------------------------------------------------


class TusMixin:
    """Tus-Resumable on every response; the version check on every request but OPTIONS."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise TusError(
                f"Send the header Tus-Resumable: {TUS_VERSION}; this server speaks tus {TUS_VERSION}.",
                status_code=412,
                code="tus_version",
                field="Tus-Resumable",
            )
        if request.method != "OPTIONS" and not (is_coordinator(request.user) or is_family(request.user)):
            raise PermissionDenied

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = TUS_VERSION
        if response.status_code == 412:
            response["Tus-Version"] = TUS_VERSION
        response["Cache-Control"] = "no-store"
        return response

    def options(self, request, *args, **kwargs):
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Extension"] = TUS_EXTENSIONS
        response["Tus-Max-Size"] = str(settings.DOCUMENT_MAX_BYTES)
        response["Tus-Checksum-Algorithm"] = ",".join(CHECKSUM_ALGORITHMS)
        return response


TUS_HEADERS = [
    OpenApiParameter("Tus-Resumable", str, OpenApiParameter.HEADER, required=True, enum=[TUS_VERSION]),
]
ERRORS = {
    400: OpenApiResponse(description="Invalid header or metadata; `fields` names it."),
    401: OpenApiResponse(description="Not authenticated."),
    403: OpenApiResponse(description="This role may not upload."),
    404: OpenApiResponse(description="No such upload or case, or not visible to the caller."),
    412: OpenApiResponse(description="Tus-Resumable missing or an unsupported version."),
}


class UploadCreateView(TusMixin, AuditedViewMixin, APIView):
    """POST creates an upload; OPTIONS tells what the server supports."""

    visibility = "the target case is looked up in Case.objects.visible_to(user)"

    @extend_schema(
        operation_id="uploads_discover",
        summary="Discover tus capabilities",
        request=None,
        responses={204: OpenApiResponse(description="Tus-Version, Tus-Extension, Tus-Max-Size headers.")},
        tags=["uploads"],
    )
    def options(self, request, *args, **kwargs):
        return super().options(request, *args, **kwargs)

    @extend_schema(
        operation_id="uploads_create",
        summary="Create a resumable upload (tus creation)",
        description=(
            "Upload-Metadata carries base64 values for `case` (id or reference), `doc_type`, `filename`, "
            "and optionally `clinical_date` (YYYY-MM-DD), `language`, `request` (a document request id)."
        ),
        parameters=[
            *TUS_HEADERS,
            OpenApiParameter("Upload-Length", int, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("Upload-Metadata", str, OpenApiParameter.HEADER, required=True),
        ],
        request=None,
        responses={
            201: OpenApiResponse(description="Created; Location is the upload URL, Upload-Expires its expiry."),
            413: OpenApiResponse(description="Upload-Length over the configured maximum."),
            **ERRORS,
        },
        tags=["uploads"],
    )
    @audited(post="change")  # recorded here with the new upload, in its transaction
    def post(self, request):
        length = _int_header(request, "Upload-Length")
        if length is None:
            raise TusError(
                "Send Upload-Length: the size of the whole file in bytes.",
                status_code=400,
                code="required",
                field="Upload-Length",
            )
        try:
            check_declared_size(length)
        except DomainError as exc:
            raise TusError(exc.message, status_code=413 if length else 400, code=exc.code, field="Upload-Length")
        meta = parse_metadata(request.headers.get("Upload-Metadata", ""))
        upload = upload_create(actor=request.user, length=length, meta=meta)
        response = Response(status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(reverse("upload-detail", args=[upload.pk]))
        response["Upload-Expires"] = http_date(upload.expires_at.timestamp())
        response["Upload-Offset"] = "0"
        return response


class UploadDetailView(TusMixin, AuditedViewMixin, APIView):
    """HEAD tells the offset, PATCH appends bytes, DELETE abandons the upload."""

    visibility = "uploads are looked up in Upload.objects.visible_to(user)"

    def get_upload(self, request, pk) -> Upload:
        upload = Upload.objects.visible_to(request.user).filter(pk=pk).select_related("case__patient").first()
        if upload is None:
            raise Http404("No such upload.")
        if upload.expires_at < timezone.now():
            raise TusError("This upload has expired; start the upload again.", status_code=410, code="upload_expired")
        return upload

    def _offset_headers(self, response, upload: Upload):
        response["Upload-Offset"] = str(upload.offset)
        response["Upload-Length"] = str(upload.length)
        response["Upload-Expires"] = http_date(upload.expires_at.timestamp())
        return response

    @extend_schema(
        operation_id="uploads_offset",
        summary="How many bytes the server has (tus HEAD)",
        parameters=TUS_HEADERS,
        request=None,
        responses={200: OpenApiResponse(description="Upload-Offset and Upload-Length headers."), 410: None, **ERRORS},
        tags=["uploads"],
    )
    @audited(head="none")  # the offset of an upload: no case data
    def head(self, request, pk):
        upload = self.get_upload(request, pk)
        return self._offset_headers(Response(status=status.HTTP_200_OK), upload)

    # GET is not part of tus; answered only to say so.
    @extend_schema(exclude=True)
    @audited("none")
    def get(self, request, pk):
        raise TusError("Use HEAD to read the offset of an upload.", status_code=405, code="method_not_allowed")

    @extend_schema(
        operation_id="uploads_options",
        summary="Discover tus capabilities",
        request=None,
        responses={204: OpenApiResponse(description="Tus-Version, Tus-Extension, Tus-Max-Size headers.")},
        tags=["uploads"],
    )
    def options(self, request, *args, **kwargs):
        return super().options(request, *args, **kwargs)

    @extend_schema(
        operation_id="uploads_append",
        summary="Append bytes at Upload-Offset (tus PATCH)",
        description=(
            "Body: the next bytes of the file (Content-Type application/offset+octet-stream). "
            "When the last byte arrives the file is validated and becomes a document; its id is "
            "returned in the Navigator-Document-Id header."
        ),
        parameters=[
            *TUS_HEADERS,
            OpenApiParameter("Upload-Offset", int, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("Upload-Checksum", str, OpenApiParameter.HEADER, description="e.g. `sha1 <base64>`"),
        ],
        request={OFFSET_CONTENT_TYPE: OpenApiTypes.BINARY},
        responses={
            204: OpenApiResponse(description="Accepted; Upload-Offset is the new offset."),
            409: OpenApiResponse(description="Upload-Offset does not match, or the file duplicates a document."),
            410: OpenApiResponse(description="The upload has expired."),
            411: OpenApiResponse(
                description="No Content-Length (e.g. a chunked body): send each chunk with its length."
            ),
            413: OpenApiResponse(description="More bytes than Upload-Length."),
            415: OpenApiResponse(description="Content-Type is not application/offset+octet-stream."),
            460: OpenApiResponse(description="Checksum mismatch; the bytes were discarded."),
            **ERRORS,
        },
        tags=["uploads"],
    )
    @audited(patch="change")  # the last byte creates the document through document_create
    def patch(self, request, pk):
        if request.content_type.split(";")[0].strip() != OFFSET_CONTENT_TYPE:
            raise TusError(
                f"Send the bytes with Content-Type: {OFFSET_CONTENT_TYPE}.",
                status_code=415,
                code="content_type",
                field="Content-Type",
            )
        offset = _int_header(request, "Upload-Offset")
        if offset is None:
            raise TusError("Send Upload-Offset.", status_code=400, code="required", field="Upload-Offset")
        checksum = _checksum(request)
        upload = self.get_upload(request, pk)
        if offset != upload.offset:
            raise TusError(
                f"Upload-Offset {offset} does not match the {upload.offset} bytes received; ask with HEAD and resume.",
                status_code=409,
                code="offset_mismatch",
                field="Upload-Offset",
            )
        declared = _int_header(request, "Content-Length")
        if declared is None:
            # A chunked body has no length; WSGI servers hand it over as empty, so the offset
            # would never move and a client would send the same chunk for ever.
            raise TusError(
                "Send the chunk with a Content-Length header (chunked transfer encoding is not accepted).",
                status_code=411,
                code="length_required",
                field="Content-Length",
            )
        if offset + declared > upload.length:
            raise TusError(
                "The body would go past Upload-Length.", status_code=413, code="too_long", field="Content-Length"
            )
        # The lock is held through completion, so a repeated final PATCH cannot finish it twice.
        with _locked(upload):
            new_offset = _append(request, upload, checksum)
            if new_offset < upload.length:
                upload.offset = new_offset
                return self._offset_headers(Response(status=status.HTTP_204_NO_CONTENT), upload)
            document = _complete(request, upload)
        upload.offset = new_offset
        response = self._offset_headers(Response(status=status.HTTP_204_NO_CONTENT), upload)
        response["Navigator-Document-Id"] = str(document.pk)
        response["Navigator-Document"] = request.build_absolute_uri(reverse("document-detail", args=[document.pk]))
        return response

    @extend_schema(
        operation_id="uploads_terminate",
        summary="Abandon an upload (tus termination)",
        parameters=TUS_HEADERS,
        request=None,
        responses={204: None, **ERRORS},
        tags=["uploads"],
    )
    @audited(delete="change")
    def delete(self, request, pk):
        upload = Upload.objects.visible_to(request.user).filter(pk=pk).first()
        if upload is None:
            raise Http404("No such upload.")
        with _locked(upload):
            upload_discard(upload)
        audit_record(actor=request.user, action="delete", obj=upload, case=None, object_type="documents.Upload")
        return Response(status=status.HTTP_204_NO_CONTENT)


@contextlib.contextmanager
def _locked(upload: Upload):
    """One writer per upload, across replicas: a PostgreSQL advisory lock on its id, held by this
    request's database session (released if the process dies)."""
    with locks.held(upload_lock_key(upload.pk)) as got:
        if not got:
            raise TusError(
                "Another request is writing to this upload; wait for it, then ask for the offset with HEAD.",
                status_code=423,
                code="upload_locked",
            )
        yield


def _append(request, upload: Upload, checksum) -> int:
    """Write the request body at the upload's offset in 1 MiB pieces; return the new offset.

    A body cut short by a dropped connection keeps what arrived (the client resumes from
    there), unless a checksum was sent: then the piece cannot be verified and is dropped.
    """
    # Re-read under the lock: another PATCH, on any replica, may have moved the offset meanwhile.
    current = Upload.objects.filter(pk=upload.pk).values_list("offset", "parts").first()
    if current is None:
        raise Http404("No such upload.")
    if current[0] != upload.offset:
        raise TusError(
            "Upload-Offset no longer matches; ask with HEAD and resume.",
            status_code=409,
            code="offset_mismatch",
            field="Upload-Offset",
        )
    upload.parts = current[1]
    remaining = upload.length - upload.offset
    store = upload_parts.store(upload)
    try:
        try:
            store.begin()
        except upload_parts.PartsGone:
            upload_discard(upload)
            raise TusError("The data of this upload is gone; start again.", status_code=410, code="upload_expired")
        written = 0
        interrupted = False
        stream = request._request  # the raw Django request: read() streams, .body would buffer
        while True:
            try:
                chunk = stream.read(min(CHUNK, remaining - written + 1))
            except OSError:  # the client went away mid-body (UnreadablePostError is an OSError)
                interrupted = True
                break
            if not chunk:
                break
            if written + len(chunk) > remaining:
                store.abort()
                raise TusError(
                    "The body goes past Upload-Length.", status_code=413, code="too_long", field="Content-Length"
                )
            store.write(chunk)
            if checksum is not None:
                checksum[0].update(chunk)
            written += len(chunk)
        if checksum is not None and (interrupted or checksum[0].digest() != checksum[1]):
            store.abort()
            if interrupted:
                return upload.offset
            raise TusError(
                "Checksum mismatch: the bytes received differ from those sent; they were discarded, send them again.",
                status_code=460,
                code="checksum_mismatch",
                field="Upload-Checksum",
            )
        parts = store.commit()
        new_offset = upload.offset + written
        expires_at = timezone.now() + upload_lifetime()
        Upload.objects.filter(pk=upload.pk, offset=upload.offset).update(
            offset=new_offset, parts=parts, expires_at=expires_at
        )
        if hasattr(store, "committed"):
            store.committed()
    finally:
        store.close()
    UPLOAD_BYTES.labels(store=upload.parts.get("store", "directory")).inc(written)
    upload.parts = parts
    upload.expires_at = expires_at
    return new_offset


def _complete(request, upload: Upload):
    """The last byte has arrived: the file goes through ``document_create``. Whatever the
    outcome, the stored parts and the upload row are gone afterwards."""
    store = upload_parts.store(upload)
    try:
        with store.assembled() as path, services.TemporaryFile(path) as temp:
            return services.document_create(
                case=upload.case,
                file=temp,
                filename=upload.filename,
                doc_type=upload.doc_type,
                clinical_date=upload.clinical_date,
                language=upload.language,
                title=upload.metadata.get("title", ""),
                request=upload.request,
                actor=request.user,
                via="tus",
            )
    finally:
        store.discard()
        Upload.objects.filter(pk=upload.pk).delete()
