"""The packet as an HL7 FHIR R4 document Bundle, shaped after the International Patient Summary.

Composition first (IPS sections: problems, results, procedures, medications, plus the
attached records), then Patient, the authoring organisation, Condition, Observations for
CD19, MRD, BCR::ABL1 and CNS status, Procedures for transplants, MedicationStatements for
therapy lines and the current TKI, one DocumentReference per document (translations point
at their original with relatesTo "transforms"), and a Provenance naming who assembled it.
Every id is derived from the packet, so the same packet always gives the same Bundle.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

NAMESPACE = uuid.UUID("6b1d3f0e-6c57-4f7e-9a51-1c0f7e3a2b90")
NAV = "https://navigator.health/fhir"
DOCUMENT_SHA256_SYSTEM = f"{NAV}/NamingSystem/document-sha256"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"

# Value sets the checks (and the tests) hold the Bundle to.
REQUIRED_CODES = {
    ("Composition", "status"): {"preliminary", "final", "amended", "entered-in-error"},
    ("Observation", "status"): {
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    },
    ("Procedure", "status"): {
        "preparation",
        "in-progress",
        "not-done",
        "on-hold",
        "stopped",
        "completed",
        "entered-in-error",
        "unknown",
    },
    ("MedicationStatement", "status"): {
        "active",
        "completed",
        "entered-in-error",
        "intended",
        "stopped",
        "on-hold",
        "unknown",
        "not-taken",
    },
    ("DocumentReference", "status"): {"current", "superseded", "entered-in-error"},
    ("Patient", "gender"): {"male", "female", "other", "unknown"},
}
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CLINICAL_CODES = {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PROVENANCE_AGENT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"

RESULT_CODES = {
    "positive": (SNOMED, "10828004", "Positive"),
    "dim": (SNOMED, "10828004", "Positive (dim)"),
    "negative": (SNOMED, "260385009", "Negative"),
    # The answer LOINC's own answer lists give for an indeterminate screening test (LA11884-6,
    # e.g. on loinc.org/47364-5).
    "indeterminate": (SNOMED, "82334004", "Indeterminate"),
    "unknown": (SNOMED, "261665006", "Unknown"),
}


def _id(packet_key: str, *parts) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join([packet_key, *map(str, parts)])))


def _url(rid: str) -> str:
    return f"urn:uuid:{rid}"


def _result(status: str | None) -> dict:
    system, code, display = RESULT_CODES.get(status or "unknown", RESULT_CODES["unknown"])
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


# Standard codes where one exists for what we record. BCR::ABL1 is recorded as present or
# absent, which LOINC names exactly. CD19 on blasts (positive/dim/negative) and MRD (by flow or
# PCR, as a value or a result) have no single LOINC term that fits every report, so they keep
# only our own code and the method in Observation.method. Checked again for CD19, CNS status,
# MRD and marrow blasts: no published source states a code for them as we record them (public
# code lists give marrow blasts as 26464-8, which others name "WBC [#/volume] in Blood", or as
# 77147-7, an eGFR (MDRD) term in every list that names it), so none is added until one does.
LOINC_OBSERVATIONS = {
    "bcr-abl1": (
        "21821-4",
        "t(9;22)(q34.1;q11)(ABL1,BCR) fusion transcript [Presence] in Blood or Tissue by Molecular genetics method",
    ),
}


def _nav_code(code: str, display: str) -> dict:
    coding = [{"system": f"{NAV}/CodeSystem/observation", "code": code, "display": display}]
    if code in LOINC_OBSERVATIONS:
        loinc, loinc_display = LOINC_OBSERVATIONS[code]
        coding.insert(0, {"system": LOINC, "code": loinc, "display": loinc_display})
    return {"coding": coding, "text": display}


def _lab_category() -> list[dict]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory", "display": "Laboratory"}]}]


@dataclass(frozen=True)
class _Context:
    """What every builder needs to know about the packet: the id seed and the shared references."""

    pkey: str
    patient_ref: dict
    org_id: str
    centre_id: str
    assembler_id: str
    assembled_by: str
    assembled_role: str
    assembled_at: str | None
    version: int
    document_url: Callable[[int], str] | None = None

    def id(self, *parts: object) -> str:
        return _id(self.pkey, *parts)


def _context(snapshot: dict, document_url: Callable[[int], str] | None = None) -> _Context:
    meta = snapshot.get("packet", {})
    key = meta.get("content_hash") or snapshot["case"]["reference"]
    version = meta.get("version", 0)
    pkey = f"{key}:{version}"
    assembler = meta.get("assembled_by") or {}
    if not isinstance(assembler, dict):  # format 1 named a login: never shown to a centre
        assembler = {}
    assembled_by = assembler.get("name") or "Navigator case management"
    assembled_role = assembler.get("role") or "system"
    return _Context(
        pkey=pkey,
        patient_ref={"reference": _url(_id(pkey, "patient"))},
        org_id=_id(pkey, "organization", "navigator"),
        centre_id=_id(pkey, "organization", snapshot["centre"]["code"]),
        assembler_id=_id(pkey, "practitioner", assembled_by),
        assembled_by=assembled_by,
        assembled_role=assembled_role,
        assembled_at=meta.get("assembled_at"),
        version=version,
        document_url=document_url,
    )


def build_bundle(snapshot: dict, *, document_url: Callable[[int], str] | None = None) -> dict:
    """A FHIR R4 document Bundle (plain JSON) for a packet snapshot. ``document_url`` gives
    the absolute download URL of a document by id (the hospital API's route under the
    configured site URL); without it attachments carry no URL."""
    ctx = _context(snapshot, document_url)
    clinical = snapshot.get("clinical") or {}
    condition = _condition(ctx, clinical)
    history = [*_relapse_conditions(ctx, clinical), *_gvhd_conditions(ctx, clinical)]
    observations = _observations(ctx, clinical)
    vital_signs = _body_observations(ctx, clinical.get("body_measurements") or [])
    procedures = _procedures(ctx, clinical)
    medications = [*_medication_statements(ctx, clinical), *_immunosuppression_statements(ctx, clinical)]
    doc_refs = _document_references(ctx, snapshot.get("documents", []))
    composition = _composition(
        ctx,
        snapshot,
        condition=condition,
        history=history,
        observations=observations,
        vital_signs=vital_signs,
        procedures=procedures,
        medications=medications,
        doc_refs=doc_refs,
    )
    resources = [
        composition,
        _patient(ctx, snapshot),
        _navigator_organization(ctx),
        _centre_organization(ctx, snapshot["centre"]),
        _assembler(ctx),
        condition,
        *history,
        *observations,
        *vital_signs,
        *procedures,
        *medications,
        *doc_refs,
        _provenance(ctx, composition),
    ]
    return _bundle(ctx, resources)


def _bundle(ctx: _Context, resources: list[dict]) -> dict:
    return {
        "resourceType": "Bundle",
        "id": ctx.id("bundle"),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": _url(ctx.id("bundle-identifier"))},
        "type": "document",
        "timestamp": ctx.assembled_at,
        "entry": [{"fullUrl": _url(r["id"]), "resource": r} for r in resources],
    }


XHTML = "http://www.w3.org/1999/xhtml"


def _narrative(*lines: str) -> dict:
    """A generated XHTML narrative: one paragraph, or a list when there are several lines."""
    if len(lines) == 1:
        body = f"<p>{escape(lines[0])}</p>"
    else:
        body = "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body}</div>'}


def _plain(value) -> str:
    return "—" if value in (None, "") else str(value).replace("_", " ")


def _relapse_conditions(ctx: _Context, clinical: dict) -> list[dict]:
    """Each relapse as a Condition of its own (the disease's recurrence at a site and date)."""
    out = []
    for i, r in enumerate(clinical.get("relapses") or []):
        condition = {
            "resourceType": "Condition",
            "id": ctx.id("relapse", i),
            "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "relapse"}]},
            "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                            "code": "encounter-diagnosis",
                        }
                    ]
                }
            ],
            "code": {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/sid/icd-10",
                        "code": "C91.0",
                        "display": "Acute lymphoblastic leukaemia",
                    }
                ],
                "text": f"Relapse of B-ALL ({_plain(r.get('site')) if r.get('site') else 'site not recorded'})",
            },
            "subject": ctx.patient_ref,
            "onsetDateTime": r.get("date"),
            "text": _narrative(f"Relapse {i + 1} on {r.get('date')}, site: {_plain(r.get('site'))}"),
        }
        if r.get("site"):
            condition["bodySite"] = [{"text": str(r["site"]).replace("_", " ")}]
        out.append(condition)
    return out


