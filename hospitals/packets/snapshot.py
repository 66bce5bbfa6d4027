"""What goes into a packet: the minimum necessary, frozen as plain JSON.

Patient: names, date of birth, sex, country of residence, language. Never contacts,
addresses or phone numbers: the centre talks to the coordinator.
"""

from __future__ import annotations

import hashlib
import json
import math

import rfc8785
from django.utils import timezone

from .clinical import clinical_for, eligibility_for

SCHEMA = "navigator.case-packet/2"
# How ``content_hash`` is computed, named in every packet and manifest (docs/packet-format.md).
CONTENT_HASH_ALGORITHM = "sha256-rfc8785"
# Members of a packet document that are not content: when and by whom it was assembled, and
# what changed since the version the centre had seen. Everything else is hashed.
NOT_CONTENT = ("packet", "changes_since")


def canonical_json(data) -> bytes:
    """The RFC 8785 (JSON Canonicalization Scheme) form: sorted keys, no whitespace, UTF-8,
    ECMAScript number formatting. Data goes through a JSON round trip first, so the hash is
    of exactly what is stored and served (tuples as arrays, keys as strings)."""
    return rfc8785.dumps(json.loads(json.dumps(data, ensure_ascii=False)))


def packet_content(document: dict) -> dict:
    """The hashed part of a packet document (the stored snapshot, the ``/json/`` response or
    ``packet.json`` in the ZIP): every member except ``packet`` and ``changes_since``."""
    return {k: v for k, v in document.items() if k not in NOT_CONTENT}


def content_hash(content: dict) -> str:
    """SHA-256 (hex) of the content's canonical form; a centre recomputes it from what it received."""
    return hashlib.sha256(canonical_json(packet_content(content))).hexdigest()


def _document(doc) -> dict:
    return {
        "id": doc.pk,
        "doc_type": doc.doc_type,
        "doc_type_label": str(doc.get_doc_type_display()),
        "title": doc.title,
        "original_name": doc.original_name,
        "clinical_date": doc.clinical_date.isoformat() if doc.clinical_date else None,
        "language": doc.language,
        "content_type": doc.content_type,
        "size": doc.size,
        "sha256": doc.sha256,
        "sha1": doc.sha1,
        "review_status": doc.review_status,
    }


def _latest(items: list[dict], date_key: str) -> dict | None:
    dated = [i for i in items if i.get(date_key)]
    return max(dated, key=lambda i: i[date_key]) if dated else None


def body_summary(measurements: list[dict]) -> dict | None:
    """The latest weight and the latest height, each with its date, and what follows from them:
    body mass index (kg/m²) and body surface area by the Mosteller formula,
    BSA (m²) = √(height (cm) × weight (kg) / 3600) (Mosteller RD, N Engl J Med 1987;317:1098),
    the one CAR-T and chemotherapy doses per m² are usually computed with. None without any."""
    weight = _latest([m for m in measurements if m.get("weight_kg") is not None], "date")
    height = _latest([m for m in measurements if m.get("height_cm") is not None], "date")
    if weight is None and height is None:
        return None
    body = {
        "weight_kg": weight["weight_kg"] if weight else None,
        "weight_date": weight["date"] if weight else None,
        "height_cm": height["height_cm"] if height else None,
        "height_date": height["date"] if height else None,
        "bmi": None,
        "bsa_m2": None,
        "bsa_formula": "mosteller",
    }
    if weight and height:
        kg, cm = float(weight["weight_kg"]), float(height["height_cm"])
        body["bmi"] = round(kg / (cm / 100) ** 2, 1)
        body["bsa_m2"] = round(math.sqrt(cm * kg / 3600), 2)
    return body


def serology_summary(results: list[dict]) -> dict:
    """The latest result of each infection screening test, by test."""
    latest: dict[str, dict] = {}
    for r in results:
        test = str(r.get("test"))
        if test not in latest or str(r.get("date") or "") >= str(latest[test].get("date") or ""):
            latest[test] = r
    return {
        test: {
            "result": r.get("result"),
            "viral_load": r.get("viral_load"),
            "viral_load_unit": r.get("viral_load_unit") or "",
            "date": r.get("date"),
        }
        for test, r in sorted(latest.items())
    }


