"""Workflows on documents and document requests. The API, the admin and the portal call these.

``document_create`` is the one way a file becomes a Document, whatever carried it here
(multipart form, admin form, completed tus upload): the same validation, the same storage,
the same audit. A refused file leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from typing import BinaryIO

from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import formats, timezone

from accounts.roles import is_family, is_hospital
from audit.actor import Actor
from audit.services import audit_record
from cases.models import Case, FamilyContact
from cases.services import case_touch
from navigator.errors import ConflictError, DomainError
from notifications.models import NoticeKind
from notifications.services import notice_coordinator, notice_family

from .models import DocType, Document, DocumentRequest, Source
from .validation import clean_filename, inspect_file

logger = logging.getLogger(__name__)


class TemporaryFile(File):
    """A file on local disk that storage may move instead of copying (FileSystemStorage does)."""

    def __init__(self, path: str):
        super().__init__(open(path, "rb"), name=path)  # noqa: SIM115 - closed by the caller
        self._path = path

    def temporary_file_path(self) -> str:
        return self._path


def _source_for(actor) -> str:
    if is_family(actor):
        return Source.FAMILY
    if is_hospital(actor):
        return Source.HOSPITAL
    return Source.COORDINATOR


def _check_metadata(
    *, case: Case, doc_type: str, clinical_date, language: str, supersedes, translation_of, request
) -> None:
    if doc_type not in DocType.values:
        raise DomainError(
            f"“{doc_type}” is not a document type; choose one of {', '.join(DocType.values)}.", field="doc_type"
        )
    if clinical_date and clinical_date > timezone.localdate():
        raise DomainError("The clinical date (of the report or sample) cannot be in the future.", field="clinical_date")
    if language and len(language) > 16:
        raise DomainError("Give the language as a short code such as en, ru or zh-Hans.", field="language")
    for field, other in (("supersedes", supersedes), ("translation_of", translation_of)):
        if other is not None and other.case_id != case.pk:
            raise DomainError("That document belongs to another case.", field=field)
    if request is not None and request.case_id != case.pk:
        raise DomainError("That request belongs to another case.", field="request")
    if supersedes is not None and supersedes.review_status == Document.ReviewStatus.SUPERSEDED:
        raise DomainError(
            "That document has already been replaced by a newer version; supersede the newest one.",
            field="supersedes",
        )
    if supersedes is not None and Document.objects.filter(supersedes=supersedes).exists():
        raise DomainError(
            "A newer version of that document is already waiting for review; accept or reject it first.",
            field="supersedes",
        )


def _duplicate_error(existing: Document) -> ConflictError:
    when = formats.date_format(timezone.localtime(existing.created_at), "j F Y")
    return ConflictError(
        f"This file is already in the case as “{existing.original_name}” "
        f"({existing.get_doc_type_display()}, uploaded {when}); there is no need to send it again.",
        field="file",
        code="duplicate",
    )


def document_create(
    *,
    case: Case,
    file: BinaryIO,
    filename: str,
    doc_type: str,
    actor,
    clinical_date: dt.date | None = None,
    language: str = "",
    title: str = "",
    source: str | None = None,
    supersedes: Document | None = None,
    translation_of: Document | None = None,
    translator: str = "",
    request: DocumentRequest | None = None,
    include_in_packets: bool = False,
    notes: str = "",
    via: str = "api",
) -> Document:
    """Validate a file by its content, store it, and record it as a document of ``case``.

    The caller has already decided that ``actor`` may add documents to ``case``. Raises
    ``DomainError`` (400) for a refused file and ``ConflictError`` (409) for a duplicate;
    in both cases nothing is stored.
    """
    name = clean_filename(filename)
    _check_metadata(
        case=case,
        doc_type=doc_type,
        clinical_date=clinical_date,
        language=language,
        supersedes=supersedes,
        translation_of=translation_of,
        request=request,
    )
    if request is None:
        # A family answering "please send the CD19 report" need not say which request it answers.
        request = DocumentRequest.objects.open().filter(case=case, doc_type=doc_type).order_by("id").first()
    if supersedes is None and request is not None and request.replaces_document_id:
        candidate = request.replaces_document
        if (
            candidate is not None
            and candidate.review_status != Document.ReviewStatus.SUPERSEDED
            and not Document.objects.filter(supersedes=candidate).exists()
        ):
            supersedes = candidate

    inspection = inspect_file(file)
    existing = Document.objects.filter(case=case, sha256=inspection.sha256).first()
    if existing is not None:
        raise _duplicate_error(existing)

    document = Document(
        case=case,
        doc_type=doc_type,
        title=title.strip()[:200],
        clinical_date=clinical_date,
        language=language.strip(),
        source=source or _source_for(actor),
        uploaded_by=Actor.of(actor).user,
        original_name=name,
        content_type=inspection.content_type,
        size=inspection.size,
        sha256=inspection.sha256,
        sha1=inspection.sha1,
        supersedes=supersedes,
        translation_of=translation_of,
        translator=translator.strip()[:200],
        request=request,
        include_in_packets=include_in_packets,
        notes=notes,
    )
    # Store first (outside the transaction: it may take minutes), then write the rows; if the
    # rows fail, the stored file is removed again so nothing is orphaned.
    file.seek(0)
    field = Document._meta.get_field("file")
    key = field.generate_filename(document, "upload" + inspection.extension)
    storage = document.file.storage
    try:
        document.file = storage.save(key, file, max_length=field.max_length)
    except BaseException:
        # A storage that fails mid-write (a full disk) may leave the partial file behind.
        if storage.exists(key):
            storage.delete(key)
        raise
    try:
        with transaction.atomic():
            # A new version is only proposed: the current one stays current until a reviewer
            # accepts the new one (document_accept), and stays current if it is rejected.
            document.save(force_insert=True)
            if translation_of is not None:
                Document.objects.filter(pk=translation_of.pk).update(
                    translation_status=Document.TranslationStatus.TRANSLATED, updated_at=timezone.now()
                )
            audit_record(
                actor=actor,
                action="create",
                obj=document,
                case=case,
                detail={
                    "via": via,
                    "sha256": document.sha256,
                    "size": document.size,
                    "content_type": document.content_type,
                },
            )
            case_touch(case_id=case.pk)
            if document.source == Source.FAMILY:
                notice_coordinator(case=case, kind=NoticeKind.UPLOAD, key=f"document:{document.pk}")
    except IntegrityError:
        _delete_stored(document)
        existing = Document.objects.filter(case=case, sha256=inspection.sha256).first()
        if existing is not None:  # the same file arrived twice at the same moment
            raise _duplicate_error(existing)
        raise
    except BaseException:
        _delete_stored(document)
        raise
    return document


def _delete_stored(document: Document) -> None:
    if document.file.name:
        try:
            document.file.storage.delete(document.file.name)
        except OSError:  # pragma: no cover - logged; the orphan check in storage audits catches it
            logger.exception("could not remove stored file after a failed document create")


# --- Review -------------------------------------------------------------------------------


def _lock(document: Document) -> Document:
    return Document.objects.select_for_update().select_related("case").get(pk=document.pk)


def _require_current(document: Document) -> None:
    if document.review_status == Document.ReviewStatus.SUPERSEDED:
        raise DomainError(
            "This document has been replaced by a newer version; review the newest one.", field="review_status"
        )


def _reviewed(document: Document, actor, action: str, **detail) -> None:
    audit_record(actor=actor, action="update", obj=document, detail={"review": action, **detail})
    case_touch(case_id=document.case_id)


def _review_notice(document: Document, outcome: str) -> None:
    """The family is told that a record they sent was reviewed (not what was found: see notifications)."""
    if document.source == Source.FAMILY:
        notice_family(case=document.case, kind=NoticeKind.REVIEW, key=f"review:{document.pk}:{outcome}")


@transaction.atomic
def document_start_review(*, document: Document, actor) -> Document:
    """A coordinator has started reading the document."""
    locked = _lock(document)
    _require_current(locked)
    if locked.review_status == Document.ReviewStatus.RECEIVED:
        locked.review_status = Document.ReviewStatus.IN_REVIEW
        locked.reviewed_by = Actor.of(actor).user
        locked.save(update_fields=["review_status", "reviewed_by", "updated_at"])
        _reviewed(locked, actor, "start")
    return locked


@transaction.atomic
def document_accept(*, document: Document, actor, include_in_packets: bool | None = True) -> Document:
    """Accept a document as evidence; it satisfies the open requests for its type. An accepted
    record goes into case packets unless the coordinator says otherwise (``include_in_packets=False``;
    ``None`` keeps the current choice)."""
    locked = _lock(document)
    _require_current(locked)
    locked.review_status = Document.ReviewStatus.ACCEPTED
    locked.rejection_reason = ""
    locked.reviewed_by = Actor.of(actor).user
    locked.reviewed_at = timezone.now()
    fields = ["review_status", "rejection_reason", "reviewed_by", "reviewed_at", "updated_at"]
    if include_in_packets is not None:
        locked.include_in_packets = include_in_packets
        fields.append("include_in_packets")
    locked.save(update_fields=fields)
    if locked.supersedes_id is not None:
        # Only acceptance supersedes: the version it replaces stops being current now.
        replaced = Document.objects.filter(pk=locked.supersedes_id).exclude(
            review_status=Document.ReviewStatus.SUPERSEDED
        )
        if replaced.update(review_status=Document.ReviewStatus.SUPERSEDED, updated_at=timezone.now()):
            _reviewed(Document.objects.get(pk=locked.supersedes_id), actor, "superseded", by=locked.pk)
    _reviewed(locked, actor, "accept")
    _review_notice(locked, "accepted")
    open_requests = DocumentRequest.objects.open().filter(case_id=locked.case_id, doc_type=locked.doc_type)
    open_requests = open_requests.exclude(replaces_document=locked)
    for req in open_requests.select_for_update():
        _request_close(
            request=req, status=DocumentRequest.Status.FULFILLED, actor=actor, reason=f"document {locked.pk}"
        )
    return locked


@transaction.atomic
def document_reject(*, document: Document, actor, reason: str) -> Document:
    """Reject a document with a reason the family can act on."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the document is rejected, so the family can fix it.", field="reason")
    locked = _lock(document)
    _require_current(locked)
    locked.review_status = Document.ReviewStatus.REJECTED
    locked.rejection_reason = reason
    locked.reviewed_by = Actor.of(actor).user
    locked.reviewed_at = timezone.now()
    locked.include_in_packets = False
    locked.save(
        update_fields=[
            "review_status",
            "rejection_reason",
            "reviewed_by",
            "reviewed_at",
            "include_in_packets",
            "updated_at",
        ]
    )
    proposed_for = locked.supersedes_id
    if proposed_for is not None:
        # A rejected new version leaves the current one current, and frees it for the next
        # proposal; which version it proposed to replace stays in the audit trail.
        locked.supersedes = None
        locked.save(update_fields=["supersedes", "updated_at"])
    _reviewed(locked, actor, "reject", reason=reason, proposed_for=proposed_for)
    _review_notice(locked, "rejected")
    return locked


