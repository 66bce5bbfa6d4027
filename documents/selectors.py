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
    TOO_OLD = "too_old"  # accepted, but older than the centre accepts
    MISSING = "missing"


STATE_LABELS = {
    ChecklistState.SATISFIED: _("accepted"),
    ChecklistState.IN_REVIEW: _("in review"),
    ChecklistState.OVERDUE: _("requested, overdue"),
    ChecklistState.REQUESTED: _("requested"),
    ChecklistState.REJECTED: _("rejected"),
    ChecklistState.TOO_OLD: _("too old for the centre"),
    ChecklistState.MISSING: _("missing"),
}


@dataclass(frozen=True)
class CentreRule:
    """A record one centre requires before it reviews a case (the centre's own list, plain data so
    this layer need not know the centre's model): a record type and, optionally, how recent it must be."""

    doc_type: str
    label: str
    note: str = ""
    max_age_days: int | None = None


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
    accepted: int = 0  # accepted current originals of this kind
    in_review: int = 0  # received or in review, not counted as accepted
    for_centre: bool = False  # the centre's own list asks for it
    max_age_days: int | None = None
    newest_date: dt.date | None = None

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS.get(self.state, self.state))

    @property
    def needed(self) -> bool:
        """Still to be supplied (by the family, or a newer one): not satisfied and not waiting for review."""
        if self.state in (ChecklistState.SATISFIED, ChecklistState.IN_REVIEW):
            return False
        return self.required or self.state != ChecklistState.MISSING


@dataclass
class RecordsChecklist:
    """What is still needed for one case (and, given its rules, for one centre)."""

    items: list[ChecklistItem]

    @property
    def needed(self) -> list[ChecklistItem]:
        return [i for i in self.items if i.needed]

    @property
    def needed_count(self) -> int:
        return len(self.needed)

    @property
    def in_review(self) -> list[ChecklistItem]:
        return [i for i in self.items if i.state == ChecklistState.IN_REVIEW]

    @property
    def in_review_count(self) -> int:
        return len(self.in_review)

    @property
    def satisfied_count(self) -> int:
        return sum(1 for i in self.items if i.state == ChecklistState.SATISFIED)

    @property
    def in_review_files(self) -> int:
        return sum(i.in_review for i in self.items)


def _requirements_with_centre(
    requirements: tuple[Requirement, ...], centre_rules: tuple[CentreRule, ...] | list[CentreRule]
) -> list[tuple[Requirement, CentreRule | None]]:
    """The pathway's list, each line with the centre's rule for it; a centre's record type not on the
    list becomes a line of its own. A centre's rule makes an optional line required."""
    by_type = {r.doc_type: r for r in centre_rules}
    lines: list[tuple[Requirement, CentreRule | None]] = []
    for req in requirements:
        rule = next((by_type.pop(t) for t in req.doc_types if t in by_type), None)
        if rule is not None:
            req = Requirement(req.key, req.label, req.doc_types, required=True, note=rule.note or req.note)
        lines.append((req, rule))
    for rule in by_type.values():
        lines.append((Requirement(f"centre:{rule.doc_type}", rule.label, (rule.doc_type,), note=rule.note), rule))
    return lines


