"""The referral status workflow as data: who may move a referral from which status to which.

Pure Python, no database. A coordinator sends and withdraws; the centre acknowledges,
reviews and answers. Moves that need an explanation say so.
"""

from __future__ import annotations

from dataclasses import dataclass

DRAFT = "draft"
SENT = "sent"
ACKNOWLEDGED = "acknowledged"
UNDER_REVIEW = "under_review"
ACCEPTED = "accepted"
MORE_INFO = "more_info"
DECLINED = "declined"
WITHDRAWN = "withdrawn"

LABELS = {
    DRAFT: "Draft",
    SENT: "Sent",
    ACKNOWLEDGED: "Acknowledged",
    UNDER_REVIEW: "Under review",
    ACCEPTED: "Accepted for screening",
    MORE_INFO: "More information requested",
    DECLINED: "Declined",
    WITHDRAWN: "Withdrawn",
}

COORDINATOR = "coordinator"
HOSPITAL = "hospital"

# (from, to): who may make the move.
#                from            to             by
TRANSITIONS: dict[tuple[str, str], str] = {
    (DRAFT, SENT): COORDINATOR,
    (DRAFT, WITHDRAWN): COORDINATOR,
    (SENT, ACKNOWLEDGED): HOSPITAL,
    (SENT, UNDER_REVIEW): HOSPITAL,
    (SENT, ACCEPTED): HOSPITAL,
    (SENT, MORE_INFO): HOSPITAL,
    (SENT, DECLINED): HOSPITAL,
    (SENT, WITHDRAWN): COORDINATOR,
    (ACKNOWLEDGED, UNDER_REVIEW): HOSPITAL,
    (ACKNOWLEDGED, ACCEPTED): HOSPITAL,
    (ACKNOWLEDGED, MORE_INFO): HOSPITAL,
    (ACKNOWLEDGED, DECLINED): HOSPITAL,
    (ACKNOWLEDGED, WITHDRAWN): COORDINATOR,
    (UNDER_REVIEW, ACCEPTED): HOSPITAL,
    (UNDER_REVIEW, MORE_INFO): HOSPITAL,
    (UNDER_REVIEW, DECLINED): HOSPITAL,
    (UNDER_REVIEW, WITHDRAWN): COORDINATOR,
    # The coordinator answers a request for information by sending the packet again.
    (MORE_INFO, SENT): COORDINATOR,
    (MORE_INFO, DECLINED): HOSPITAL,
    (MORE_INFO, ACCEPTED): HOSPITAL,
    (MORE_INFO, WITHDRAWN): COORDINATOR,
    # Screening at the centre may still find the patient unsuitable.
    (ACCEPTED, DECLINED): HOSPITAL,
    (ACCEPTED, WITHDRAWN): COORDINATOR,
    # A declined or withdrawn referral can be sent again with a new packet (e.g. after a new CD19 result).
    (DECLINED, SENT): COORDINATOR,
    (WITHDRAWN, SENT): COORDINATOR,
}

# Statuses in which the centre owes an answer: the response deadline runs.
AWAITING_ANSWER = {SENT, ACKNOWLEDGED, UNDER_REVIEW}
# Statuses that are an answer of the centre.
ANSWERS = {ACCEPTED, MORE_INFO, DECLINED}


def needs_reason(from_status: str, to_status: str) -> bool:
    """Declining, withdrawing and re-sending after a decline or a withdrawal must be explained."""
    return to_status in (DECLINED, WITHDRAWN) or from_status in (DECLINED, WITHDRAWN)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    # The move is allowed, but only with an explanation that was not given.
    missing_reason: bool = False


def check_transition(from_status: str, to_status: str, *, side: str, reason: str = "") -> Decision:
    """May ``side`` (coordinator or hospital) move a referral from ``from_status`` to ``to_status``?"""
    if to_status not in LABELS:
        return Decision(False, f"“{to_status}” is not a referral status.")
    if from_status == to_status:
        return Decision(False, f"The referral is already “{LABELS[to_status]}”.")
    who = TRANSITIONS.get((from_status, to_status))
    if who is None:
        options = [LABELS[t] for (f, t), s in TRANSITIONS.items() if f == from_status and s == side]
        if not options:
            return Decision(
                False, f"A referral that is “{LABELS[from_status]}” cannot be changed by the {side} any more."
            )
        listed = ", ".join(f"“{o}”" for o in options)
        return Decision(
            False,
            f"A referral that is “{LABELS[from_status]}” cannot become “{LABELS[to_status]}”; it can become {listed}.",
        )
    if who != side:
        return Decision(False, f"Only the {who} may move a referral to “{LABELS[to_status]}”.")
    if needs_reason(from_status, to_status) and not reason.strip():
        return Decision(
            False, f"Moving from “{LABELS[from_status]}” to “{LABELS[to_status]}” needs a reason.", missing_reason=True
        )
    return Decision(True)