def clinical_summary(clinical: dict) -> dict:
    """The few facts a centre looks for first: CD19, CNS and Ph status, transplant history;
    weight, height and body surface area, the latest infection screening and lymphocyte count."""
    cd19 = _latest(clinical.get("cd19_results") or [], "sample_date")
    cns = _latest(clinical.get("cns_assessments") or [], "date")
    ph = clinical.get("philadelphia") or {}
    mrd = _latest(clinical.get("mrd_results") or [], "date")
    transplants = clinical.get("transplants") or []
    return {
        "lineage": (clinical.get("diagnosis") or {}).get("lineage", "unknown"),
        "cd19_status": cd19["status"] if cd19 else "unknown",
        "cd19_date": cd19["sample_date"] if cd19 else None,
        "cns_status": cns["status"] if cns else "unknown",
        "ph_status": ph.get("status") or "unknown",
        "current_tki": ph.get("current_tki", ""),
        "latest_mrd": mrd,
        "prior_lines": len(clinical.get("therapy_lines") or []) or clinical.get("reported_prior_lines"),
        "prior_transplants": len(transplants),
        "body": body_summary(clinical.get("body_measurements") or []),
        "serology": serology_summary(clinical.get("serology") or []),
        "latest_lymphocytes": _without_provenance(_latest(clinical.get("lymphocyte_counts") or [], "date")),
    }


def _without_provenance(item: dict | None) -> dict | None:
    return None if item is None else {k: v for k, v in item.items() if k not in ("row", "source")}


def build_content(*, referral, documents) -> dict:
    """The packet's content (hashed): everything except when and by whom it was assembled."""
    case = referral.case
    patient = case.patient
    hospital = referral.hospital
    clinical = clinical_for(case)
    originals = [d for d in documents if not d.translation_of_id]
    translations: dict[int, list] = {}
    for d in documents:
        if d.translation_of_id:
            translations.setdefault(d.translation_of_id, []).append(d)
    docs = []
    for doc in sorted(originals, key=lambda d: (d.doc_type, d.clinical_date or timezone.localdate(), d.pk)):
        entry = _document(doc)
        entry["translations"] = [
            {**_document(t), "translator": t.translator}
            for t in sorted(translations.get(doc.pk, []), key=lambda t: t.pk)
        ]
        docs.append(entry)
    return {
        "schema": SCHEMA,
        "case": {
            "reference": case.reference,
            "indication": {"code": case.indication.code, "name": case.indication.name},
            "inquiry_date": case.inquiry_date.isoformat(),
        },
        "centre": {"code": hospital.code, "name_en": hospital.name_en, "name_zh": hospital.name_zh},
        "patient": {
            "given_name": patient.given_name,
            "family_name": patient.family_name,
            "native_name": patient.native_name,
            "date_of_birth": patient.date_of_birth.isoformat(),
            "age_years": patient.age(),
            "sex": patient.sex,
            "country_of_residence": str(patient.country),
            "preferred_language": patient.preferred_language,
        },
        "cover_note": referral.cover_note,
        "clinical": clinical,
        "summary": clinical_summary(clinical),
        "eligibility": eligibility_for(case, hospital),
        "documents": docs,
    }


ASSEMBLING_ORGANIZATION = "Navigator case management"


def assembler(user) -> dict:
    """Who assembled a version, as a centre can name them: a person's name and role at the
    navigation service, never their login."""
    if user is not None and getattr(user, "is_authenticated", False):
        role = user.role if user.role in ("coordinator", "supervisor") else "system"
        name = user.get_full_name().strip() or f"Navigator {role}"
    else:
        role, name = "system", ASSEMBLING_ORGANIZATION
    return {"name": name, "role": role, "organization": ASSEMBLING_ORGANIZATION}


def with_assembly(content: dict, *, version: int, assembled_by, assembled_at, digest: str) -> dict:
    return {
        **content,
        "packet": {
            "version": version,
            "assembled_at": assembled_at.isoformat(),
            "assembled_by": assembler(assembled_by),
            "content_hash": digest,
            "content_hash_algorithm": CONTENT_HASH_ALGORITHM,
        },
    }


def strip_assembly(snapshot: dict) -> dict:
    return packet_content(snapshot)