def records_needed(
    case,
    *,
    centre_rules: tuple[CentreRule, ...] | list[CentreRule] = (),
    requirements: tuple[Requirement, ...] = B_ALL_CAR_T_RECORDS,
    today: dt.date | None = None,
) -> RecordsChecklist:
    """The one answer to "what is still needed for this case (and for this centre)", read by the
    family's portal, the case page and the packet builder alike.

    For each record: satisfied by an accepted document (only an accepted one counts; files received
    or in review are counted apart and satisfy nothing yet), in review, requested (or overdue),
    rejected (with the reason), too old for the centre, or missing. Two queries whatever the case holds."""
    documents = list(
        Document.objects.filter(case=case)
        .current()
        .order_by("-id")
        .values("id", "doc_type", "review_status", "rejection_reason", "translation_of_id", "clinical_date")
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
    today = today or timezone.localdate()
    items = []
    for req, rule in _requirements_with_centre(requirements, centre_rules):
        docs = [d for d in documents if d["doc_type"] in req.doc_types]
        accepted_docs = [d for d in docs if d["review_status"] == Document.ReviewStatus.ACCEPTED]
        pending = [
            d["id"]
            for d in docs
            if d["review_status"] in (Document.ReviewStatus.RECEIVED, Document.ReviewStatus.IN_REVIEW)
        ]
        rejected = [d for d in docs if d["review_status"] == Document.ReviewStatus.REJECTED]
        open_request = next((r for r in requests if r["doc_type"] in req.doc_types), None)
        dates = [d["clinical_date"] for d in accepted_docs if d["clinical_date"]]
        item = ChecklistItem(
            key=req.key,
            label=str(req.label),
            doc_types=tuple(str(t) for t in req.doc_types),
            required=req.required,
            note=str(req.note),
            state=ChecklistState.MISSING,
            accepted=len(accepted_docs),
            in_review=len(pending),
            for_centre=rule is not None,
            max_age_days=rule.max_age_days if rule else None,
            newest_date=max(dates) if dates else None,
        )
        if open_request is not None:
            item.request_id = open_request["id"]
            item.due_date = open_request["due_date"]
        if rejected:
            item.rejection_reason = rejected[0]["rejection_reason"]
        accepted = [d["id"] for d in accepted_docs]
        too_old = bool(
            accepted
            and item.max_age_days
            and (item.newest_date is None or (today - item.newest_date).days > item.max_age_days)
        )
        if accepted and not too_old:
            with_translations = [i for doc_id in accepted for i in (doc_id, *translations.get(doc_id, []))]
            item.state, item.documents = ChecklistState.SATISFIED, with_translations
        elif pending:
            item.state, item.documents = ChecklistState.IN_REVIEW, pending
        elif open_request is not None:
            overdue = open_request["due_date"] is not None and open_request["due_date"] < today
            item.state = ChecklistState.OVERDUE if overdue else ChecklistState.REQUESTED
        elif too_old:
            item.state, item.documents = ChecklistState.TOO_OLD, accepted
        elif rejected:
            item.state, item.documents = ChecklistState.REJECTED, [d["id"] for d in rejected]
        items.append(item)
    return RecordsChecklist(items)


def checklist_for(case, *, requirements: tuple[Requirement, ...] = B_ALL_CAR_T_RECORDS) -> list[ChecklistItem]:
    """The items of ``records_needed`` for the case alone (no centre's list)."""
    return records_needed(case, requirements=requirements).items


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


def timeline_entries(case, limit: int) -> list:
    """Uploads and reviews of a case's documents for the case timeline, newest first (one query)."""
    from django.urls import reverse

    from cases.selectors import person_name
    from cases.workplace import TimelineEntry

    rows = (
        Document.objects.filter(case=case)
        .select_related("uploaded_by", "reviewed_by")
        .only(
            "id",
            "doc_type",
            "original_name",
            "source",
            "created_at",
            "review_status",
            "reviewed_at",
            "rejection_reason",
            "uploaded_by__username",
            "uploaded_by__first_name",
            "uploaded_by__last_name",
            "reviewed_by__username",
            "reviewed_by__first_name",
            "reviewed_by__last_name",
        )
        .order_by("-created_at", "-id")[:limit]
    )
    entries = []
    for d in rows:
        url = reverse("admin:documents_document_change", args=[d.pk])
        label = f"{d.get_doc_type_display()}: {d.original_name}"
        uploader = person_name(d.uploaded_by) or str(d.get_source_display())
        entries.append(TimelineEntry(at=d.created_at, kind="upload", text=f"Uploaded {label}", who=uploader, url=url))
        if d.reviewed_at and d.review_status in (Document.ReviewStatus.ACCEPTED, Document.ReviewStatus.REJECTED):
            verb = "Accepted" if d.review_status == Document.ReviewStatus.ACCEPTED else "Rejected"
            reviewer = person_name(d.reviewed_by)
            text = f"{verb} {label}" + (f" ({d.rejection_reason})" if d.rejection_reason else "")
            entries.append(TimelineEntry(at=d.reviewed_at, kind="review", text=text, who=reviewer, url=url))
    return entries