GVHD = (SNOMED, "234646005", "Graft-versus-host disease")
IMMUNOSUPPRESSION = (SNOMED, "372823004", "Immunosuppressant")


def _gvhd_conditions(ctx: _Context, clinical: dict) -> list[dict]:
    """GvHD after an allogeneic transplant, when recorded: active, or recorded as absent."""
    out = []
    for i, t in enumerate(clinical.get("transplants") or []):
        if t.get("active_gvhd") is None:
            continue
        active = bool(t["active_gvhd"])
        condition = {
            "resourceType": "Condition",
            "id": ctx.id("gvhd", i),
            "verificationStatus": {
                "coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed" if active else "refuted"}]
            },
            "code": {"coding": [{"system": GVHD[0], "code": GVHD[1], "display": GVHD[2]}], "text": GVHD[2]},
            "subject": ctx.patient_ref,
            "text": _narrative(f"{'Active' if active else 'No active'} GvHD after the transplant of {t.get('date')}"),
        }
        if active:
            condition["clinicalStatus"] = {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]}
        out.append(condition)
    return out


def _immunosuppression_statements(ctx: _Context, clinical: dict) -> list[dict]:
    """Immunosuppression after a transplant, when recorded: taken now, or not taken."""
    out = []
    for i, t in enumerate(clinical.get("transplants") or []):
        if t.get("on_immunosuppression") is None:
            continue
        on = bool(t["on_immunosuppression"])
        out.append(
            {
                "resourceType": "MedicationStatement",
                "id": ctx.id("immunosuppression", i),
                "status": "active" if on else "not-taken",
                "medicationCodeableConcept": {
                    "coding": [
                        {"system": IMMUNOSUPPRESSION[0], "code": IMMUNOSUPPRESSION[1], "display": IMMUNOSUPPRESSION[2]}
                    ],
                    "text": "Immunosuppression after stem-cell transplant",
                },
                "subject": ctx.patient_ref,
                "text": _narrative(
                    f"{'On' if on else 'Off'} immunosuppression after the transplant of {t.get('date')}"
                ),
            }
        )
    return out