@transaction.atomic
def document_restore(*, document: Document, actor) -> Document:
    """Make a superseded version current again (accepted); the version that replaced it is
    superseded in turn. For a coordinator who finds the replacement was a mistake."""
    locked = _lock(document)
    if locked.review_status != Document.ReviewStatus.SUPERSEDED:
        raise DomainError("Only a version replaced by a newer one can be restored.", field="review_status")
    successor = Document.objects.select_for_update().filter(supersedes=locked).first()
    if successor is not None:
        successor.review_status = Document.ReviewStatus.SUPERSEDED
        successor.supersedes = None
        successor.include_in_packets = False
        successor.save(update_fields=["review_status", "supersedes", "include_in_packets", "updated_at"])
        _reviewed(successor, actor, "superseded", by=locked.pk)
    locked.review_status = Document.ReviewStatus.ACCEPTED
    locked.reviewed_by = Actor.of(actor).user
    locked.reviewed_at = timezone.now()
    locked.save(update_fields=["review_status", "reviewed_by", "reviewed_at", "updated_at"])
    _reviewed(locked, actor, "restore", replaced=successor.pk if successor is not None else None)
    return locked


@transaction.atomic
def document_request_better_copy(
    *,
    document: Document,
    actor,
    description: str,
    due_date: dt.date | None = None,
    asked_contact: FamilyContact | None = None,
    asked_user=None,
) -> DocumentRequest:
    """Ask for a better copy of a document (illegible, cut off, wrong patient...). The new copy,
    when it arrives for this request, supersedes the old one."""
    locked = _lock(document)
    _require_current(locked)
    req = document_request_create(
        case=locked.case,
        doc_type=locked.doc_type,
        description=description,
        due_date=due_date,
        asked_contact=asked_contact,
        asked_user=asked_user,
        replaces_document=locked,
        actor=actor,
    )
    if locked.review_status in (Document.ReviewStatus.RECEIVED, Document.ReviewStatus.IN_REVIEW):
        locked.review_status = Document.ReviewStatus.IN_REVIEW
        locked.save(update_fields=["review_status", "updated_at"])
    _reviewed(locked, actor, "request_better_copy", request=req.pk)
    return req


