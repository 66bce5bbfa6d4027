"""Synthetic records for the demo cases: small generated PDFs, reviewed as a coordinator would.

Called by ``manage.py seed_demo`` (see cases/demo.py). Every file says it is synthetic.
"""

from __future__ import annotations

import datetime as dt
import io

from django.utils import timezone

from cases import workflow

from .models import DocType, Source
from .services import document_accept, document_create, document_request_create

BASIC = [
    DocType.DIAGNOSIS_PATHOLOGY,
    DocType.CD19_FLOW,
    DocType.BONE_MARROW,
    DocType.TREATMENT_HISTORY,
    DocType.CSF_CNS,
    DocType.BLOOD_COUNTS,
]


def synthetic_pdf(title: str, lines: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(title)
    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawString(60, 780, title)
    pdf.setFont("Helvetica", 10)
    y = 750
    for line in ["SYNTHETIC DEMONSTRATION DOCUMENT - NOT A REAL PATIENT", *lines]:
        pdf.drawString(60, y, line)
        y -= 16
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def seed_case(*, case, story, rng, actor) -> None:
    stage = workflow.MAIN_PATH.index(case.status) if case.status in workflow.MAIN_PATH else 3
    today = timezone.localdate()
    if case.status in (workflow.INQUIRY, workflow.RECORDS) or stage < 2:
        contact = case.patient.contacts.filter(is_primary=True).first()
        for offset, doc_type in ((-3, DocType.CD19_FLOW), (10, DocType.CYTOGENETICS)):
            document_request_create(
                case=case,
                doc_type=doc_type,
                actor=actor,
                asked_contact=contact,
                description="Please send the most recent report (a photo of each page is fine).",
                due_date=today + dt.timedelta(days=offset) if offset > 0 else None,
            )
        if case.status == workflow.INQUIRY:
            return
    wanted = list(BASIC)
    if story.ph_positive:
        wanted.append(DocType.CYTOGENETICS)
    if story.post_transplant:
        wanted.append(DocType.TRANSPLANT_RECORD)
    for index, doc_type in enumerate(wanted):
        label = str(DocType(doc_type).label)
        clinical = today - dt.timedelta(days=30 + 7 * index + rng.randint(0, 5))
        content = synthetic_pdf(
            label,
            [
                f"Patient: {case.patient.full_name} ({case.reference})",
                f"Report date: {clinical.isoformat()}",
                story.summary,
            ],
        )
        document = document_create(
            case=case,
            file=io.BytesIO(content),
            filename=f"{doc_type}-{clinical:%Y%m%d}.pdf",
            doc_type=doc_type,
            actor=actor,
            clinical_date=clinical,
            language="en",
            source=Source.COORDINATOR,
            via="demo",
        )
        if stage >= 3 or index < 3:
            document_accept(document=document, actor=actor, include_in_packets=True)
