"""The handback packet's two renderings, pure functions of its frozen content: an HL7 FHIR R4
document Bundle (a discharge summary, checked with the packets' document-Bundle checks) and a
bilingual PDF (English, then the home haematologist's language where the embedded font covers
it, else Chinese, the treating centre's).
"""

from __future__ import annotations

import io
import uuid
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table, TableStyle

from hospitals.packets.fhir import LOINC, NAV, RESULT_CODES, SNOMED, bundle_problems
from hospitals.packets.pdf import cjk_font

NAMESPACE = uuid.UUID("0f6c1b8e-3f7a-4d4e-9a2c-5b1e9d7c4a21")
XHTML = "http://www.w3.org/1999/xhtml"
__all__ = ["build_bundle", "bundle_problems", "render_pdf", "pdf_language"]


# --- FHIR ----------------------------------------------------------------------------------------


def _id(content: dict, *parts) -> str:
    return str(
        uuid.uuid5(NAMESPACE, ":".join([content["case"]["reference"], str(content["version"]), *map(str, parts)]))
    )


def _url(rid: str) -> str:
    return f"urn:uuid:{rid}"


def _text(code: str, display: str) -> dict:
    return {"coding": [{"system": f"{NAV}/handback", "code": code, "display": display}], "text": display}


def _narrative(lines: list[str]) -> dict:
    items = "".join(f"<li>{escape(line)}</li>" for line in lines) or "<li>None recorded.</li>"
    return {"status": "generated", "div": f'<div xmlns="{XHTML}"><ul>{items}</ul></div>'}


def build_bundle(content: dict) -> dict:
    """A FHIR R4 document Bundle for a handback's content; the same content, the same Bundle."""
    patient_id, org_id = _id(content, "patient"), _id(content, "centre")
    subject = {"reference": _url(patient_id)}
    p = content["patient"]
    patient = {
        "resourceType": "Patient",
        "id": patient_id,
        "identifier": [{"system": f"{NAV}/case-reference", "value": content["case"]["reference"]}],
        "name": [{"family": p["family_name"], "given": [p["given_name"]]}],
        "gender": p["sex"] if p["sex"] in ("male", "female", "other") else "unknown",
        "birthDate": p["date_of_birth"],
    }
    centre = content["centre"]
    organization = {
        "resourceType": "Organization",
        "id": org_id,
        "identifier": [{"system": f"{NAV}/centre", "value": centre["code"]}],
        "name": centre["name_en"],
        "contact": [
            {
                "name": {"text": c["name"]},
                "telecom": [
                    *([{"system": "email", "value": c["email"]}] if c.get("email") else []),
                    *([{"system": "phone", "value": c["phone"]}] if c.get("phone") else []),
                ],
            }
            for c in centre["contacts"]
        ],
    }
    if centre.get("name_zh"):
        organization["alias"] = [centre["name_zh"]]
    procedures = []
    if content.get("lymphodepletion"):
        procedures.append(
            {
                "resourceType": "Procedure",
                "id": _id(content, "lymphodepletion"),
                "status": "completed",
                "code": _text("lymphodepletion", "Lymphodepletion (fludarabine + cyclophosphamide)"),
                "subject": subject,
                "performedDateTime": content["lymphodepletion"],
            }
        )
    procedures.append(
        {
            "resourceType": "Procedure",
            "id": _id(content, "infusion"),
            "status": "completed",
            "code": _text("car-t-infusion", f"CAR-T infusion: {content['product']}"),
            "subject": subject,
            "performedDateTime": content["infusion_date"],
            "performer": [{"actor": {"reference": _url(org_id)}}],
            "note": [{"text": f"Product: {content['product']}. Dose: {content['dose']}."}],
        }
    )
    observations = []
    for kind, label in (("crs", "Cytokine release syndrome (ASTCT grade)"), ("icans", "ICANS (ASTCT grade)")):
        for n, event in enumerate(content.get(kind, [])):
            observation = {
                "resourceType": "Observation",
                "id": _id(content, kind, n),
                "status": "final",
                "code": _text(kind, label),
                "subject": subject,
                "effectivePeriod": {
                    "start": event["onset"],
                    **({"end": event["resolved"]} if event.get("resolved") else {}),
                },
                "valueInteger": int(event["grade"]),
            }
            observations.append(observation)
    observations.append(
        {
            "resourceType": "Observation",
            "id": _id(content, "response"),
            "status": "final",
            "code": _text("response", "Response to CAR-T"),
            "subject": subject,
            "effectiveDateTime": content["discharge_date"],
            "valueString": content["response"],
        }
    )
    for n, mrd in enumerate(content.get("mrd", [])):
        system, code, display = RESULT_CODES.get(mrd["result"], RESULT_CODES["unknown"])
        observation = {
            "resourceType": "Observation",
            "id": _id(content, "mrd", n),
            "status": "final",
            "category": [
                {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}
                    ]
                }
            ],
            "code": _text("mrd", f"MRD ({mrd['method']}, {mrd['checkpoint']})"),
            "subject": subject,
            "effectiveDateTime": mrd["date"],
            "valueCodeableConcept": {"coding": [{"system": system, "code": code, "display": display}]},
        }
        if mrd.get("value"):
            observation["note"] = [{"text": f"Level {mrd['value']}"}]
        observations.append(observation)
    medications = [
        {
            "resourceType": "MedicationStatement",
            "id": _id(content, "medication", n),
            "status": "active",
            "medicationCodeableConcept": {"text": m["name"]},
            "subject": subject,
            **({"dosage": [{"text": m["dose"]}]} if m.get("dose") else {}),
        }
        for n, m in enumerate(content.get("medications", []))
    ]
    if content.get("tki"):
        medications.append(
            {
                "resourceType": "MedicationStatement",
                "id": _id(content, "tki"),
                "status": "active",
                "medicationCodeableConcept": {"text": content["tki"]},
                "subject": subject,
                "note": [{"text": "TKI maintenance after CAR-T (Ph+ ALL)."}],
            }
        )
    care_plan = {
        "resourceType": "CarePlan",
        "id": _id(content, "care-plan"),
        "status": "active",
        "intent": "plan",
        "title": "Follow-up at home after CAR-T",
        "subject": subject,
        "description": f"Transplant: {content['transplant']['decision']}. {content['transplant'].get('reason', '')}".strip(),
        "activity": [
            {
                "detail": {
                    "status": "scheduled",
                    "description": f"{visit['title']}: {', '.join(visit['checks'])}",
                    "scheduledString": visit["due"],
                }
            }
            for visit in content["schedule"]
        ],
    }
    composition = {
        "resourceType": "Composition",
        "id": _id(content, "composition"),
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "18842-5", "display": "Discharge summary"}]},
        "subject": subject,
        "date": content["created_at"],
        "author": [{"reference": _url(org_id)}],
        "title": f"Handback {content['case']['reference']} v{content['version']} for {content['home']['name']}",
        "custodian": {"reference": _url(org_id)},
        "section": [
            _section("History of procedures", "47519-4", procedures),
            _section("Results", "30954-2", observations),
            _section("Medication summary", "10160-0", medications),
            _section("Plan of care", "18776-5", [care_plan]),
            {
                "title": "What to watch for",
                "code": {"coding": [{"system": SNOMED, "code": "225323000", "display": "Patient education"}]},
                "text": _narrative(content["watch_for"]),
            },
        ],
    }
    resources = [composition, patient, organization, *procedures, *observations, *medications, care_plan]
    return {
        "resourceType": "Bundle",
        "id": _id(content, "bundle"),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": _url(_id(content, "bundle-identifier"))},
        "type": "document",
        "timestamp": content["created_at"],
        "entry": [{"fullUrl": _url(r["id"]), "resource": r} for r in resources],
    }


