"""The texts the OpenAPI schema shows for the referral actions: the state diagram, what each
decision requires, and what each action does. ``docs/referrals.md`` carries the same diagram
(a test keeps the two equal)."""

from __future__ import annotations

from .. import workflow

STATE_DIAGRAM = """stateDiagram-v2
    [*] --> draft: coordinator creates
    draft --> sent: coordinator sends a packet
    draft --> withdrawn: coordinator
    sent --> acknowledged: centre acknowledges
    sent --> under_review: centre starts review
    sent --> accepted: centre answers accept
    sent --> more_info: centre answers more_info
    sent --> declined: centre answers decline
    sent --> withdrawn: coordinator
    acknowledged --> under_review: centre starts review
    acknowledged --> accepted: centre answers accept
    acknowledged --> more_info: centre answers more_info
    acknowledged --> declined: centre answers decline
    acknowledged --> withdrawn: coordinator
    under_review --> accepted: centre answers accept
    under_review --> more_info: centre answers more_info
    under_review --> declined: centre answers decline
    under_review --> withdrawn: coordinator
    more_info --> sent: coordinator sends a new packet
    more_info --> accepted: centre answers accept
    more_info --> declined: centre answers decline
    more_info --> withdrawn: coordinator
    accepted --> declined: centre answers decline
    accepted --> withdrawn: coordinator
    declined --> sent: coordinator sends again (with a reason)
    withdrawn --> sent: coordinator sends again (with a reason)"""

# What the diagram says, as (from, to, who): checked against hospitals.workflow.TRANSITIONS.
_BY = {"coordinator": workflow.COORDINATOR, "centre": workflow.HOSPITAL}


def diagram_transitions() -> set[tuple[str, str, str]]:
    moves = set()
    for line in STATE_DIAGRAM.splitlines()[1:]:
        arrow, _, label = line.strip().partition(": ")
        source, _, target = arrow.partition(" --> ")
        if source == "[*]":
            continue
        moves.add((source, target, _BY[label.split()[0]]))
    return moves


DECISIONS = """
| `decision` | moves the referral to | required | optional | refused with 400 when |
|---|---|---|---|---|
| `accept` | `accepted` (accepted for screening) | nothing | `note` | `reason` or `items` given (they belong to the other decisions) |
| `more_info` | `more_info` | `items`: a list of 1-50 non-blank entries (each at most 500 characters), what the centre needs | `note` | `items` missing or all blank; `reason` given |
| `decline` | `declined` | `reason`: why, at most 4000 characters (the family is told) | `note` | `reason` missing or blank; `items` given |

Rules for the fields the referral keeps:

- `information_requested` is the centre's open request: `more_info` replaces it with `items`;
  `accept` and `decline` clear it. A packet the coordinator sends in between keeps it, so the
  new packet can be checked against what was asked.
- `answer_note` is the centre's latest `note`: an answer with a note replaces it, an answer
  without one leaves the earlier note (every answer's own note stays in the referral's history).
- `decline_reason` is the `reason` of the latest decline.
"""

ANSWER = f"""The centre's answer on a referral it may answer (status `sent`, `acknowledged`,
`under_review` or `more_info`; `accepted` may still be declined after screening).

Each decision requires different fields; a field that belongs to another decision is refused,
so a client learns of its mistake instead of having it ignored:
{DECISIONS}
A referral whose status does not allow the decision answers **409** with code
`transition_not_allowed` and the statuses it can move to in `detail`. The case moves with the
answer (accepted by one centre: accepted; declined by every centre: declined) and the
coordinator is told at once (a message in the case's thread with the centre, and a task when the
centre asks for more information). The centre is not sent a webhook for its own answer.

The referral's states (Mermaid):

```mermaid
{STATE_DIAGRAM}
```
"""

ACKNOWLEDGE = """Confirm that the centre received the referral: `sent` → `acknowledged`.
Acknowledging again once acknowledged (or later) changes nothing and answers 200.
Any other status answers **409** (`transition_not_allowed`). No fields."""

START_REVIEW = """The centre's medical team started reviewing: `sent` or `acknowledged` → `under_review`.
Any other status answers **409** (`transition_not_allowed`). No fields."""

SLOTS_POST = """Propose dates to the coordinator, who confirms one of each kind.

- `kind`: `teleconsultation` while the referral is `sent`, `acknowledged`, `under_review` or
  `accepted`; `admission` only once `accepted`.
- `slots`: 1-20 entries, each with `starts_at` in the future, optionally `ends_at` after it,
  `location` and `note`.

A referral in another status answers **409** (`transition_not_allowed`); a bad field 400 naming it."""