def _patient(ctx: _Context, snapshot: dict) -> dict:
    p = snapshot["patient"]
    patient = {
        "resourceType": "Patient",
        "id": ctx.id("patient"),
        "identifier": [{"system": f"{NAV}/case-reference", "value": snapshot["case"]["reference"]}],
        "name": [{"family": p["family_name"], "given": [p["given_name"]]}],
        "gender": p["sex"] if p["sex"] in REQUIRED_CODES[("Patient", "gender")] else "unknown",
        "birthDate": p["date_of_birth"],
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": p["preferred_language"]}]}}],
    }
    if p.get("native_name"):
        patient["name"].append({"text": p["native_name"], "use": "usual"})
    return patient


def _navigator_organization(ctx: _Context) -> dict:
    return {"resourceType": "Organization", "id": ctx.org_id, "name": "Navigator case management"}


def _centre_organization(ctx: _Context, centre: dict) -> dict:
    organization = {
        "resourceType": "Organization",
        "id": ctx.centre_id,
        "identifier": [{"system": f"{NAV}/centre", "value": centre["code"]}],
        "name": centre["name_en"],
    }
    if centre.get("name_zh"):
        organization["alias"] = [centre["name_zh"]]
    return organization


def _assembler(ctx: _Context) -> dict:
    """The person who assembled the packet, by name (never a login), on behalf of the
    navigation service (Provenance.agent.onBehalfOf)."""
    return {
        "resourceType": "Practitioner",
        "id": ctx.assembler_id,
        "name": [{"text": ctx.assembled_by}],
        "text": _narrative(f"{ctx.assembled_by}, {ctx.assembled_role}, Navigator case management"),
    }


def _condition(ctx: _Context, clinical: dict) -> dict:
    diagnosis = clinical.get("diagnosis") or {}
    relapsed = bool(clinical.get("relapses"))
    condition = {
        "resourceType": "Condition",
        "id": ctx.id("condition"),
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "relapse" if relapsed else "active"}]},
        "verificationStatus": {
            "coding": [
                {
                    "system": CONDITION_VERIFICATION,
                    "code": "confirmed" if diagnosis.get("lineage") == "b_all" else "provisional",
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "problem-list-item",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {
                    "system": "http://hl7.org/fhir/sid/icd-10",
                    "code": "C91.0",
                    "display": "Acute lymphoblastic leukaemia",
                },
                {
                    "system": "http://terminology.hl7.org/CodeSystem/icd-o-3",
                    "code": "9811/3",
                    "display": "B lymphoblastic leukaemia/lymphoma, NOS",
                },
            ],
            "text": "Relapsed/refractory B-cell precursor acute lymphoblastic leukaemia",
        },
        "subject": ctx.patient_ref,
    }
    if diagnosis.get("date"):
        condition["onsetDateTime"] = diagnosis["date"]
    return condition


def _observations(ctx: _Context, clinical: dict) -> list[dict]:
    """CD19, MRD, BCR::ABL1 and CNS status, in that order; fields without a value left out."""
    observations = [
        *_cd19_observations(ctx, clinical.get("cd19_results") or []),
        *_mrd_observations(ctx, clinical.get("mrd_results") or []),
        _bcr_abl1_observation(ctx, clinical.get("philadelphia") or {}),
        *_cns_observations(ctx, clinical.get("cns_assessments") or []),
        *_clinical_review_observations(ctx, clinical),
        *_serology_observations(ctx, clinical.get("serology") or []),
        *_lymphocyte_observations(ctx, clinical.get("lymphocyte_counts") or []),
    ]
    return [{k: v for k, v in obs.items() if v is not None} for obs in observations]


def _cd19_observations(ctx: _Context, results: list[dict]) -> list[dict]:
    return [
        {
            "resourceType": "Observation",
            "id": ctx.id("cd19", i),
            "status": "final",
            "category": _lab_category(),
            "code": _nav_code("cd19-expression", "CD19 expression on blasts"),
            "subject": ctx.patient_ref,
            "effectiveDateTime": r.get("sample_date"),
            "valueCodeableConcept": _result(r.get("status")),
            "method": {"text": str(r.get("method", "")).replace("_", " ") or "flow cytometry"},
            "specimen": None,
            "note": [{"text": f"Sample: {str(r.get('sample_type', '')).replace('_', ' ')}"}],
        }
        for i, r in enumerate(results)
    ]


def _mrd_observations(ctx: _Context, results: list[dict]) -> list[dict]:
    observations = []
    for i, r in enumerate(results):
        obs = {
            "resourceType": "Observation",
            "id": ctx.id("mrd", i),
            "status": "final",
            "category": _lab_category(),
            "code": _nav_code("mrd", "Minimal residual disease"),
            "subject": ctx.patient_ref,
            "effectiveDateTime": r.get("date"),
        }
        if r.get("value") not in (None, ""):
            obs["valueQuantity"] = {"value": float(r["value"]), "unit": r.get("unit") or "%"}
        else:
            obs["valueCodeableConcept"] = _result(r.get("result"))
        if r.get("method"):
            obs["method"] = {"text": str(r["method"])}
        observations.append(obs)
    return observations


