"""Assembling packets: choosing documents, checking a centre's required records, freezing a version."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.roles import is_hospital
from audit.services import audit_record
from navigator.errors import ConflictError, DomainError

from ..models import PacketVersion, PacketView, Referral, RequiredRecord
from ..packets.diff import packet_changes
from ..packets.snapshot import build_content, content_hash, strip_assembly, with_assembly


def _documents_model():
    from documents.models import Document

    return Document


def packet_default_documents(*, case):
    """Documents marked "include in packets" that are current and not rejected, with their translations."""
    Document = _documents_model()
    return (
        Document.objects.filter(case=case, include_in_packets=True)
        .exclude(review_status__in=[Document.ReviewStatus.SUPERSEDED, Document.ReviewStatus.REJECTED])
        .order_by("pk")
    )


def packet_documents(*, case, document_ids=None) -> list:
    """The documents of a packet: the chosen ones (default: those marked for packets), each
    with its current translations. Raises naming the ids that cannot go in."""
    Document = _documents_model()
    usable = Document.objects.filter(case=case).exclude(
        review_status__in=[Document.ReviewStatus.SUPERSEDED, Document.ReviewStatus.REJECTED]
    )
    if document_ids is None:
        chosen = list(packet_default_documents(case=case))
    else:
        ids = {int(i) for i in document_ids}
        chosen = list(usable.filter(pk__in=ids))
        bad = sorted(ids - {d.pk for d in chosen})
        if bad:
            raise DomainError(
                "These documents are not current documents of this case (rejected, superseded or another "
                f"case's): {', '.join(map(str, bad))}.",
                field="document_ids",
            )
    original_ids = {d.translation_of_id or d.pk for d in chosen}
    originals = list(usable.filter(pk__in=original_ids))
    translations = list(usable.filter(translation_of_id__in=original_ids))
    return originals + translations


@dataclass
class MissingRecord:
    doc_type: str
    label: str
    note: str
    problem: str  # "missing" or "too old"
    detail: str = ""


@dataclass
class PacketPreview:
    referral: Referral
    documents: list
    missing: list[MissingRecord] = field(default_factory=list)
    content: dict = field(default_factory=dict)
    changes: list[dict] = field(default_factory=list)
    compared_to: int | None = None
    unchanged: bool = False


def required_records_missing(*, hospital, documents, today: dt.date | None = None) -> list[MissingRecord]:
    """Which of the centre's required records the chosen documents do not cover."""
    today = today or timezone.localdate()
    missing = []
    for req in RequiredRecord.objects.filter(hospital=hospital).order_by("doc_type"):
        of_type = [d for d in documents if d.doc_type == req.doc_type and not d.translation_of_id]
        if not of_type:
            missing.append(MissingRecord(req.doc_type, req.doc_type_label, req.note, "missing"))
            continue
        if req.max_age_days:
            dates = [d.clinical_date for d in of_type if d.clinical_date]
            newest = max(dates) if dates else None
            if newest is None or (today - newest).days > req.max_age_days:
                missing.append(
                    MissingRecord(
                        req.doc_type,
                        req.doc_type_label,
                        req.note,
                        "too old",
                        f"needs one from the last {req.max_age_days} days; newest is {newest or 'undated'}",
                    )
                )
    return missing


def last_seen_version(*, referral: Referral) -> PacketVersion | None:
    """The latest version the centre has fetched; else the latest one sent."""
    seen = referral.packets.filter(first_view__isnull=False).order_by("-version").first()
    return seen or referral.packets.order_by("-version").first()


def packet_preview(*, referral: Referral, document_ids=None) -> PacketPreview:
    """What sending now would send: documents, what the centre's list still misses, what changed."""
    documents = packet_documents(case=referral.case, document_ids=document_ids)
    content = build_content(referral=referral, documents=documents)
    base = last_seen_version(referral=referral)
    latest = referral.packets.order_by("-version").first()
    return PacketPreview(
        referral=referral,
        documents=documents,
        missing=required_records_missing(hospital=referral.hospital, documents=documents),
        content=content,
        changes=packet_changes(strip_assembly(base.snapshot) if base else None, content),
        compared_to=base.version if base else None,
        unchanged=bool(latest and latest.content_hash == content_hash(content)),
    )


def packet_freeze(*, referral: Referral, actor, document_ids=None) -> tuple[PacketVersion, bool]:
    """Freeze the case as the next packet version of a referral. If nothing changed since the
    latest version, that version is returned (``created`` False): a packet is never duplicated."""
    preview = packet_preview(referral=referral, document_ids=document_ids)
    digest = content_hash(preview.content)
    latest = referral.packets.order_by("-version").first()
    if latest and latest.content_hash == digest:
        return latest, False
    version = (latest.version if latest else 0) + 1
    now = timezone.now()
    try:
        with transaction.atomic():
            packet = PacketVersion.objects.create(
                referral=referral,
                version=version,
                snapshot=with_assembly(
                    preview.content, version=version, assembled_by=actor, assembled_at=now, digest=digest
                ),
                content_hash=digest,
                created_at=now,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
                compared_to=preview.compared_to,
                changes=preview.changes,
            )
    except IntegrityError:
        raise ConflictError("Another packet version was assembled at the same moment; try again.")
    audit_record(
        actor=actor,
        action="create",
        obj=packet,
        case=referral.case,
        detail={"version": version, "hash": digest, "documents": len(preview.documents)},
    )
    return packet, True


def packet_mark_seen(*, packet: PacketVersion, user) -> None:
    """The centre's first read marks the version as seen ("changes since the last one seen").

    The read itself is recorded by the view that serves the packet."""
    if not is_hospital(user):
        return
    try:
        with transaction.atomic():
            PacketView.objects.get_or_create(packet=packet, defaults={"viewed_by": user})
    except IntegrityError:
        pass
