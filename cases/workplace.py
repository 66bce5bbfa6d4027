"""The case page as a workplace: the tabs it is made of, the panels other apps add to them, and the
timeline every app feeds. Each app registers its own from its admin module, so this app imports none.

A panel renders read-only HTML for one case (it sits inside the case form, so it holds no form of its
own; a button may name a form of the header with ``form="..."``). It is rendered only when its tab is
opened, in the page (``?open=<tab>``) or on the tab's own URL (``CaseAdmin.section_view``), which the
page fetches: it holds no script of its own. A timeline source returns what happened to a case, newest
first, in ONE query whatever the case holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .models import Case

# The tabs of the case page, in the order a coordinator works a case.
TABS: tuple[tuple[str, str], ...] = (
    ("overview", "Overview and timeline"),
    ("records", "Records"),
    ("eligibility", "Eligibility"),
    ("referrals", "Referrals and packets"),
    ("schedule", "Schedule"),
    ("travel", "Travel"),
    ("messages", "Messages"),
    ("audit", "Audit"),
)
TAB_KEYS = {key for key, _title in TABS}


def tab_for_section(order: int) -> str:
    """Where an app's inline (``case_section(order)``) goes: the orders of cases.admin.case_section."""
    if order < 20:
        return "schedule"
    if order < 40:
        return "records"
    if order < 50:
        return "eligibility"
    if order < 60:
        return "referrals"
    if order < 70:
        return "messages"
    return "travel"


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # status, upload, review, message, referral, packet, mrd, reminder
    text: str
    who: str = ""
    url: str = ""


@dataclass(frozen=True)
class Panel:
    tab: str
    order: int
    render: Callable[[HttpRequest, Case], str]


TimelineSource = Callable[["Case", int], Iterable[TimelineEntry]]


@dataclass(frozen=True)
class Action:
    """A button of the case page's header that posts to ``url_name`` with the case's id."""

    key: str
    label: str
    url_name: str
    order: int = 50


_actions: list[Action] = []
_panels: list[Panel] = []
_timeline_sources: list[TimelineSource] = []


def case_panel(tab: str, order: int = 50):
    """Add a panel to a tab of the case page: ``render(request, case) -> html``."""
    if tab not in TAB_KEYS:
        raise ValueError(f"unknown case page tab {tab!r}; one of {sorted(TAB_KEYS)}")

    def register(render):
        _panels.append(Panel(tab, order, render))
        return render

    return register


def panels() -> list[Panel]:
    return sorted(_panels, key=lambda p: p.order)


def timeline_source(func: TimelineSource) -> TimelineSource:
    """Feed the case timeline: ``func(case, limit)`` returns at most ``limit`` entries, newest first,
    in one query."""
    _timeline_sources.append(func)
    return func


def timeline_sources() -> list[TimelineSource]:
    return list(_timeline_sources)


def case_action(key: str, label: str, url_name: str, order: int = 50) -> None:
    """Add a button to the case page's header (a POST to ``url_name`` with the case's id)."""
    _actions.append(Action(key, label, url_name, order))


def actions() -> list[Action]:
    return sorted(_actions, key=lambda a: a.order)
