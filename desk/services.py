"""Writes of the desk: saved case-list filters, a coordinator's time zone, reassignment."""

from __future__ import annotations

import zoneinfo
from urllib.parse import parse_qsl, urlencode

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.roles import is_coordinator
from audit.services import audit_record
from cases.models import Case
from cases.services import case_assign
from navigator.errors import DomainError

from .models import SavedFilter

# Changelist parameters that are not part of a filter (paging, popups, the action form).
_NOT_FILTERS = {"p", "_popup", "_to_field", "_changelist_filters", "all"}
MAX_SAVED_FILTERS = 50
NAME_MAX = 80  # SavedFilter.name
QUERY_MAX = 1000  # SavedFilter.query


def _clean_query(query: str) -> str:
    pairs = [(k, v) for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=False) if k not in _NOT_FILTERS]
    return urlencode(pairs)


@transaction.atomic
def saved_filter_save(*, user, name: str, query: str) -> SavedFilter:
    """Save (or replace) the case-list query ``query`` under ``name`` for ``user``."""
    if not is_coordinator(user):
        raise DomainError("Only coordinators save case-list filters.", field="name", code="permission_denied")
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the filter a name, e.g. “My referred cases”.", field="name")
    if len(name) > NAME_MAX:
        raise DomainError("A filter's name is at most 80 characters.", field="name")
    cleaned = _clean_query(query or "")
    if len(cleaned) > QUERY_MAX:
        raise DomainError("This filter is too long to save; remove some conditions.", field="query")
    existing = SavedFilter.objects.select_for_update().filter(user=user, name=name).first()
    if existing is not None:
        existing.query = cleaned
        existing.save(update_fields=["query"])
        return existing
    if SavedFilter.objects.filter(user=user).count() >= MAX_SAVED_FILTERS:
        raise DomainError(f"You have {MAX_SAVED_FILTERS} saved filters; delete one first.", field="name")
    return SavedFilter.objects.create(user=user, name=name, query=cleaned)


def saved_filter_delete(*, user, saved_filter_id: int) -> bool:
    """Delete one of ``user``'s own saved filters; another user's is not found."""
    deleted, _ = SavedFilter.objects.filter(user=user, pk=saved_filter_id).delete()
    return bool(deleted)


def staff_time_zone_set(*, user, time_zone: str) -> None:
    """The zone the admin shows ``user`` every time in."""
    if time_zone not in zoneinfo.available_timezones():
        raise DomainError(
            f"“{time_zone}” is not a known time zone; choose one such as Europe/Berlin or Asia/Shanghai.",
            field="time_zone",
        )
    get_user_model().objects.filter(pk=user.pk).update(time_zone=time_zone)
    user.time_zone = time_zone
    audit_record(actor=user, action="update", obj=user, detail={"fields": ["time_zone"], "time_zone": time_zone})


def case_reassign(*, reference: str, coordinator_id: int, actor, reason: str = "") -> Case:
    """A supervisor gives the case with ``reference`` to another coordinator (``case_assign``
    checks who may and records it)."""
    case = Case.objects.visible_to(actor).filter(reference__iexact=(reference or "").strip()).first()
    if case is None:
        raise DomainError(f"No case {reference!r}; give its reference, e.g. NAV-2026-00001.", field="reference")
    coordinator = get_user_model().objects.filter(pk=coordinator_id).first()
    return case_assign(case=case, coordinator=coordinator, actor=actor, reason=reason)