def _bcr_abl1_observation(ctx: _Context, ph: dict) -> dict:
    return {
        "resourceType": "Observation",
        "id": ctx.id("bcr-abl1"),
        "status": "final" if ph.get("status") else "unknown",
        "category": _lab_category(),
        "code": _nav_code("bcr-abl1", "BCR::ABL1 fusion (Philadelphia chromosome)"),
        "subject": ctx.patient_ref,
        **({"effectiveDateTime": ph["date"]} if ph.get("date") else {}),
        "valueCodeableConcept": _result(ph.get("status")),
    }


def _cns_observations(ctx: _Context, assessments: list[dict]) -> list[dict]:
    return [
        {
            "resourceType": "Observation",
            "id": ctx.id("cns", i),
            "status": "final",
            "category": _lab_category(),
            "code": _nav_code("cns-status", "CNS disease status"),
            "subject": ctx.patient_ref,
            "effectiveDateTime": c.get("date"),
            "valueCodeableConcept": {
                "coding": [
                    {
                        "system": f"{NAV}/CodeSystem/cns-status",
                        "code": c.get("status"),
                        "display": str(c.get("status", "")).upper(),
                    }
                ]
            },
        }
        for i, c in enumerate(assessments)
    ]


# The clinical review's facts: performance status, organ function (UCUM units), the latest marrow
# (blasts, MRD with method and sensitivity) and active infections. LOINC where a code fits the
# value as recorded (bilirubin by its unit); Lansky, marrow blasts, MRD and infections keep only
# our own code.
UCUM = "http://unitsofmeasure.org"
PERFORMANCE_LOINC = {
    "ecog": ("89247-1", "ECOG Performance Status score"),
    "karnofsky": ("89243-0", "Karnofsky Performance Status score"),
}
ORGAN_LOINC = {
    ("creatinine_clearance", None): ("2164-2", "Creatinine renal clearance in 24 hour Urine and Serum or Plasma"),
    ("egfr", None): (
        "33914-3",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma by Creatinine-based "
        "formula (MDRD)",
    ),
    ("lvef", None): ("10230-1", "Left ventricular Ejection fraction"),
    ("bilirubin", "mg/dL"): ("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma"),
    ("bilirubin", "umol/L"): ("14631-6", "Bilirubin.total [Moles/volume] in Serum or Plasma"),
    ("alt", None): ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma"),
    ("ast", None): ("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma"),
    ("spo2", None): ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
}


def _coded(code: str, display: str, loinc: tuple[str, str] | None) -> dict:
    coding = [{"system": f"{NAV}/CodeSystem/observation", "code": code, "display": display}]
    if loinc:
        coding.insert(0, {"system": LOINC, "code": loinc[0], "display": loinc[1]})
    return {"coding": coding, "text": display}


def _quantity(value, unit: str) -> dict:
    return {"value": float(value), "unit": unit, "system": UCUM, "code": unit}


def _clinical_review_observations(ctx: _Context, clinical: dict) -> list[dict]:
    out: list[dict] = []
    for i, f in enumerate(clinical.get("fitness") or []):
        scale = str(f.get("scale", ""))
        out.append(
            {
                "resourceType": "Observation",
                "id": ctx.id("performance", i),
                "status": "final",
                "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
                "code": _coded(
                    f"performance-{scale}",
                    f"{scale.upper() if scale == 'ecog' else scale.title()} performance status",
                    PERFORMANCE_LOINC.get(scale),
                ),
                "subject": ctx.patient_ref,
                "effectiveDateTime": f.get("date"),
                "valueInteger": int(f["score"]),
            }
        )
    for i, o in enumerate(clinical.get("organ_function") or []):
        test, unit = str(o.get("test", "")), str(o.get("unit", ""))
        loinc = ORGAN_LOINC.get((test, unit)) or ORGAN_LOINC.get((test, None))
        obs = {
            "resourceType": "Observation",
            "id": ctx.id("organ", i),
            "status": "final",
            "category": _lab_category(),
            "code": _coded(f"organ-{test}", test.replace("_", " "), loinc),
            "subject": ctx.patient_ref,
            "effectiveDateTime": o.get("date"),
            "valueQuantity": _quantity(o["value"], unit),
        }
        if o.get("upper_limit_normal") not in (None, ""):
            obs["referenceRange"] = [{"high": _quantity(o["upper_limit_normal"], unit)}]
        out.append(obs)
    for i, m in enumerate(clinical.get("marrow") or []):
        if m.get("blasts_percent") is not None:
            out.append(
                {
                    "resourceType": "Observation",
                    "id": ctx.id("marrow-blasts", i),
                    "status": "final",
                    "category": _lab_category(),
                    "code": _coded("marrow-blasts", "Blasts in bone marrow", None),
                    "subject": ctx.patient_ref,
                    "effectiveDateTime": m.get("date"),
                    "valueQuantity": _quantity(m["blasts_percent"], "%"),
                }
            )
        if m.get("mrd") in ("negative", "positive"):
            obs = {
                "resourceType": "Observation",
                "id": ctx.id("marrow-mrd", i),
                "status": "final",
                "category": _lab_category(),
                "code": _nav_code("mrd", "Minimal residual disease"),
                "subject": ctx.patient_ref,
                "effectiveDateTime": m.get("date"),
                "method": {"text": str(m.get("mrd_method", "")).replace("_", " ")},
                "specimen": None,
                "note": [{"text": f"Bone marrow; sensitivity {m.get('mrd_sensitivity')}"}],
            }
            if m.get("mrd_level") not in (None, ""):
                obs["valueQuantity"] = {"value": float(m["mrd_level"]), "unit": "1", "system": UCUM, "code": "1"}
            else:
                obs["valueCodeableConcept"] = _result(m["mrd"])
            out.append(obs)
    for i, inf in enumerate(clinical.get("infections") or []):
        out.append(
            {
                "resourceType": "Observation",
                "id": ctx.id("infection", i),
                "status": "final",
                "code": _coded("active-infection", "Infection and whether it is controlled", None),
                "subject": ctx.patient_ref,
                "effectiveDateTime": inf.get("date"),
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": f"{NAV}/CodeSystem/infection-status",
                            "code": inf.get("status"),
                            "display": str(inf.get("status", "")),
                        }
                    ],
                    "text": str(inf.get("description", "")),
                },
            }
        )
    return out


