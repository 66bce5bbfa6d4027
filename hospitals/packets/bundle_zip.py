"""The packet as a ZIP bundle, streamed with bounded memory (zipstream-ng).

Layout::

    manifest.json       packet metadata and every file with its size and SHA-256
    SHA256SUMS          the same checksums, for `sha256sum -c`
    packet.json         the snapshot
    fhir-bundle.json    the FHIR R4 document Bundle
    summary.pdf         the English and Chinese summary
    documents/...       the documents, originals then translations

Documents are stored (not deflated: they are PDFs and images already compressed) and read
from storage in 1 MiB chunks, so the response's size is known up front and memory stays
flat whatever the packet weighs. Their checksums come from the packet (computed when they
were uploaded); a centre can verify each file against the manifest.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator

from zipstream import ZIP_STORED, ZipStream

CHUNK = 1024 * 1024


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
    """A sized ZipStream. ``openers`` maps document id -> a callable returning a binary file."""
    zs = ZipStream(compress_type=ZIP_STORED, sized=True)
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
    meta = snapshot.get("packet", {})
    manifest = {
        "reference": snapshot["case"]["reference"],
        "centre": snapshot["centre"]["code"],
        "version": meta.get("version"),
        "assembled_at": meta.get("assembled_at"),
        "content_hash": meta.get("content_hash"),
        "algorithm": "sha256",
        "files": files,
    }
    zs.add(json.dumps(manifest, ensure_ascii=False, indent=2).encode(), "manifest.json")
    zs.add("".join(f"{f['sha256']}  {f['path']}\n" for f in files).encode(), "SHA256SUMS")
    for path, data in generated.items():
        zs.add(data, path)
    for doc, path in docs:
        zs.add(_chunks(openers[doc["id"]]), path, size=doc["size"])
    return zs
