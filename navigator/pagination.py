"""One pagination for every list of the API: keyset (cursor) pages with the total count.

Page 1,000 costs what page 1 costs (no OFFSET); the total is one COUNT of the same filtered
rows (for the case list, read in the page's own query), so a list still costs a constant
number of queries. The count stops at ``COUNT_LIMIT``: a larger list answers ``"count": null``
(as GitLab leaves out its total above 10,000), because counting every one of 100,000 cases
took longer than the page itself and grew with the table. ``page_size`` is a whole number
from 1 to ``max_page_size``; anything else, and a cursor that is not one of ours, is a 400
naming the parameter (never silently the default page).
"""

from __future__ import annotations

import time
from base64 import b64decode
from urllib import parse

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models.expressions import RawSQL
from rest_framework import pagination, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings

from navigator.filters import refuse_unknown_parameters

MAX_PAGE_SIZE = 200
# Above this many items a list's count is null: counting stops at COUNT_LIMIT + 1 rows.
COUNT_LIMIT = 1000
DEFAULT_PAGE_SIZE = 50
# The column of a page's rows that carries the list's total (see ``count_queryset``).
TOTAL = "_list_total"


def _capped(n: int | None) -> int | None:
    return None if n is None or n > COUNT_LIMIT else n


# A table's row estimate (PostgreSQL's statistics) is read at most this often per process.
ESTIMATE_SECONDS = 60
_estimates: dict[tuple[str, str], tuple[float, float]] = {}


def table_estimate(using: str, table: str) -> float:
    """PostgreSQL's estimate of a table's rows (``pg_class.reltuples``; -1 if never analysed),
    read at most every ESTIMATE_SECONDS."""
    key, now = (using, table), time.monotonic()
    found = _estimates.get(key)
    if found is None or now - found[0] > ESTIMATE_SECONDS:
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(_ESTIMATE, [connection.ops.quote_name(table)])
            row = cursor.fetchone()
        found = _estimates[key] = (now, float(row[0]) if row else -1.0)
    return found[1]


_ESTIMATE = "SELECT reltuples FROM pg_class WHERE oid = %s::regclass"
# "Far above": more than this many times the count limit.
_FAR = 10


def _whole_table(counted) -> bool:
    """Whether the rows to count are a whole table on PostgreSQL (no filter, no narrowing: a
    coordinator's unfiltered caseload).

    Such a list whose planner statistics say it holds more than ten times the count limit is over
    the limit without counting, as the admin's changelist shows the table's estimate
    (cases.admin.EstimatedCountPaginator). Statistics are refreshed by autovacuum after a tenth
    of a table changes, so an estimate ten times the limit cannot stand for a table within it;
    a table never analysed (-1) is counted."""
    query = counted.query
    if query.where or query.distinct or query.combinator or query.group_by is not None:
        return False
    return connections[counted.db].vendor == "postgresql"


