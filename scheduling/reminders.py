"""Reminders of milestones: planned when a milestone is created or moved."""

from __future__ import annotations


def reminders_sync(*, milestone) -> int:
    """Re-plan the milestone's unsent reminders (filled in with the reminder rules)."""
    return 0


def reminders_cancel_pending(*, milestone) -> int:
    """Cancel the milestone's unsent reminders."""
    return 0