@transaction.atomic
def document_mark_for_translation(*, document: Document, actor) -> Document:
    locked = _lock(document)
    if locked.translation_status != Document.TranslationStatus.NEEDED:
        locked.translation_status = Document.TranslationStatus.NEEDED
        locked.save(update_fields=["translation_status", "updated_at"])
        _reviewed(locked, actor, "mark_for_translation")
    return locked


@transaction.atomic
def document_update(*, document: Document, actor, **changes) -> Document:
    """Correct a document's description (type, clinical date, language, title, packet flag, notes)."""
    allowed = {"doc_type", "clinical_date", "language", "title", "include_in_packets", "notes", "translator"}
    unknown = set(changes) - allowed
    if unknown:
        raise DomainError(f"{', '.join(sorted(unknown))} cannot be changed here.", field=sorted(unknown)[0])
    locked = _lock(document)
    _check_metadata(
        case=locked.case,
        doc_type=changes.get("doc_type", locked.doc_type),
        clinical_date=changes.get("clinical_date", locked.clinical_date),
        language=changes.get("language", locked.language),
        supersedes=None,
        translation_of=None,
        request=None,
    )
    if changes.get("include_in_packets") and locked.review_status == Document.ReviewStatus.REJECTED:
        raise DomainError("A rejected document cannot go into case packets.", field="include_in_packets")
    for key, value in changes.items():
        setattr(locked, key, value)
    locked.save(update_fields=[*changes, "updated_at"])
    audit_record(actor=actor, action="update", obj=locked, detail={"fields": sorted(changes)})
    return locked


