"""Reminder recipients that scheduling does not know itself.

The home haematologist belongs to ``followup``, which sits above scheduling: scheduling may not
import it. So ``followup`` registers a ``Party`` when it is loaded (``followup/apps.py``): who of
that party hears about a milestone, and at send time where to reach them and what to say. The
reminders themselves are ordinary ``Reminder`` rows: planned by ``reminders.reminders_sync``,
claimed by the sweep, sent once by ``delivery.reminder_deliver``, a failure opening the
coordinator's task, exactly as for the family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Milestone, Reminder, ReminderRule
    from .reminders import Recipient


@dataclass(frozen=True)
class Reach:
    """Where and how to reach a party's recipient now (read at send time, so a changed address
    or a revoked link counts). ``address`` empty: the reminder is skipped for ``reason``."""

    address: str = ""
    reason: str = ""
    name: str = ""
    template: str = "reminder"
    context: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Party:
    audience: str  # a Reminder.Audience value
    recipients: Callable[[Milestone, ReminderRule], list[Recipient]]
    reach: Callable[[Reminder], Reach]


_parties: dict[str, Party] = {}


def register(party: Party) -> Party:
    """Register ``party`` (registering the same audience again replaces it)."""
    _parties[party.audience] = party
    return party


def registered() -> list[Party]:
    return list(_parties.values())


def party_for(audience: str) -> Party | None:
    return _parties.get(audience)
