"""The packet as a ZIP bundle, streamed with bounded memory (zipstream-ng).

Layout::

    manifest.json       packet metadata and every file with its size and SHA-256
    SHA256SUMS          the same checksums, for `sha256sum -c`
    packet.json         the packet as the JSON route serves it (with ``changes_since``)
    fhir-bundle.json    the FHIR R4 document Bundle
    summary.pdf         the English and Chinese summary
    documents/...       the documents, originals then translations

Documents are stored (not deflated: they are PDFs and images already compressed) and read
from storage in 1 MiB chunks, so the response's size is known up front and memory stays
flat whatever the packet weighs. Their checksums come from the packet (computed when they
were uploaded); a centre can verify each file against the manifest.

One packet version always gives the same bytes: members in a fixed order, each dated the
version's assembly time (UTC, to the ZIP format's two seconds) with fixed permissions
(``rw-------``), generated files serialised deterministically, and a PDF that is itself
byte-stable. The manifest's checksum of ``summary.pdf`` therefore never changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import struct
from collections.abc import Iterator

from zipstream import ZIP_STORED, ZipStream

from .snapshot import CONTENT_HASH_ALGORITHM

CHUNK = 1024 * 1024
LOCAL_HEADER = b"PK\x03\x04"


def _dos_date_time(when: tuple[int, int, int, int, int, int]) -> bytes:
    """The MS-DOS time and date fields of a ZIP header (APPNOTE 4.4.6), little-endian."""
    year, month, day, hour, minute, second = when
    return struct.pack("<HH", (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day)


class DatedZipStream(ZipStream):
    """A ZipStream whose members all carry one fixed date and time.

    zipstream-ng dates in-memory and streamed members with the time they are written, with
    no way to pass another: each member's local header (its first bytes, written before any
    data) gets the fixed date written over those two fields, and its central-directory
    record (written from the same ZipInfo at the end) gets it through ``date_time``.
    """

    def __init__(self, *, date_time: tuple[int, int, int, int, int, int], **kwargs):
        super().__init__(**kwargs)
        self._fixed_date_time = date_time
        self._fixed_dos = _dos_date_time(date_time)

    def _gen_file_entry(self, **kwargs):
        entry = super()._gen_file_entry(**kwargs)
        header = next(entry)
        if not header.startswith(LOCAL_HEADER) or len(header) < 14:
            raise RuntimeError(f"zipstream-ng wrote an unexpected first block for {kwargs.get('arcname')!r}")
        yield header[:10] + self._fixed_dos + header[14:]
        yield from entry
        self._filelist[-1].date_time = self._fixed_date_time


def member_date_time(assembled_at: str | None) -> tuple[int, int, int, int, int, int]:
    """The version's assembly time in UTC, to the ZIP format's two-second resolution."""
    when = dt.datetime.fromisoformat(assembled_at) if assembled_at else dt.datetime(1980, 1, 1, tzinfo=dt.UTC)
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    when = max(when.replace(tzinfo=None), dt.datetime(1980, 1, 1))
    return (when.year, when.month, when.day, when.hour, when.minute, when.second - when.second % 2)


def _safe(name: str) -> str:
    name = re.sub(r"[^\w.\-]+", "_", name, flags=re.UNICODE).strip("._")
    return name[:120] or "file"


def document_paths(snapshot: dict) -> list[tuple[dict, str]]:
    """(document entry, path inside the ZIP) for every document and translation."""
    out = []
    for i, doc in enumerate(snapshot.get("documents", []), start=1):
        base = f"documents/{i:02d}_{doc['doc_type']}_{doc['id']}_{_safe(doc['original_name'])}"
        out.append((doc, base))
        for t in doc.get("translations", []):
            lang = _safe(t.get("language") or "translation")
            out.append((t, f"documents/{i:02d}_{doc['doc_type']}_{t['id']}_{lang}_{_safe(t['original_name'])}"))
    return out


def _chunks(open_file) -> Iterator[bytes]:
    with open_file() as fh:
        while True:
            block = fh.read(CHUNK)
            if not block:
                return
            yield block


def build_zip(*, snapshot: dict, fhir_bundle: dict, pdf: bytes, openers: dict) -> ZipStream:
    """A sized ZipStream. ``snapshot`` is the packet document (as the JSON route serves it);
    ``openers`` maps document id -> a callable returning a binary file."""
    meta = snapshot.get("packet", {})
    zs = DatedZipStream(compress_type=ZIP_STORED, sized=True, date_time=member_date_time(meta.get("assembled_at")))
    generated = {
        "packet.json": json.dumps(snapshot, ensure_ascii=False, indent=2, sort_keys=True).encode(),
        "fhir-bundle.json": json.dumps(fhir_bundle, ensure_ascii=False, indent=2).encode(),
        "summary.pdf": pdf,
    }
    files = [
        {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "kind": "generated"}
        for path, data in generated.items()
    ]
    docs = document_paths(snapshot)
    for doc, path in docs:
        entry = {
            "path": path,
            "size": doc["size"],
            "sha256": doc["sha256"],
            "kind": "document",
            "document_id": doc["id"],
        }
        if "translator" in doc:  # a translation names who made it
            entry["translator"] = doc["translator"]
        files.append(entry)
    manifest = {
        "reference": snapshot["case"]["reference"],
        "centre": snapshot["centre"]["code"],
        "version": meta.get("version"),
        "assembled_at": meta.get("assembled_at"),
        "content_hash": meta.get("content_hash"),
        "content_hash_algorithm": meta.get("content_hash_algorithm", CONTENT_HASH_ALGORITHM),
        "algorithm": "sha256",
        "files": files,
    }
    zs.add(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode(), "manifest.json")
    zs.add("".join(f"{f['sha256']}  {f['path']}\n" for f in files).encode(), "SHA256SUMS")
    for path, data in generated.items():
        zs.add(data, path)
    for doc, path in docs:
        zs.add(_chunks(openers[doc["id"]]), path, size=doc["size"])
    return zs