# --- Requests -----------------------------------------------------------------------------


def _due_at(request: DocumentRequest, due_date: dt.date) -> dt.datetime:
    """End of the due day where the person asked lives: the user or family contact the request is
    addressed to, else the patient's zone."""
    asked = request.asked_user or (request.asked_contact.user if request.asked_contact else None)
    zones = [
        getattr(asked, "time_zone", ""),
        request.asked_contact.time_zone if request.asked_contact else "",
        request.case.patient.time_zone,
    ]
    tz: dt.tzinfo = dt.UTC
    for zone in zones:
        if zone and zone != "UTC":
            try:
                tz = zoneinfo.ZoneInfo(zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
            break
    return dt.datetime.combine(due_date, dt.time(23, 59), tzinfo=tz)


def _scheduling():
    """The scheduling app's milestone services. Imported here: scheduling sits above documents in
    the layers (an exception listed in the import contract)."""
    from scheduling import services

    return services


def _milestone_sync(request: DocumentRequest) -> None:
    scheduling = _scheduling()
    if request.status == DocumentRequest.Status.OPEN and request.due_date:
        scheduling.milestone_upsert(
            case=request.case,
            key=request.milestone_key,
            kind="document_request",
            due_at=_due_at(request, request.due_date),
            title=f"Records due: {request.get_doc_type_display()}"[:200],
            concerns_family=True,
            source=request,
        )
    else:
        scheduling.milestone_cancel(case=request.case, key=request.milestone_key)


def _check_request(*, case: Case, doc_type: str, description: str, due_date, asked_contact, asked_user) -> None:
    if doc_type not in DocType.values:
        raise DomainError(
            f"“{doc_type}” is not a document type; choose one of {', '.join(DocType.values)}.", field="doc_type"
        )
    if not (description or "").strip():
        raise DomainError("Describe what is needed, in words the family understands.", field="description")
    if due_date and due_date < timezone.localdate():
        raise DomainError("The due date is in the past; choose today or a later date.", field="due_date")
    if asked_contact is not None and asked_contact.patient_id != case.patient_id:
        raise DomainError("That person is not a contact of this patient.", field="asked_contact")
    if asked_user is not None:
        from cases.access import can_see_case

        if not (is_family(asked_user) or is_hospital(asked_user)) or not can_see_case(asked_user, case):
            raise DomainError(
                "Ask a family member of this patient or staff of a centre the case is shared with.",
                field="asked_user",
            )


@transaction.atomic
def document_request_create(
    *,
    case: Case,
    doc_type: str,
    description: str,
    actor,
    due_date: dt.date | None = None,
    asked_contact: FamilyContact | None = None,
    asked_user=None,
    replaces_document: Document | None = None,
) -> DocumentRequest:
    """A coordinator asks for a record; the due date becomes a family milestone with reminders."""
    _check_request(
        case=case,
        doc_type=doc_type,
        description=description,
        due_date=due_date,
        asked_contact=asked_contact,
        asked_user=asked_user,
    )
    if asked_user is None and asked_contact is not None and asked_contact.user_id:
        asked_user = asked_contact.user
    req = DocumentRequest.objects.create(
        case=case,
        doc_type=doc_type,
        description=description.strip(),
        due_date=due_date,
        asked_contact=asked_contact,
        asked_user=asked_user,
        requested_by=Actor.of(actor).user,
        replaces_document=replaces_document,
    )
    audit_record(actor=actor, action="create", obj=req, case=case, detail={"doc_type": doc_type})
    if asked_user is None or is_family(asked_user):
        if asked_contact is not None:
            asked = [asked_contact]
        elif asked_user is not None:
            asked = list(FamilyContact.objects.filter(patient_id=case.patient_id, user=asked_user))
        else:
            asked = None  # the whole family
        notice_family(case=case, kind=NoticeKind.DOCUMENT_REQUEST, key=f"request:{req.pk}", contacts=asked)
    _milestone_sync(req)
    case_touch(case_id=case.pk)
    return req


@transaction.atomic
def document_request_update(*, request: DocumentRequest, actor, **changes) -> DocumentRequest:
    allowed = {"description", "due_date", "asked_contact", "asked_user", "doc_type"}
    unknown = set(changes) - allowed
    if unknown:
        raise DomainError(f"{', '.join(sorted(unknown))} cannot be changed here.", field=sorted(unknown)[0])
    locked = DocumentRequest.objects.select_for_update().select_related("case__patient").get(pk=request.pk)
    if locked.status != DocumentRequest.Status.OPEN:
        raise DomainError("This request is closed and can no longer be changed.", field="status")
    merged = {
        "doc_type": locked.doc_type,
        "description": locked.description,
        "due_date": locked.due_date,
        "asked_contact": locked.asked_contact,
        "asked_user": locked.asked_user,
        **changes,
    }
    _check_request(case=locked.case, **merged)
    for key, value in changes.items():
        setattr(locked, key, value)
    locked.save()
    audit_record(actor=actor, action="update", obj=locked, detail={"fields": sorted(changes)})
    _milestone_sync(locked)
    return locked


def _request_close(*, request: DocumentRequest, status: str, actor, reason: str = "") -> bool:
    """Close an open request exactly once; returns False if it was already closed."""
    closed = DocumentRequest.objects.filter(pk=request.pk, status=DocumentRequest.Status.OPEN).update(
        status=status, closed_at=timezone.now(), closed_reason=reason[:300]
    )
    if closed != 1:
        return False
    request.status = status
    audit_record(actor=actor, action="update", obj=request, detail={"status": status, "reason": reason})
    _milestone_sync(request)
    return True


@transaction.atomic
def document_request_cancel(*, request: DocumentRequest, actor, reason: str = "") -> DocumentRequest:
    if not _request_close(request=request, status=DocumentRequest.Status.CANCELLED, actor=actor, reason=reason):
        raise DomainError("This request is already closed.", field="status")
    return request


# --- The family's own corrections, before anyone reviewed the file --------------------------------


def _family_unreviewed(document: Document, actor) -> Document:
    locked = _lock(document)
    if not is_family(actor) or locked.source != Source.FAMILY:
        raise DomainError("Only the family that sent a file can correct it.", field="document")
    if locked.review_status != Document.ReviewStatus.RECEIVED:
        raise DomainError(
            "This file is already being reviewed; write to your coordinator to change it.",
            field="document",
            code="already_reviewed",
        )
    return locked


@transaction.atomic
def document_family_relabel(*, document: Document, actor, doc_type: str) -> Document:
    """The family says what a file they sent really is (sent under the wrong record type), while
    nobody has started reviewing it."""
    if doc_type not in DocType.values:
        raise DomainError(f"Choose one of {', '.join(DocType.values)}.", field="doc_type")
    locked = _family_unreviewed(document, actor)
    before = locked.doc_type
    if before != doc_type:
        locked.doc_type = doc_type
        locked.save(update_fields=["doc_type", "updated_at"])
        audit_record(actor=actor, action="update", obj=locked, detail={"doc_type": [before, doc_type], "by": "family"})
    return locked


@transaction.atomic
def document_family_withdraw(*, document: Document, actor) -> None:
    """The family takes back a file they sent by mistake, while nobody has started reviewing it:
    the row and its stored file go (the audit trail keeps that it was withdrawn)."""
    locked = _family_unreviewed(document, actor)
    if Document.objects.filter(Q(translation_of=locked) | Q(supersedes=locked)).exists():
        raise DomainError("Other records refer to this file; write to your coordinator.", field="document")
    audit_record(actor=actor, action="delete", obj=locked, case=locked.case, detail={"withdrawn": True, "by": "family"})
    stored = locked.file.name
    storage = locked.file.storage
    locked.delete()
    transaction.on_commit(lambda: storage.delete(stored) if stored else None)
