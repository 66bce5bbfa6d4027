"""Assembling packets: choosing documents, checking a centre's required records, freezing a version."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.roles import is_hospital
from audit.services import audit_record
from documents.selectors import ChecklistItem, RecordsChecklist
from navigator.errors import ConflictError, DomainError

from ..models import PacketVersion, PacketView, Referral
from ..packets.diff import packet_changes
from ..packets.snapshot import build_content, content_hash, strip_assembly, with_assembly
from ..selectors import records_needed_for_centre


def _documents_model():
    from documents.models import Document

    return Document


def _unreviewed_statuses():
    Document = _documents_model()
    return [Document.ReviewStatus.RECEIVED, Document.ReviewStatus.IN_REVIEW]


def packet_default_documents(*, case):
    """Accepted documents marked "include in packets", with their translations. A file not yet
    reviewed never goes in by default."""
    Document = _documents_model()
    return Document.objects.filter(
        case=case, include_in_packets=True, review_status=Document.ReviewStatus.ACCEPTED
    ).order_by("pk")


def packet_documents(*, case, document_ids=None) -> list:
    """The documents of a packet: the chosen ones (default: the accepted ones marked for packets),
    each with its current translations. Raises naming the ids that cannot go in (rejected,
    superseded, another case's, or not reviewed yet)."""
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
        unreviewed = sorted(
            d.pk for d in chosen if d.translation_of_id is None and d.review_status in _unreviewed_statuses()
        )
        if unreviewed:
            raise DomainError(
                "These documents are not reviewed yet; accept them first: " + ", ".join(map(str, unreviewed)) + ".",
                field="document_ids",
            )
    original_ids = {d.translation_of_id or d.pk for d in chosen}
    originals = list(usable.filter(pk__in=original_ids))
    translations = list(usable.filter(translation_of_id__in=original_ids))
    return originals + translations


@dataclass
class PacketPreview:
    referral: Referral
    documents: list
    checklist: RecordsChecklist
    content: dict = field(default_factory=dict)
    changes: list[dict] = field(default_factory=list)
    compared_to: int | None = None
    unchanged: bool = False

    @property
    def missing(self) -> list[ChecklistItem]:
        """What the case (and the centre's own list) still needs: the same list the family and the case page see."""
        return self.checklist.needed


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
        checklist=records_needed_for_centre(case=referral.case, hospital=referral.hospital),
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