# Weight and height, infection screening and lymphocyte counts before apheresis. A LOINC code is
# given only where a published source states it for what we record (cited on each line); the
# others keep our own code alone. Not coded in LOINC here, for want of a source that states the
# code: HBV DNA, HCV RNA and EBV DNA (quantitative or qualitative, IU or copies, differ by
# assay), syphilis (treponemal or not, and the method, decide the term) and HTLV-1/2.
BODY_LOINC = {
    # FHIR R4 Body Weight and Body Height profiles (hl7.org/fhir/R4/bodyweight.html, bodyheight.html)
    "weight": ("29463-7", "Body weight"),
    "height": ("8302-2", "Body height"),
}
SEROLOGY_LOINC = {
    # loinc.org/5195-3 (the method-less term; 5196-1 is by immunoassay).
    "hbsag": ("5195-3", "Hepatitis B virus surface Ag [Presence] in Serum"),
    # eHealth Connector (eHealth Suisse laboratory report value set, LabObsList).
    "anti_hbc": ("16933-4", "Hepatitis B virus core Ab [Presence] in Serum"),
    # eHealth Connector LabObsList; the Swiss CH EKM implementation guide's examples.
    "anti_hcv": ("16128-1", "Hepatitis C virus Ab [Presence] in Serum"),
    # HL7 Uzbekistan core IG examples; Cleveland Clinic Laboratories (HIV-1 p24 Ag + HIV-1/2 Ab).
    "hiv_ag_ab": ("56888-1", "HIV 1+2 Ab+HIV1 p24 Ag [Presence] in Serum or Plasma by Immunoassay"),
    # eHealth Connector LabObsList; Mayo Clinic Laboratories (CMV Ab, IgG, result LOINC).
    "cmv_igg": ("22244-8", "Cytomegalovirus IgG Ab [Presence] in Serum"),
    # eHealth Connector LabObsList.
    "ebv_vca_igg": ("30339-6", "Epstein Barr virus capsid IgG Ab [Presence] in Serum"),
}
SEROLOGY_LABELS = {
    "hbsag": "HBsAg",
    "anti_hbc": "Anti-HBc (total)",
    "hbv_dna": "HBV DNA",
    "anti_hcv": "Anti-HCV",
    "hcv_rna": "HCV RNA",
    "hiv_ag_ab": "HIV-1/2 Ag/Ab",
    "cmv_igg": "CMV IgG",
    "ebv_vca_igg": "EBV VCA IgG",
    "ebv_dna": "EBV DNA",
    "syphilis_treponemal": "Syphilis, treponemal (TPHA/TPPA)",
    "syphilis_rpr": "Syphilis, non-treponemal (RPR/VDRL)",
    "htlv": "HTLV-1/2 antibody",
}
LYMPHOCYTE_LOINC = {
    # HL7 US Core and eCR implementation guides' laboratory examples.
    "absolute": ("731-0", "Lymphocytes [#/volume] in Blood by Automated count"),
    # eHealth Connector LabObsList; the OMOP vocabulary (concept 3011412).
    "cd3": ("8122-4", "CD3 cells [#/volume] in Blood"),
}
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
INTERPRETATION_CODES = {
    "positive": ("POS", "Positive"),
    "negative": ("NEG", "Negative"),
    "indeterminate": ("IND", "Indeterminate"),
}


def _vital_signs_category() -> list[dict]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}]


def _quantity_observations(ctx: _Context, rows: list[dict], kind: str, measures, loinc: dict, category) -> list[dict]:
    """One Observation per measure recorded in each row: ``measures`` are (what, key, UCUM unit, label)."""
    out = []
    for i, row in enumerate(rows):
        for what, key, unit, label in measures:
            if row.get(key) is None:
                continue
            out.append(
                {
                    "resourceType": "Observation",
                    "id": ctx.id(f"{kind}-{what}", i),
                    "status": "final",
                    "category": category(),
                    "code": _coded(f"{kind}-{what}", label, loinc[what]),
                    "subject": ctx.patient_ref,
                    "effectiveDateTime": row.get("date"),
                    "valueQuantity": _quantity(row[key], unit),
                }
            )
    return out


