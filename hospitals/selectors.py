"""Named reads over centres: a centre's own list of records, what a case still needs for one centre."""

from __future__ import annotations

from documents.selectors import CentreRule, RecordsChecklist, records_needed

from .models import Hospital, RequiredRecord


def centre_rules(*, hospital: Hospital) -> list[CentreRule]:
    """The records a centre requires before it reviews a case, as the documents checklist reads them."""
    return [
        CentreRule(doc_type=r.doc_type, label=r.doc_type_label, note=r.note, max_age_days=r.max_age_days)
        for r in RequiredRecord.objects.filter(hospital=hospital).order_by("doc_type")
    ]


def records_needed_for_centre(*, case, hospital: Hospital) -> RecordsChecklist:
    """The case's checklist (the same one the family's portal and the case page show) with the
    centre's own lines added."""
    return records_needed(case, centre_rules=centre_rules(hospital=hospital))
