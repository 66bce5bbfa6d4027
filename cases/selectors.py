"""Named reads of cases that are more than a filter: the case search."""

from __future__ import annotations

import datetime as dt
import json
import time
import zoneinfo

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.text import smart_split, unescape_string_literal

from .models import Case, Patient, StatusChange

# The patient name columns a search looks in: the Latin transliteration (as in the passport) and
# the name in the patient's own script (王小明, Иван Петров, فاطمة حسن).
NAME_FIELDS = ("family_name", "given_name", "native_name")

# Above this many patients (as PostgreSQL estimates them) a name is "common", a surname shared by
# thousands: the page is then found by walking the cases newest first and stopping when it is
# full, a few hundred rows away. Below it, collecting the few matches from the indexes is cheaper.
COMMON_NAME_PATIENTS = 1000


def _words(text: str) -> list[str]:
    """The words of a search, as the admin splits them: "Ivan Petrov" is two, '"Ivan Petrov"' one."""
    words = []
    for bit in smart_split(text):
        if bit[:1] in ('"', "'") and bit[-1:] == bit[:1]:
            bit = unescape_string_literal(bit)
        if bit.strip():
            words.append(bit.strip())
    return words


def _name_q(words: list[str], prefix: str = "") -> Q:
    """Every word in one of the name columns (any column per word)."""
    q = Q()
    for word in words:
        any_field = Q()
        for field in NAME_FIELDS:
            any_field |= Q(**{f"{prefix}{field}__icontains": word})
        q &= any_field
    return q


def case_search(*, queryset: QuerySet[Case], text: str) -> QuerySet[Case]:
    """Cases whose reference is ``text`` (any case) or whose patient's names contain every word of it
    (any script; each word in any of the names, so "Ivan Petrov" finds given name Ivan, family
    name Petrov, and a quoted phrase is one word).

    One search for the API's ``?q=`` and the admin's search box alike. ``queryset`` is already
    narrowed to what the caller may see; the result keeps that narrowing and its ordering.

    On PostgreSQL the search is answered from indexes (migration cases 0005): the reference by
    the index on ``UPPER(reference)``, names by pg_trgm trigram GIN indexes on ``UPPER(<name>)``,
    which serve exactly the ``UPPER(..) LIKE UPPER('%text%')`` Django writes for ``icontains``, so
    what is found is what a plain scan finds, in every script. The reference and the names are
    looked up separately and united (``UNION ALL`` of two index scans) instead of one ``OR``
    across the patient join, which made PostgreSQL walk every case and probe its patient. A
    name that PostgreSQL's statistics give more than ``COMMON_NAME_PATIENTS`` patients
    (``estimated_patients``) is searched the other way round (collecting 5,000 matches to show
    50 is what is slow there): cases newest first, stopping when the page is full, which with
    so many matches is a few hundred rows away.

    Elsewhere (SQLite, the demo with a few hundred cases) the plain ``OR`` across the join is
    used: it finds the same rows, needs no extension, and a scan of a small table is instant.
    """
    words = _words(text)
    if not words:
        return queryset
    by_reference = Q(reference__iexact=text.strip())
    if connection.vendor != "postgresql":
        return queryset.filter(by_reference | _name_q(words, "patient__"))
    if estimated_patients(words) > COMMON_NAME_PATIENTS:
        return queryset.filter(by_reference | _name_q(words, "patient__"))
    patients = Patient.objects.filter(_name_q(words)).order_by()
    matching = (
        Case.objects.filter(by_reference)
        .order_by()
        .values("pk")
        .union(Case.objects.filter(patient__in=patients.values("pk")).order_by().values("pk"), all=True)
    )
    return queryset.filter(pk__in=matching)


# The alias of the matching patients in ``common_name_rows_to_count``'s SQL.
_PATIENTS = "navigator_search_patient"


