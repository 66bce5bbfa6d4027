"""Recording audit events: the one place the trail is written."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection, connections, models

from .actor import Actor
from .context import client_ip
from .crypto import seal, unseal
from .models import AuditEvent


@functools.cache
def case_path_to(model) -> tuple[str, ...] | None:
    """The forward foreign keys from ``model`` to ``cases.Case`` (shortest first), or None."""
    if model._meta.concrete_model._meta.label == "cases.Case":  # the case itself, or a proxy of it
        return ()
    queue: list[tuple[type[models.Model], tuple[str, ...]]] = [(model, ())]
    seen = {model}
    while queue:
        current, path = queue.pop(0)
        if len(path) >= 3:
            continue
        for field in current._meta.concrete_fields:
            if not isinstance(field, (models.ForeignKey, models.OneToOneField)):
                continue
            related = field.related_model
            if related._meta.label == "cases.Case":
                return (*path, field.name)
            if related not in seen:
                seen.add(related)
                queue.append((related, (*path, field.name)))
    return None


def _case_of(obj: models.Model | None, *, load: bool = True) -> tuple[int | None, object | None]:
    """(case id, case if already loaded) of an object, following its foreign keys to the case.

    Rows loaded with their path to the case (select_related) cost no query. Otherwise each hop
    is one query when ``load`` (one record); a list (``load=False``) never queries per row.
    """
    if obj is None:
        return None, None
    path = case_path_to(obj.__class__)  # __class__: a lazy object (request.user) answers for its target
    if path is None:
        return getattr(obj, "case_id", None), None
    if not path:
        return obj.pk, obj
    holder = obj
    for name in path[:-1]:
        if not load and name not in holder._state.fields_cache:
            return getattr(obj, "case_id", None), None
        holder = getattr(holder, name)
        if holder is None:
            return None, None
    case = holder._state.fields_cache.get(path[-1])
    return getattr(holder, f"{path[-1]}_id"), case


def _event(
    *,
    actor,
    action: str,
    obj=None,
    case=None,
    object_type: str | None = None,
    object_id=None,
    detail: dict | None = None,
    ip: str | None = None,
) -> AuditEvent:
    if case is not None:
        case_id = case.pk
    else:
        case_id, case = _case_of(obj)
    who = Actor.of(actor)
    return AuditEvent(
        actor=who.user,
        # A pseudonym, never a family member's user name (which often is their name).
        actor_label=who.label,
        actor_role=who.role,
        action=action,
        object_type=object_type or (obj._meta.label if obj is not None else ""),
        object_id=str(object_id if object_id is not None else (obj.pk if obj is not None else "")),
        case_id=case_id,
        case_reference=getattr(case, "reference", "") if case is not None else "",
        client_ip=ip or client_ip.get(),
        detail=_sealed(detail or {}, case_id),
    )


# Free text in an entry's detail (a transition's reason, a reviewer's note) may name the family;
# it is sealed with the case's key, which erasure destroys (audit.crypto).
FREE_TEXT_KEYS = frozenset({"reason", "note", "notes", "text", "body", "comment", "message", "summary", "error"})


def _sealed(detail: dict, case_id: int | None) -> dict:
    if case_id is None or not any(k in FREE_TEXT_KEYS and isinstance(v, str) and v for k, v in detail.items()):
        return detail
    return {
        k: seal(case_id=case_id, text=v) if k in FREE_TEXT_KEYS and isinstance(v, str) else v for k, v in detail.items()
    }


def audit_detail_readable(event: AuditEvent) -> dict:
    """An entry's detail with its sealed free text opened (``[erased]`` after erasure)."""
    return {k: unseal(case_id=event.case_id, value=v) for k, v in (event.detail or {}).items()}


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    case=None,
    object_type: str | None = None,
    object_id: Any = None,
    detail: dict | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Record one event. ``actor`` is a user, or a string naming a system process."""
    event = _event(
        actor=actor,
        action=action,
        obj=obj,
        case=case,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
        ip=ip,
    )
    event.save(force_insert=True)
    return event


def _rows_of(objects: Iterable[models.Model]) -> tuple[str, list[tuple[Any, int | None, str]]]:
    """(object type, [(object id, case id, case reference)]) of objects of one model."""
    rows = []
    object_type = ""
    for obj in objects:
        object_type = obj._meta.label
        case_id, case = _case_of(obj, load=False)
        rows.append((obj.pk, case_id, getattr(case, "reference", "") if case is not None else ""))
    return object_type, rows


def audit_record_many(*, actor, action: str, objects: Iterable[models.Model], detail: dict | None = None) -> int:
    """Record the same action on many objects, one event each, in one INSERT (list pages stay one query)."""
    object_type, rows = _rows_of(objects)
    return _record_each(actor=actor, action=action, object_type=object_type, rows=rows, detail=detail)


def audit_record_page(*, actor, action: str, objects: Iterable[models.Model], detail: dict | None = None) -> int:
    """Record a page of objects of one model as ONE event naming them (``audit_record_rows``)."""
    object_type, rows = _rows_of(objects)
    return audit_record_rows(actor=actor, action=action, object_type=object_type, rows=rows, detail=detail)


def audit_record_rows(
    *, actor, action: str, object_type: str, rows: list[tuple[Any, int | None, str]], detail: dict | None = None
) -> int:
    """Record one action on a page of rows given as (object_id, case_id, case_reference): ONE event.

    The hottest reads (the caseload page, built from ``.values()``) come here. The event names
    every row it covers: ``detail["ids"]`` the object ids in page order, ``detail["case_ids"]``
    the cases shown. When they all belong to one case, the event is recorded against it like
    any other; otherwise ``case_id`` is empty and ``AuditEvent.objects.for_case`` finds the page
    through ``case_ids``. One row instead of fifty is a quarter of the cost of the INSERT.
    """
    if not rows:
        return 0
    case_ids = sorted({r[1] for r in rows if r[1] is not None})
    references = {r[1]: r[2] for r in rows if r[1] is not None}
    only = case_ids[0] if len(case_ids) == 1 else None
    event = _event(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(rows[0][0]) if len(rows) == 1 else "",
        detail={**(detail or {}), "ids": [str(r[0]) for r in rows], "case_ids": case_ids},
    )
    reference = (references.get(only) or "") if only is not None else ""
    _insert(event, [(event.object_id, only, reference)])
    return len(rows)


class _PreparedCursor(psycopg.Cursor):
    """A psycopg cursor with server-side parameters whose statements PostgreSQL prepares: planned
    the first time on a connection, then only executed (Django's own cursors bind on the client
    side, so every statement is planned again)."""

    # Whether Django logs the statement (its debug cursor: DEBUG, or a test capturing queries).
    logged = False

    def execute(self, query, params=None, *, prepare=None, binary=None):
        super().execute(query, params, prepare=True, binary=binary)
        if self.logged and self._query is None:
            # Django's log reads the statement from _query, which psycopg leaves empty when it
            # sends a prepared statement by name.
            self._query = self._convert_query(query, params)
        return self


@contextmanager
def audit_page_in_its_query(
    *,
    actor,
    action: str,
    object_type: str,
    detail: dict,
    columns: tuple[str, str, str],
    shown: int,
    reverse: bool = False,
    using: str = "default",
) -> Iterator[None]:
    """Within the block, the page's query (the first SELECT of a ``.values()`` list with the named
    columns, on PostgreSQL) records its own read: the same one event as ``audit_record_rows``,
    written by the same statement.

    The page's SELECT becomes ``WITH page AS MATERIALIZED (<the SELECT>), logged AS (INSERT INTO
    audit_auditevent ... FROM page) SELECT * FROM page``: the rows and the event that names them
    commit together, in one round trip instead of two (the caseload page is the hottest read).
    ``columns`` name the page's (object id, case id, case reference) columns, as ``audit_row``
    maps them; ``shown`` is how many of the rows fetched are shown (a keyset page fetches one
    more to know whether there is a next page); ``reverse`` when they are shown in the opposite
    order (a previous page). A page without rows records nothing.
    """
    event = _event(actor=actor, action=action, object_type=object_type, object_id="", detail=detail)
    done = False

    quoted = [connections[using].ops.quote_name(c) for c in columns]
    # The page is the block's SELECT that has the named columns (other reads may come before it).
    marks = [f" AS {name}" for name in quoted]

    def record_in_query(execute, sql, params, many, context):
        nonlocal done
        if done or many or not sql.lstrip().upper().startswith("SELECT") or not all(m in sql for m in marks):
            return execute(sql, params, many, context)
        done = True
        object_id, case_id, reference = quoted
        order = "n DESC" if reverse else "n"
        audited = (
            f"WITH page AS MATERIALIZED ({sql}),"  # noqa: S608 - Django's SQL, values as parameters
            f" shown AS (SELECT {object_id} AS o, {case_id} AS c, {reference} AS r,"
            " row_number() OVER () AS n FROM page LIMIT %s),"
            " logged AS (INSERT INTO audit_auditevent (at, actor_id, actor_label, actor_role, action, object_type,"
            " object_id, case_id, case_reference, client_ip, detail)"
            " SELECT %s, %s, %s, %s, %s, %s,"
            " CASE WHEN count(*) = 1 THEN min(o)::text ELSE '' END,"
            " CASE WHEN count(DISTINCT c) = 1 THEN min(c) END,"
            " CASE WHEN count(DISTINCT c) = 1 THEN min(r) FILTER (WHERE c IS NOT NULL) ELSE '' END,"
            f" %s, %s::jsonb || jsonb_build_object('ids', jsonb_agg(o::text ORDER BY {order}),"
            " 'case_ids', COALESCE(jsonb_agg(DISTINCT c ORDER BY c) FILTER (WHERE c IS NOT NULL), '[]'::jsonb))"
            " FROM shown HAVING count(*) > 0)"
            " SELECT * FROM page"
        )
        values = [
            shown,
            event.at,
            event.actor_id,
            event.actor_label,
            event.actor_role,
            event.action,
            event.object_type,
            event.client_ip,
            json.dumps(event.detail),
        ]
        # Planned once per connection: on the caseload page, planning the statement took longer
        # than running it. Django's cursors bind values on the client (so each statement is
        # planned anew, and psycopg prepares none); this one statement goes through a cursor
        # that sends them apart, which psycopg prepares (Django sets the connection's threshold
        # to None, "never": it is lifted for this statement alone).
        cursor = context["cursor"]
        client_side, cursor.cursor = cursor.cursor, _PreparedCursor(cursor.cursor.connection)
        client_side.close()
        cursor.cursor.logged = connections[using].queries_logged
        threshold, cursor.cursor.connection.prepare_threshold = cursor.cursor.connection.prepare_threshold, 0
        try:
            return execute(audited, [*(params or ()), *values], many, context)
        finally:
            cursor.cursor.connection.prepare_threshold = threshold

    # A block that runs no query (a filter Django knows matches nothing) showed no row to record.
    with connections[using].execute_wrapper(record_in_query):
        yield


def _record_each(
    *, actor, action: str, object_type: str, rows: list[tuple[Any, int | None, str]], detail: dict | None = None
) -> int:
    """One event per row (object_id, case_id, case_reference), in one INSERT."""
    if not rows:
        return 0
    template = _event(actor=actor, action=action, object_type=object_type, object_id="", detail=detail)
    _insert(template, rows)
    return len(rows)


def _insert(template: AuditEvent, rows: list[tuple[Any, int | None, str]]) -> None:
    """Insert one event per row (object_id, case_id, case_reference), each otherwise ``template``.

    On PostgreSQL this is one INSERT ... SELECT FROM unnest(...), whose cost barely grows with the
    number of rows, written without the model's save machinery (the reads it records are the
    most frequent requests); elsewhere a bulk_create.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO audit_auditevent (at, actor_id, actor_label, actor_role, action, object_type, object_id,"
                " case_id, case_reference, client_ip, detail)"
                " SELECT %s, %s, %s, %s, %s, %s, o, c, r, %s, %s::jsonb"
                " FROM unnest(%s::text[], %s::bigint[], %s::text[]) AS t(o, c, r)",
                [
                    template.at,
                    template.actor_id,
                    template.actor_label,
                    template.actor_role,
                    template.action,
                    template.object_type,
                    template.client_ip,
                    json.dumps(template.detail),
                    [str(r[0]) for r in rows],
                    [r[1] for r in rows],
                    [r[2] or "" for r in rows],
                ],
            )
        return
    AuditEvent.objects.bulk_create(
        AuditEvent(
            at=template.at,
            actor_id=template.actor_id,
            actor_label=template.actor_label,
            actor_role=template.actor_role,
            action=template.action,
            object_type=template.object_type,
            object_id=str(object_id),
            case_id=case_id,
            case_reference=reference or "",
            client_ip=template.client_ip,
            detail=template.detail,
        )
        for object_id, case_id, reference in rows
    )