class CursorPagination(pagination.CursorPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-id"
    invalid_cursor_message = "This cursor is not valid; use the `next` or `previous` link of a page."

    # The rows to count, for a list that names them (the case list): the queryset before its
    # .values() over related columns, whose count needs no join (a forward foreign key adds no
    # rows). Its total is then read in the page's own query, as a column of every row (an
    # uncorrelated subquery, which PostgreSQL evaluates once): one round trip fewer per page.
    count_queryset = None
    # Or the SQL of the rows to count and its parameters, when a list knows a faster way to name
    # them than its queryset (a search for a common name: cases.selectors.common_name_rows_to_count).
    count_rows_sql: tuple[str, list] | None = None

    def paginate_queryset(self, queryset, request, view=None):
        counted = queryset if self.count_queryset is None else self.count_queryset
        whole_table = self.count_rows_sql is None and _whole_table(counted)
        if (
            self.count_queryset is not None
            and whole_table
            and table_estimate(counted.db, counted.model._meta.db_table) > _FAR * (COUNT_LIMIT + 1)
        ):
            # The page's own query then carries no count at all (the estimate is kept a minute).
            self.count = None
            return super().paginate_queryset(queryset, request, view)
        try:
            count_sql, params = self._count_sql(counted)
        except EmptyResultSet:  # a filter no row can meet (Django sends no query for it)
            self.count = 0
            return super().paginate_queryset(queryset, request, view)
        if self.count_queryset is None:
            # A count of its own: a whole table's estimate is read in the same query.
            if whole_table:
                far = f"({_ESTIMATE}) > %s"
                count_sql = f"SELECT CASE WHEN {far} THEN NULL ELSE ({count_sql}) END"  # noqa: S608
                table = connections[counted.db].ops.quote_name(counted.model._meta.db_table)
                params = [table, _FAR * (COUNT_LIMIT + 1), *params]
            self.count = _capped(self._run(counted.db, count_sql, params))
            return super().paginate_queryset(queryset, request, view)
        page = super().paginate_queryset(queryset.annotate(**{TOTAL: RawSQL(count_sql, params)}), request, view)  # noqa: S611
        if page:
            self.count = _capped(page[0][TOTAL] if isinstance(page[0], dict) else getattr(page[0], TOTAL))
        elif page is not None:
            # No row to read it from (past the last page, or nothing matches): counted apart.
            self.count = _capped(self._run(counted.db, count_sql, params))
        return page

    def _count_sql(self, counted) -> tuple[str, list]:
        """A SELECT of the list's total: its first COUNT_LIMIT + 1 rows counted."""
        if self.count_rows_sql is not None:
            rows_sql, params = self.count_rows_sql
            sql = f"{rows_sql} LIMIT {COUNT_LIMIT + 1}"
        else:
            sql, params = counted.order_by().values("pk")[: COUNT_LIMIT + 1].query.sql_with_params()
        # The SQL is Django's own for the queryset (or a selector's), values passed as parameters.
        return f"SELECT COUNT(*) FROM ({sql}) AS counted", list(params)  # noqa: S608

    @staticmethod
    def _run(using: str, sql: str, params: list):
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            raise serializers.ValidationError(
                {self.page_size_query_param: [f"Give a whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            querystring = b64decode(encoded.encode("ascii")).decode("ascii")
            tokens = parse.parse_qs(querystring, keep_blank_values=True)
            offset = int(tokens.get("o", ["0"])[0])
            reverse = bool(int(tokens.get("r", ["0"])[0]))
            position = tokens.get("p", [None])[0]
        except (TypeError, ValueError, UnicodeError):
            raise serializers.ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}) from None
        if not 0 <= offset <= self.offset_cutoff:
            raise serializers.ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})
        return pagination.Cursor(offset=offset, reverse=reverse, position=position)

    def get_paginated_response(self, data):
        return Response(
            {"count": self.count, "next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = ["count", "next", "previous", "results"]
        paginated["properties"] = {
            "count": {
                "type": "integer",
                "nullable": True,
                "description": (
                    "How many items the whole list has (with the same filters), on every page; "
                    f"null when it has more than {COUNT_LIMIT:,} (follow `next` to the end instead)."
                ),
                "example": 123,
            },
            **paginated["properties"],
        }
        return paginated

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Where the page starts: the `next` or `previous` link of the page before.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Items per page, {DEFAULT_PAGE_SIZE} unless given; at most {MAX_PAGE_SIZE}.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
        ]


def paginate(view, queryset, serializer_class, *, ordering: str = "-id", query_parameters: tuple[str, ...] = ()):
    """A paginated answer for a list an action of ``view`` shows (sub-lists such as a
    referral's packets): the same pages, total and parameters as the standard lists, and like
    them a 400 for a query parameter it does not take (its own are ``query_parameters``). The
    view's ``paginate_queryset`` records the rows shown when the action is an audited read."""
    known = {p["name"] for p in view.paginator.get_schema_operation_parameters(view)}
    refuse_unknown_parameters(view.request, {*known, *query_parameters, api_settings.URL_FORMAT_OVERRIDE})
    view.paginator.ordering = ordering
    page = view.paginate_queryset(queryset)
    data = serializer_class(page, many=True, context=view.get_serializer_context()).data
    return view.get_paginated_response(data)