def common_name_rows_to_count(*, queryset: QuerySet[Case], text: str) -> tuple[str, list] | None:
    """The SQL (and its parameters) of the ids of ``queryset``'s cases, to be counted up to a limit
    (``navigator.pagination``), when ``text`` is a common name; None otherwise (count the queryset).

    ``queryset`` is the searched list (``case_search``) with every other filter and the caller's
    narrowing. For a common name its page walks cases newest first, but counting 1,001 matches
    the same way walks some 20,000 cases and tests each one's patient (about 20 ms at 100,000
    cases). Here the count goes the other way: the patients bearing the name, from the trigram
    indexes, and for each one its cases (a LATERAL join, which PostgreSQL runs as a nested loop
    and stops when the count has enough), plus the cases whose reference is the text and whose
    patient is not counted there. Each case of ``queryset`` is counted once: ``queryset``'s own
    conditions are kept in both branches, and a case whose reference matches is left out of the
    patients' branch.
    """
    words = _words(text)
    if not words or connection.vendor != "postgresql" or estimated_patients(words) <= COMMON_NAME_PATIENTS:
        return None
    reference = text.strip()
    by_reference = queryset.filter(reference__iexact=reference).order_by().values("pk")
    patients = Patient.objects.filter(_name_q(words)).order_by().values("pk")
    per_patient = (
        queryset.filter(patient_id=RawSQL(f'"{_PATIENTS}"."pk"', ()))  # noqa: S611 - a fixed alias, no input
        .exclude(reference__iexact=reference)
        .order_by()
        .values("pk")
    )
    try:
        (reference_sql, reference_params), (patients_sql, patients_params), (cases_sql, cases_params) = (
            part.query.sql_with_params() for part in (by_reference, patients, per_patient)
        )
    except EmptyResultSet:  # a filter no case can meet: counted the plain way (nothing to read)
        return None
    # Django's own SQL for each part, their values passed as parameters.
    by_patient = f"SELECT {_PATIENTS}_case.pk FROM ({patients_sql}) AS {_PATIENTS}"  # noqa: S608
    sql = f"({reference_sql}) UNION ALL ({by_patient} CROSS JOIN LATERAL ({cases_sql} OFFSET 0) AS {_PATIENTS}_case)"
    return sql, [*reference_params, *patients_params, *cases_params]


# The most common names and how many patients bear each, from PostgreSQL's statistics on the
# trigram indexes' UPPER(name) (refreshed by ANALYZE); read at most every STATISTICS_SECONDS.
STATISTICS_SECONDS = 600
_statistics: dict = {"read_at": float("-inf"), "names": (), "patients": 0.0}


def _common_names() -> tuple[tuple[str, float], ...]:
    """(UPPER(name), fraction of patients) for each name column's most common values."""
    now = time.monotonic()
    if now - _statistics["read_at"] > STATISTICS_SECONDS:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT s.most_common_vals::text::text[], s.most_common_freqs, c.reltuples"
                " FROM pg_stats s, pg_class c"
                " WHERE c.relname = %s AND s.tablename = ANY(%s) AND s.most_common_vals IS NOT NULL",
                [Patient._meta.db_table, [f"patient_{field}_trgm" for field in NAME_FIELDS]],
            )
            names, patients = [], 0.0
            for values, freqs, rows in cursor.fetchall():
                names += [(value, freq) for value, freq in zip(values, freqs, strict=True) if value]
                patients = max(rows, 0)
        _statistics.update(read_at=now, names=tuple(names), patients=patients)
    return _statistics["names"]


def estimated_patients(words: list[str]) -> float:
    """How many patients PostgreSQL's statistics say bear a name containing every word.

    A word inside one of the most common names (a surname shared by thousands, or a part of
    it such as "ahma" in Rahman) counts that name's share of the patients; several words are
    taken as independent ("Anna Rahman": Annas among the Rahmans). Names outside the
    statistics are rare by definition (estimated 0).
    """
    names = _common_names()
    estimate = _statistics["patients"]
    for word in words:
        estimate *= min(1.0, sum(share for name, share in names if word.upper() in name))
    return estimate


def estimated_rows(queryset: QuerySet) -> int:
    """PostgreSQL's own estimate of the rows a query returns (planning only, nothing is read).

    The trigram indexes carry statistics on UPPER(name), so a surname shared by thousands is
    estimated closely, and a rare one as a handful.
    """
    plan = json.loads(queryset.explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def case_timeline(case, *, limit: int = 60) -> list:
    """Everything that happened to a case, newest first: status moves here, and what the other apps
    feed (uploads and reviews, messages, referral events, packets, MRD results, reminders sent).
    One query per source whatever the case holds; the newest ``limit`` entries."""
    from .workplace import TimelineEntry, timeline_sources

    entries: list[TimelineEntry] = [
        TimelineEntry(
            at=change.changed_at,
            kind="status",
            text=f"Status: {change.from_label or 'new'} → {change.to_label}"
            + (f" ({change.reason})" if change.reason else ""),
            who=person_name(change.changed_by),
        )
        for change in StatusChange.objects.filter(case=case)
        .select_related("changed_by")
        .order_by("-changed_at")[:limit]
    ]
    for source in timeline_sources():
        entries.extend(source(case, limit))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def person_name(user) -> str:
    """How a timeline or header names a user: full name, else the login; empty for nobody."""
    if user is None:
        return ""
    return user.get_full_name() or user.username


def family_local_time(case, *, now: dt.datetime | None = None) -> tuple[dt.datetime, str]:
    """The family's wall-clock time now and the zone it is in: the primary contact's zone, else the
    patient's (both IANA names, validated on save)."""
    contacts = list(case.patient.contacts.all())
    primary = next((c for c in contacts if c.is_primary), contacts[0] if contacts else None)
    zone_name = (primary.time_zone if primary else "") or case.patient.time_zone or "UTC"
    now = now or timezone.now()
    return now.astimezone(zoneinfo.ZoneInfo(zone_name)), zone_name