def _section(title: str, code: str, resources: list[dict]) -> dict:
    section: dict = {"title": title, "code": {"coding": [{"system": LOINC, "code": code}]}}
    if resources:
        section["entry"] = [{"reference": _url(r["id"])} for r in resources]
    else:
        section["emptyReason"] = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/list-empty-reason", "code": "unavailable"}]
        }
    return section


# --- PDF -----------------------------------------------------------------------------------------

LABELS = {
    "en": {
        "title": "Handback to the home haematologist",
        "patient": "Patient",
        "dob": "Date of birth",
        "to": "For",
        "centre": "Treating centre",
        "product": "CAR-T product and dose",
        "lymphodepletion": "Lymphodepletion (fludarabine + cyclophosphamide)",
        "infusion": "Infusion (day 0)",
        "crs": "CRS (grade, onset - resolved)",
        "icans": "ICANS (grade, onset - resolved)",
        "response": "Response",
        "mrd": "MRD results",
        "medications": "Medications",
        "tki": "TKI maintenance",
        "transplant": "Transplant plan or decision",
        "watch": "What to watch for",
        "schedule": "Follow-up schedule",
        "contacts": "Centre contacts",
        "none": "none",
        "version": "Version",
    },
    "zh": {
        "title": "交回当地血液科医生的出院资料",
        "patient": "患者",
        "dob": "出生日期",
        "to": "致",
        "centre": "治疗医院",
        "product": "CAR-T 产品及剂量",
        "lymphodepletion": "清淋预处理（氟达拉滨 + 环磷酰胺）",
        "infusion": "回输日期（第 0 天）",
        "crs": "CRS（分级，开始 - 缓解）",
        "icans": "ICANS（分级，开始 - 缓解）",
        "response": "疗效",
        "mrd": "MRD 结果",
        "medications": "用药",
        "tki": "TKI 维持治疗",
        "transplant": "移植计划或决定",
        "watch": "需要注意的情况",
        "schedule": "随访计划",
        "contacts": "医院联系人",
        "none": "无",
        "version": "版本",
    },
    "ru": {
        "title": "Передача пациента лечащему гематологу",
        "patient": "Пациент",
        "dob": "Дата рождения",
        "to": "Для",
        "centre": "Лечебный центр",
        "product": "Препарат CAR-T и доза",
        "lymphodepletion": "Лимфодеплеция (флударабин + циклофосфамид)",
        "infusion": "Инфузия (день 0)",
        "crs": "СВЦ / CRS (степень, начало - разрешение)",
        "icans": "ICANS (степень, начало - разрешение)",
        "response": "Ответ",
        "mrd": "Результаты МОБ (MRD)",
        "medications": "Лекарства",
        "tki": "Поддерживающая терапия ИТК",
        "transplant": "План или решение о трансплантации",
        "watch": "На что обратить внимание",
        "schedule": "График наблюдения",
        "contacts": "Контакты центра",
        "none": "нет",
        "version": "Версия",
    },
}


