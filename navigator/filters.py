"""The API's filter backend."""

from django_filters.rest_framework import DjangoFilterBackend

# Query parameters that are not filters: the cursor pagination's and the renderer's.
NOT_FILTERS = frozenset({"cursor", "page_size", "format"})


class FilterBackend(DjangoFilterBackend):
    """django-filter, skipped when the request has no query parameter that could be a filter.

    Building and validating the filter form costs more than half a millisecond on every list
    request; the caseload page, the most frequent request, usually comes without filters, and
    with no parameters every filter is a no-op anyway.
    """

    def filter_queryset(self, request, queryset, view):
        if not set(request.query_params) - NOT_FILTERS:
            return queryset
        return super().filter_queryset(request, queryset, view)