def _body_observations(ctx: _Context, measurements: list[dict]) -> list[dict]:
    """Each recorded weight and height as a vital-signs Observation (kg, cm)."""
    measures = (("weight", "weight_kg", "kg", "Body weight"), ("height", "height_cm", "cm", "Body height"))
    return _quantity_observations(ctx, measurements, "body", measures, BODY_LOINC, _vital_signs_category)


def _serology_observations(ctx: _Context, results: list[dict]) -> list[dict]:
    """Each infection screening test: the result as a coded value (positive, negative,
    indeterminate), or the viral load as a UCUM quantity with the result as its interpretation."""
    out = []
    for i, r in enumerate(results):
        test, result = str(r.get("test", "")), str(r.get("result", ""))
        label = SEROLOGY_LABELS.get(test, test.replace("_", " "))
        obs = {
            "resourceType": "Observation",
            "id": ctx.id("serology", i),
            "status": "final",
            "category": _lab_category(),
            "code": _coded(f"serology-{test}", label, SEROLOGY_LOINC.get(test)),
            "subject": ctx.patient_ref,
            "effectiveDateTime": r.get("date"),
        }
        if r.get("viral_load") is not None and r.get("viral_load_unit"):
            obs["valueQuantity"] = _quantity(r["viral_load"], str(r["viral_load_unit"]))
        else:
            obs["valueCodeableConcept"] = _result(result)
        if result in INTERPRETATION_CODES:
            code, display = INTERPRETATION_CODES[result]
            obs["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": code, "display": display}]}]
        out.append(obs)
    return out


def _lymphocyte_observations(ctx: _Context, counts: list[dict]) -> list[dict]:
    """Absolute lymphocyte count (10*9/L) and CD3+ count ({cells}/uL) before apheresis."""
    measures = (
        ("absolute", "absolute_lymphocytes", "10*9/L", "Absolute lymphocyte count"),
        ("cd3", "cd3_per_ul", "{cells}/uL", "CD3+ T cells"),
    )
    return _quantity_observations(ctx, counts, "lymphocytes", measures, LYMPHOCYTE_LOINC, _lab_category)


def _screening_lines(summary: dict) -> list[str]:
    """The Composition narrative's lines for weight, height and body surface area, infection
    screening and the latest lymphocyte count (none for packets without them)."""
    lines = []
    body = summary.get("body")
    if body:
        parts = []
        if body.get("weight_kg") is not None:
            parts.append(f"weight {body['weight_kg']:g} kg ({body.get('weight_date')})")
        if body.get("height_cm") is not None:
            parts.append(f"height {body['height_cm']:g} cm ({body.get('height_date')})")
        if body.get("bsa_m2") is not None:
            parts.append(f"BSA {body['bsa_m2']:g} m² (Mosteller), BMI {body['bmi']:g} kg/m²")
        lines.append("Body: " + "; ".join(parts))
    serology = summary.get("serology") or {}
    if serology:
        lines.append(
            "Infection screening: "
            + "; ".join(f"{SEROLOGY_LABELS.get(t, t)} {r.get('result')} ({r.get('date')})" for t, r in serology.items())
        )
    lymphocytes = summary.get("latest_lymphocytes")
    if lymphocytes:
        alc, cd3 = lymphocytes.get("absolute_lymphocytes"), lymphocytes.get("cd3_per_ul")
        lines.append(f"Lymphocytes ({lymphocytes.get('date')}): ALC {_plain(alc)} x10^9/L, CD3+ {_plain(cd3)} cells/µL")
    return lines


def _procedures(ctx: _Context, clinical: dict) -> list[dict]:
    """One Procedure per stem-cell transplant."""
    procedures = []
    for i, t in enumerate(clinical.get("transplants") or []):
        notes = [f"Donor: {str(t.get('donor_type', '')).replace('_', ' ')}"]
        if t.get("active_gvhd") is not None:
            notes.append(f"Active GvHD: {'yes' if t['active_gvhd'] else 'no'}")
        if t.get("on_immunosuppression") is not None:
            notes.append(f"On immunosuppression: {'yes' if t['on_immunosuppression'] else 'no'}")
        procedures.append(
            {
                "resourceType": "Procedure",
                "id": ctx.id("transplant", i),
                "status": "completed",
                "code": {
                    "coding": [{"system": SNOMED, "code": "234336002", "display": "Hemopoietic stem cell transplant"}],
                    "text": "Allogeneic stem-cell transplant"
                    if t.get("donor_type") != "autologous"
                    else "Autologous stem-cell transplant",
                },
                "subject": ctx.patient_ref,
                "performedDateTime": t.get("date"),
                "note": [{"text": "; ".join(notes)}],
            }
        )
    return procedures


def _medication_statements(ctx: _Context, clinical: dict) -> list[dict]:
    """One MedicationStatement per therapy line, then the current TKI if there is one."""
    statements = _therapy_line_statements(ctx, clinical.get("therapy_lines") or [])
    current_tki = (clinical.get("philadelphia") or {}).get("current_tki")
    if current_tki:
        statements.append(_tki_statement(ctx, current_tki))
    return statements


