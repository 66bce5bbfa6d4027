from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination: page 1,000 costs what page 1 costs (no OFFSET, no COUNT)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"
