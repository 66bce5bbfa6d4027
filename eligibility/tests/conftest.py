"""Fixtures for eligibility tests: real documents (through the documents service) to cite as sources."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from reportlab.pdfgen import canvas


def make_pdf(text: str) -> io.BytesIO:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, text)
    c.save()
    buf.seek(0)
    return buf


@pytest.fixture
def make_document(world):
    from documents.services import document_create

    def make(case=None, doc_type="cd19_flow", text="Flow cytometry: CD19+ blasts 87%", clinical_date=None):
        return document_create(
            case=case or world.case_a,
            file=make_pdf(text),
            filename="flow-report.pdf",
            doc_type=doc_type,
            actor=world.alice,
            clinical_date=clinical_date or dt.date.today() - dt.timedelta(days=10),
            source="coordinator",
        )

    return make