def _therapy_line_statements(ctx: _Context, lines: list[dict]) -> list[dict]:
    statements = []
    for i, line in enumerate(lines):
        period = {"start": line.get("start")}
        if line.get("end"):
            period["end"] = line["end"]
        statements.append(
            {
                "resourceType": "MedicationStatement",
                "id": ctx.id("therapy", i),
                "status": "completed" if line.get("end") else "active",
                "medicationCodeableConcept": {"text": line.get("regimen") or "Unspecified regimen"},
                "subject": ctx.patient_ref,
                "effectivePeriod": period,
                "note": [
                    {
                        "text": f"Line {i + 1}"
                        + (f"; best response: {line['best_response']}" if line.get("best_response") else "")
                    }
                ],
            }
        )
    return statements


def _tki_statement(ctx: _Context, current_tki: str) -> dict:
    return {
        "resourceType": "MedicationStatement",
        "id": ctx.id("tki"),
        "status": "active",
        "medicationCodeableConcept": {"text": current_tki},
        "subject": ctx.patient_ref,
        "note": [{"text": "Tyrosine kinase inhibitor for Ph+ disease; continues alongside or after CAR-T."}],
    }


def _document_references(ctx: _Context, documents: list[dict]) -> list[dict]:
    """One DocumentReference per document, each followed by its translations ("transforms" the original)."""
    doc_refs = []
    for doc in documents:
        original = _document_reference(ctx, doc)
        doc_refs.append(original)
        for t in doc.get("translations", []):
            translated = _document_reference(ctx, t)
            translated["relatesTo"] = [{"code": "transforms", "target": {"reference": _url(original["id"])}}]
            if t.get("translator"):  # who translated it (a person or an agency)
                translated["author"] = [{"display": t["translator"]}]
            doc_refs.append(translated)
    return doc_refs


def _line(resource: dict) -> str:
    """One line of a section's narrative for a resource of the Bundle."""
    rtype = resource["resourceType"]
    if rtype == "Observation":
        code = resource["code"].get("text") or resource["code"]["coding"][0].get("display", "")
        if "valueQuantity" in resource:
            q = resource["valueQuantity"]
            value = f"{q['value']:g} {q.get('unit', '')}".strip()
        elif "valueCodeableConcept" in resource:
            concept = resource["valueCodeableConcept"]
            value = concept.get("text") or concept["coding"][0].get("display") or concept["coding"][0].get("code")
        elif "valueInteger" in resource:
            value = str(resource["valueInteger"])
        else:
            value = "—"
        return f"{code}: {value} ({resource.get('effectiveDateTime') or 'undated'})"
    if rtype == "Condition":
        verification = resource["verificationStatus"]["coding"][0]["code"]
        when = f" since {resource['onsetDateTime']}" if resource.get("onsetDateTime") else ""
        return f"{resource['code'].get('text')}{when}" + (" (absent)" if verification == "refuted" else "")
    if rtype == "Procedure":
        return f"{resource['code'].get('text')} on {resource.get('performedDateTime') or 'date not recorded'}"
    if rtype == "MedicationStatement":
        period = resource.get("effectivePeriod") or {}
        when = f" {period.get('start', '')} – {period.get('end', '')}" if period else ""
        return f"{resource['medicationCodeableConcept'].get('text')} ({resource['status']}){when}"
    if rtype == "DocumentReference":
        return f"{resource['type'].get('text')}: {resource['content'][0]['attachment'].get('title')}"
    return rtype


def _section(title: str, code: str, display: str, resources: list[dict]) -> dict:
    section: dict = {"title": title, "code": {"coding": [{"system": LOINC, "code": code, "display": display}]}}
    if resources:
        section["text"] = _narrative(*[_line(r) for r in resources])
        section["entry"] = [{"reference": _url(r["id"])} for r in resources]
    else:
        section["text"] = _narrative("None recorded.")
        section["emptyReason"] = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/list-empty-reason", "code": "unavailable"}]
        }
    return section


def _composition(
    ctx: _Context,
    snapshot: dict,
    *,
    condition: dict,
    history: list[dict],
    observations: list[dict],
    vital_signs: list[dict],
    procedures: list[dict],
    medications: list[dict],
    doc_refs: list[dict],
) -> dict:
    p, s, centre = snapshot["patient"], snapshot.get("summary") or {}, snapshot["centre"]
    title = f"Case packet {snapshot['case']['reference']} v{ctx.version} for {centre['name_en']}"
    return {
        "resourceType": "Composition",
        "id": ctx.id("composition"),
        "text": _narrative(
            title,
            f"Patient: {p['given_name']} {p['family_name']}, born {p['date_of_birth']}, {p['sex']}",
            f"CD19: {_plain(s.get('cd19_status'))}; CNS: {_plain(s.get('cns_status'))}; "
            f"Philadelphia: {_plain(s.get('ph_status'))}; prior lines: {_plain(s.get('prior_lines'))}; "
            f"prior transplants: {_plain(s.get('prior_transplants'))}",
            *_screening_lines(s),
            f"Assembled by {ctx.assembled_by} ({ctx.assembled_role}) at {ctx.assembled_at}",
            "Pre-screen only, not medical advice: the treating haematologist at the centre decides.",
        ),
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "60591-5", "display": "Patient summary Document"}]},
        "subject": ctx.patient_ref,
        "date": ctx.assembled_at,
        "author": [{"reference": _url(ctx.assembler_id)}, {"reference": _url(ctx.org_id)}],
        "title": title,
        "custodian": {"reference": _url(ctx.org_id)},
        "section": [
            _section("Problems", "11450-4", "Problem list - Reported", [condition]),
            _section("History of past illness", "11348-0", "History of Past illness Narrative", history),
            _section("Results", "30954-2", "Relevant diagnostic tests/laboratory data Narrative", observations),
            _section("History of procedures", "47519-4", "History of Procedures Document", procedures),
            _section("Medication summary", "10160-0", "History of Medication use Narrative", medications),
            _section("Attached records", "55107-7", "Addendum Document", doc_refs),
            # The IPS vital signs section (LOINC 8716-3, as the IPS examples code it), only when a
            # weight or height was recorded: a version assembled before they were renders as it did.
            *([_section("Vital signs", "8716-3", "Vital signs", vital_signs)] if vital_signs else []),
        ],
    }


