"""Named read queries over documents: the records checklist, a case's document list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import DocType, Document, DocumentRequest

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise


@dataclass(frozen=True)
class Requirement:
    """One line of pathway.md "Records a centre needs for review"."""

    key: str
    label: str | StrPromise
    doc_types: tuple[str, ...]
    required: bool = True  # False: needed only when it applies (prior transplant, extramedullary disease)
    note: str | StrPromise = ""


# The table a clinician would review: pathway.md, "Records a centre needs for review (typical)".
B_ALL_CAR_T_RECORDS: tuple[Requirement, ...] = (
    Requirement("diagnosis", _("Diagnosis pathology with immunophenotyping (lineage)"), (DocType.DIAGNOSIS_PATHOLOGY,)),
    Requirement("cd19", _("Most recent CD19 flow cytometry"), (DocType.CD19_FLOW,), note=_("From the latest sample.")),
    Requirement("bone_marrow", _("Bone marrow aspirate report (blast %)"), (DocType.BONE_MARROW,)),
    Requirement("mrd", _("MRD reports"), (DocType.MRD_REPORT,)),
    Requirement("cytogenetics", _("Cytogenetics / molecular (BCR::ABL1, others)"), (DocType.CYTOGENETICS,)),
    Requirement(
        "treatment_history",
        _("Treatment history by line, with dates and responses"),
        (DocType.TREATMENT_HISTORY, DocType.DISCHARGE_SUMMARY),
        note=_("Including CD19-directed therapies (blinatumomab, prior CAR-T)."),
    ),
    Requirement(
        "transplant",
        _("Transplant records (date, donor type, GvHD, immunosuppression)"),
        (DocType.TRANSPLANT_RECORD,),
        required=False,
        note=_("Only after an allogeneic transplant."),
    ),
    Requirement("cns", _("CNS status (CSF results)"), (DocType.CSF_CNS,)),
    Requirement("blood_counts", _("Recent blood counts and organ function"), (DocType.BLOOD_COUNTS,)),
    Requirement("serology", _("Infection serology"), (DocType.INFECTION_SEROLOGY,)),
    Requirement(
        "imaging",
        _("Imaging"),
        (DocType.IMAGING_REPORT, DocType.IMAGING_STUDY),
        required=False,
        note=_("Where there is extramedullary disease."),
    ),
    Requirement("passport", _("Passport (for travel)"), (DocType.PASSPORT_ID,)),
)


class ChecklistState:
    SATISFIED = "satisfied"
    IN_REVIEW = "in_review"
    OVERDUE = "overdue"
    REQUESTED = "requested"
    REJECTED = "rejected"
    MISSING = "missing"


@dataclass
class ChecklistItem:
    key: str
    label: str
    doc_types: tuple[str, ...]
    required: bool
    note: str
    state: str
    documents: list[int] = field(default_factory=list)
    request_id: int | None = None
    due_date: dt.date | None = None
    rejection_reason: str = ""


def checklist_for(case, *, requirements: tuple[Requirement, ...] = B_ALL_CAR_T_RECORDS) -> list[ChecklistItem]:
    """For each record a centre needs: satisfied by an accepted document, in review, requested
    (or overdue), rejected (with the reason), or missing. Two queries whatever the case holds."""
    documents = list(
        Document.objects.filter(case=case)
        .current()
        .order_by("-id")
        .values("id", "doc_type", "review_status", "rejection_reason", "translation_of_id")
    )
    # A translation satisfies nothing by itself: it counts together with its original.
    translations: dict[int, list[int]] = {}
    for d in documents:
        if d["translation_of_id"] is not None:
            translations.setdefault(d["translation_of_id"], []).append(d["id"])
    documents = [d for d in documents if d["translation_of_id"] is None]
    requests = list(
        DocumentRequest.objects.open().filter(case=case).order_by("due_date", "id").values("id", "doc_type", "due_date")
    )
    today = timezone.localdate()
    items = []
    for req in requirements:
        docs = [d for d in documents if d["doc_type"] in req.doc_types]
        accepted = [d["id"] for d in docs if d["review_status"] == Document.ReviewStatus.ACCEPTED]
        pending = [
            d["id"]
            for d in docs
            if d["review_status"] in (Document.ReviewStatus.RECEIVED, Document.ReviewStatus.IN_REVIEW)
        ]
        rejected = [d for d in docs if d["review_status"] == Document.ReviewStatus.REJECTED]
        open_request = next((r for r in requests if r["doc_type"] in req.doc_types), None)
        item = ChecklistItem(
            key=req.key,
            label=str(req.label),
            doc_types=tuple(str(t) for t in req.doc_types),
            required=req.required,
            note=str(req.note),
            state=ChecklistState.MISSING,
        )
        if open_request is not None:
            item.request_id = open_request["id"]
            item.due_date = open_request["due_date"]
        if rejected:
            item.rejection_reason = rejected[0]["rejection_reason"]
        if accepted:
            with_translations = [i for doc_id in accepted for i in (doc_id, *translations.get(doc_id, []))]
            item.state, item.documents = ChecklistState.SATISFIED, with_translations
        elif pending:
            item.state, item.documents = ChecklistState.IN_REVIEW, pending
        elif open_request is not None:
            overdue = open_request["due_date"] is not None and open_request["due_date"] < today
            item.state = ChecklistState.OVERDUE if overdue else ChecklistState.REQUESTED
        elif rejected:
            item.state, item.documents = ChecklistState.REJECTED, [d["id"] for d in rejected]
        items.append(item)
    return items


def document_list(*, user) -> QuerySet[Document]:
    """Documents a user may see, with what the list shows loaded in the same query."""
    return Document.objects.visible_to(user).select_related("case", "uploaded_by", "superseded_by")


def review_queue() -> QuerySet[Document]:
    """Documents waiting for a coordinator, oldest first, across cases."""
    return (
        Document.objects.filter(review_status__in=[Document.ReviewStatus.RECEIVED, Document.ReviewStatus.IN_REVIEW])
        .select_related("case", "case__patient", "uploaded_by")
        .order_by("created_at", "id")
    )
