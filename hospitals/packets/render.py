"""One packet version in each format. Renderings are pure functions of the frozen snapshot,
so a version always renders the same, whatever happened to the case since."""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.urls import reverse
from zipstream import ZipStream

from navigator.errors import ConflictError

from ..models import PacketVersion
from .bundle_zip import build_zip
from .fhir import build_bundle
from .pdf import render_pdf

FORMATS = ("json", "pdf", "zip", "fhir")


def packet_json(packet: PacketVersion) -> dict:
    return {
        **packet.snapshot,
        "changes_since": {"version": packet.compared_to, "changes": packet.changes} if packet.compared_to else None,
    }


def packet_pdf(packet: PacketVersion) -> bytes:
    return render_pdf(packet.snapshot, changes=packet.changes, compared_to=packet.compared_to)


def document_download_url(referral_id: int, document_id: int) -> str:
    """The absolute URL of the hospital API's download route for a document of a referral's
    packets, under the configured public site URL (``NAVIGATOR_SITE_URL``)."""
    path = reverse("referral-document-download", kwargs={"pk": referral_id, "document_id": document_id})
    return settings.SITE_URL.rstrip("/") + path


def packet_fhir(packet: PacketVersion) -> dict:
    return build_bundle(packet.snapshot, document_url=partial(document_download_url, packet.referral_id))


def packet_zip(packet: PacketVersion) -> ZipStream:
    """The streamed bundle. Refuses (409) up front when a document has gone (erased), rather
    than cutting a download off half-way."""
    from documents.models import Document

    ids = packet.document_ids
    docs = {d.pk: d for d in Document.objects.filter(pk__in=ids, case_id=packet.referral.case_id)}
    gone = [i for i in ids if i not in docs or not docs[i].file.storage.exists(docs[i].file.name)]
    if gone:
        raise ConflictError(
            f"Documents {', '.join(map(str, gone))} of this packet are no longer stored; ask the coordinator "
            "for a new packet version."
        )
    openers = {pk: (lambda d=d: d.file.storage.open(d.file.name, "rb")) for pk, d in docs.items()}
    return build_zip(
        snapshot=packet_json(packet), fhir_bundle=packet_fhir(packet), pdf=packet_pdf(packet), openers=openers
    )
