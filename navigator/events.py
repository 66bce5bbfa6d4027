"""Telling the outside world that something happened, without knowing who listens.

Referrals and messaging call ``emit`` with an event type, the centre it concerns and a
payload of identifiers; the ``webhooks`` app subscribes when it is loaded (``apps.py``) and turns
each event into signed deliveries. The emitting apps import only this module, so they never
import the webhooks app (which sits above them: its models point at ``hospitals.Hospital``).

Subscribers run inside the caller's transaction: an event is recorded together with the change
it reports, or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Subscriber(Protocol):
    def __call__(self, *, event_type: str, hospital: Any, data: dict, dedupe_key: str | None) -> None: ...


_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> Callable:
    """Register ``subscriber`` once (calling it again with the same function does nothing)."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)
    return subscriber


def emit(*, event_type: str, hospital: Any, data: dict, dedupe_key: str | None = None) -> None:
    """Tell every subscriber that ``event_type`` happened for ``hospital`` (a ``hospitals.Hospital``).

    ``data`` carries identifiers and links only, never health data. With ``dedupe_key`` a
    subscriber records the event once however often it is emitted."""
    for subscriber in _subscribers:
        subscriber(event_type=event_type, hospital=hospital, data=data, dedupe_key=dedupe_key)
