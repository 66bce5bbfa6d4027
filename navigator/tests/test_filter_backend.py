"""The API's filter backend applies only the filters a request names, and answers exactly as
the view's whole FilterSet would: the same rows, the same 400s."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from rest_framework.test import APIClient

from cases.api.filters import CaseFilter
from cases.factories import CaseFactory
from cases.models import Case
from navigator.filters import _named

QUERIES = [
    "status=inquiry",
    "status=inquiry&status=referred",
    "priority=1&status=inquiry",
    "mine=true",
    "overdue=false",
    "inquiry_after=2020-01-01&inquiry_before=2030-12-31",
    "q=Ivan",
    "coordinator=alice",
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_named_filters_find_what_the_whole_filterset_finds(world, query):
    CaseFactory.create_batch(4, coordinator=world.alice)
    CaseFactory.create_batch(3, status="referred")
    client = APIClient()
    client.force_authenticate(world.alice)
    response = client.get(f"/api/v1/cases/?{query}&page_size=200")
    assert response.status_code == 200, response.content
    whole = CaseFilter(QueryDict(query), queryset=Case.objects.visible_to(world.alice), request=response.wsgi_request)
    assert whole.is_valid()
    assert sorted(r["id"] for r in response.json()["results"]) == sorted(whole.qs.values_list("id", flat=True))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=nonsense", "status"),
        ("inquiry_after=yesterday", "inquiry_after"),
        ("priority=1&priority=2", "priority"),
        ("mine=yes", "mine"),
    ],
)
def test_an_invalid_named_filter_is_the_same_400(world, query, field):
    client = APIClient()
    client.force_authenticate(world.alice)
    response = client.get(f"/api/v1/cases/?{query}")
    assert response.status_code == 400
    whole = CaseFilter(QueryDict(query), queryset=Case.objects.all())
    assert not whole.is_valid()
    assert set(response.json()["fields"]) == set(whole.errors) == {field}


def test_a_narrowed_filterset_holds_only_the_named_filters_and_is_made_once():
    narrowed = _named(CaseFilter, frozenset({"status", "q"}))
    assert list(narrowed.base_filters) == ["status", "q"]
    assert _named(CaseFilter, frozenset({"q", "status"})) is narrowed
    assert len(CaseFilter.base_filters) > 2