def pdf_language(home_language: str) -> str:
    """The second language of the PDF: the home haematologist's where the font covers it (Chinese,
    Russian), else Chinese, the treating centre's."""
    code = (home_language or "").lower()
    if code.startswith("ru"):
        return "ru"
    return "zh"


def _rows(content: dict, lang: str) -> list[tuple[str, str]]:
    label = LABELS[lang]
    none = label["none"]

    def events(items):
        return "; ".join(f"{e['grade']} ({e['onset']} - {e.get('resolved') or '...'})" for e in items) or none

    centre = content["centre"]
    return [
        (label["patient"], f"{content['patient']['given_name']} {content['patient']['family_name']}"),
        (label["dob"], content["patient"]["date_of_birth"]),
        (label["to"], f"{content['home']['name']}, {content['home']['centre']}".strip(", ")),
        (label["centre"], f"{centre['name_en']} {centre.get('name_zh', '')}".strip()),
        (label["product"], f"{content['product']}; {content['dose']}"),
        (label["lymphodepletion"], content.get("lymphodepletion") or none),
        (label["infusion"], content["infusion_date"]),
        (label["crs"], events(content.get("crs", []))),
        (label["icans"], events(content.get("icans", []))),
        (label["response"], content["response"]),
        (
            label["mrd"],
            "; ".join(f"{m['date']} {m['checkpoint']} {m['method']}: {m['result']}" for m in content.get("mrd", []))
            or none,
        ),
        (
            label["medications"],
            "; ".join(f"{m['name']} {m.get('dose', '')}".strip() for m in content.get("medications", [])) or none,
        ),
        (label["tki"], content.get("tki") or none),
        (label["transplant"], f"{content['transplant']['decision']} {content['transplant'].get('reason', '')}".strip()),
        (label["watch"], "; ".join(content["watch_for"]) or none),
        (label["schedule"], "; ".join(f"{v['due']}: {', '.join(v['checks'])}" for v in content["schedule"])),
        (
            label["contacts"],
            "; ".join(
                ", ".join(x for x in (c["name"], c.get("role", ""), c.get("email", ""), c.get("phone", "")) if x)
                for c in centre["contacts"]
            )
            or none,
        ),
    ]


def render_pdf(content: dict) -> bytes:
    """English first, then the second language (``pdf_language``); a few pages, held in memory."""
    font = cjk_font()
    styles = {
        "h1": ParagraphStyle("h1", fontName=font, fontSize=15, leading=19, spaceAfter=6),
        "body": ParagraphStyle("body", fontName=font, fontSize=9.5, leading=12.5, wordWrap="CJK"),
        "label": ParagraphStyle(
            "label", fontName=font, fontSize=9.5, leading=12.5, textColor=colors.HexColor("#444444")
        ),
    }
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"Handback {content['case']['reference']} v{content['version']}",
        author="Navigator",
        invariant=1,
    )
    story: list = []
    for n, lang in enumerate(("en", pdf_language(content["home"]["language"]))):
        if n:
            story.append(PageBreak())
        story.append(
            Paragraph(escape(f"{LABELS[lang]['title']} ({LABELS[lang]['version']} {content['version']})"), styles["h1"])
        )
        data = [
            [Paragraph(escape(a), styles["label"]), Paragraph(escape(str(b)), styles["body"])]
            for a, b in _rows(content, lang)
        ]
        table = Table(data, colWidths=[55 * mm, 115 * mm])
        table.setStyle(
            TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)])
        )
        story.append(table)
    doc.build(story)
    return buffer.getvalue()