def _provenance(ctx: _Context, composition: dict) -> dict:
    return {
        "resourceType": "Provenance",
        "id": ctx.id("provenance"),
        "target": [{"reference": _url(composition["id"])}],
        "recorded": ctx.assembled_at,
        "agent": [
            {
                "type": {"coding": [{"system": PROVENANCE_AGENT, "code": "assembler", "display": "Assembler"}]},
                "who": {"reference": _url(ctx.assembler_id)},
                "onBehalfOf": {"reference": _url(ctx.org_id)},
            }
        ],
    }


def _document_reference(ctx: _Context, doc: dict) -> dict:
    attachment: dict = {"contentType": doc["content_type"]}
    if doc.get("language"):
        attachment["language"] = doc["language"]
    if ctx.document_url is not None:
        attachment["url"] = ctx.document_url(doc["id"])
    attachment["size"] = doc["size"]
    if doc.get("sha1"):  # FHIR's Attachment.hash: base64 of the SHA-1 (recorded at upload)
        attachment["hash"] = base64.b64encode(bytes.fromhex(doc["sha1"])).decode()
    attachment["title"] = doc["original_name"]
    patient_ref = ctx.patient_ref
    ref = {
        "resourceType": "DocumentReference",
        "id": ctx.id("document", doc["id"]),
        # The file's SHA-256, as in packet.json and the ZIP manifest.
        "identifier": [{"system": DOCUMENT_SHA256_SYSTEM, "value": doc["sha256"]}],
        "status": "current",
        "type": {
            "coding": [
                {"system": f"{NAV}/CodeSystem/document-type", "code": doc["doc_type"], "display": doc["doc_type_label"]}
            ],
            "text": doc["doc_type_label"],
        },
        "subject": patient_ref,
        "description": doc.get("title") or doc["original_name"],
        "content": [{"attachment": attachment}],
    }
    if doc.get("clinical_date"):
        ref["context"] = {"period": {"start": doc["clinical_date"], "end": doc["clinical_date"]}}
    return ref


def bundle_problems(bundle: dict) -> list[str]:
    """What the FHIR models do not enforce and a document Bundle must have. Empty means fine."""
    problems = []
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "document":
        problems.append("not a document Bundle")
    ident = bundle.get("identifier") or {}
    if not ident.get("system") or not ident.get("value"):
        problems.append("Bundle.identifier needs a system and a value")
    if not bundle.get("timestamp"):
        problems.append("Bundle.timestamp is required for a document")
    entries = bundle.get("entry") or []
    if not entries or entries[0].get("resource", {}).get("resourceType") != "Composition":
        problems.append("the first entry must be the Composition")
    full_urls = [e.get("fullUrl") for e in entries]
    if len(set(full_urls)) != len(full_urls) or None in full_urls:
        problems.append("every entry needs a unique fullUrl")
    known = set(full_urls)
    for e in entries:
        res = e.get("resource", {})
        for ref in _references(res):
            if ref not in known:
                problems.append(f"{res.get('resourceType')}/{res.get('id')} refers to {ref}, not in the Bundle")
        rtype = res.get("resourceType")
        for (t, field), allowed in REQUIRED_CODES.items():
            if t == rtype and field in res and res[field] not in allowed:
                problems.append(f"{rtype}.{field} {res[field]!r} is not in its required value set")
        if rtype == "Condition":
            codes = [
                c.get("code")
                for c in res.get("clinicalStatus", {}).get("coding", [])
                if c.get("system") == CONDITION_CLINICAL
            ]
            verification = {c.get("code") for c in res.get("verificationStatus", {}).get("coding", [])}
            # con-3/con-5: a refuted or entered-in-error condition may (the latter must) go without one.
            optional = bool(verification & {"refuted", "entered-in-error"})
            if (not codes and not optional) or any(c not in CONDITION_CLINICAL_CODES for c in codes):
                problems.append("Condition.clinicalStatus must be coded from condition-clinical")
        if rtype == "Composition":
            if not res.get("author") or not res.get("title") or not res.get("date"):
                problems.append("Composition needs author, title and date")
    return problems


def _references(value):
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "reference" and isinstance(v, str):
                yield v
            else:
                yield from _references(v)
    elif isinstance(value, list):
        for v in value:
            yield from _references(v)
