"""The case status workflow as data: which moves are allowed, and which need a reason.

Pure Python, no database: a clinician or a coordinator can review this table.
"""

from __future__ import annotations

from dataclasses import dataclass

INQUIRY = "inquiry"
RECORDS = "records_collection"
REVIEW = "medical_review"
SCREENING = "eligibility_screening"
REFERRED = "referred"
ACCEPTED = "accepted"
TRAVEL = "travel_admission"
TREATMENT = "in_treatment"
FOLLOW_UP = "follow_up"
TRANSPLANT = "transplant_planning"
CLOSED = "closed"
NOT_ELIGIBLE = "not_eligible"
DECLINED = "declined"
WITHDRAWN = "withdrawn"
DECEASED = "deceased"

LABELS = {
    INQUIRY: "Inquiry",
    RECORDS: "Records collection",
    REVIEW: "Medical review",
    SCREENING: "Eligibility screening",
    REFERRED: "Referred to centre(s)",
    ACCEPTED: "Accepted by a centre",
    TRAVEL: "Travel & admission",
    TREATMENT: "In treatment",
    FOLLOW_UP: "Post-infusion follow-up",
    TRANSPLANT: "Transplant planning",
    CLOSED: "Closed",
    NOT_ELIGIBLE: "Not eligible",
    DECLINED: "Declined by centres",
    WITHDRAWN: "Withdrawn",
    DECEASED: "Deceased",
}

# The main path, in order. Side exits may be taken from the states listed below.
MAIN_PATH = [INQUIRY, RECORDS, REVIEW, SCREENING, REFERRED, ACCEPTED, TRAVEL, TREATMENT, FOLLOW_UP, TRANSPLANT, CLOSED]
SIDE_EXITS = [NOT_ELIGIBLE, DECLINED, WITHDRAWN, DECEASED]
ACTIVE = [s for s in MAIN_PATH if s != CLOSED]

# from-status -> allowed to-statuses
TRANSITIONS: dict[str, set[str]] = {
    INQUIRY: {RECORDS, WITHDRAWN, DECEASED, CLOSED},
    RECORDS: {REVIEW, WITHDRAWN, DECEASED},
    REVIEW: {SCREENING, RECORDS, NOT_ELIGIBLE, WITHDRAWN, DECEASED},
    SCREENING: {REFERRED, REVIEW, RECORDS, NOT_ELIGIBLE, WITHDRAWN, DECEASED},
    REFERRED: {ACCEPTED, DECLINED, SCREENING, WITHDRAWN, DECEASED},
    ACCEPTED: {TRAVEL, REFERRED, WITHDRAWN, DECEASED},
    TRAVEL: {TREATMENT, ACCEPTED, WITHDRAWN, DECEASED},
    TREATMENT: {FOLLOW_UP, WITHDRAWN, DECEASED},
    FOLLOW_UP: {TRANSPLANT, CLOSED, DECEASED},
    TRANSPLANT: {FOLLOW_UP, CLOSED, DECEASED},
    NOT_ELIGIBLE: {REVIEW, CLOSED},
    DECLINED: {REFERRED, SCREENING, CLOSED, WITHDRAWN},
    WITHDRAWN: {RECORDS, CLOSED},
    DECEASED: {CLOSED},
    CLOSED: set(),
}


def _rank(status: str) -> int:
    return MAIN_PATH.index(status) if status in MAIN_PATH else -1


def needs_reason(from_status: str, to_status: str) -> bool:
    """Side exits, moving backwards and reopening must be explained."""
    if to_status in SIDE_EXITS or from_status in SIDE_EXITS:
        return True
    return _rank(to_status) < _rank(from_status)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def check_transition(from_status: str, to_status: str, reason: str = "") -> Decision:
    """May a case move from ``from_status`` to ``to_status``? If not, why not."""
    if to_status not in TRANSITIONS:
        return Decision(False, f"“{to_status}” is not a case status.")
    if from_status == to_status:
        return Decision(False, f"The case is already in “{LABELS[to_status]}”.")
    allowed = TRANSITIONS.get(from_status, set())
    if to_status not in allowed:
        if not allowed:
            return Decision(False, f"A case in “{LABELS[from_status]}” is final and cannot change status.")
        options = ", ".join(f"“{LABELS[s]}”" for s in MAIN_PATH + SIDE_EXITS if s in allowed)
        return Decision(
            False,
            f"A case in “{LABELS[from_status]}” cannot move to “{LABELS[to_status]}”; it can move to {options}.",
        )
    if needs_reason(from_status, to_status) and not reason.strip():
        return Decision(False, f"Moving from “{LABELS[from_status]}” to “{LABELS[to_status]}” needs a reason.")
    return Decision(True)
