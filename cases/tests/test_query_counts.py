"""The case list costs the same number of queries whatever the number of cases."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from cases.factories import CaseFactory


def _list_queries(client):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/cases/")
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["results"])


def test_the_case_list_api_costs_the_same_at_5_and_200_cases(world):
    client = APIClient()
    client.force_authenticate(world.alice)
    CaseFactory.create_batch(3)
    small, rows_small = _list_queries(client)
    CaseFactory.create_batch(195)
    large, rows_large = _list_queries(client)
    assert rows_small == 5 and rows_large == 50
    assert small == large


def test_a_familys_list_costs_the_same_too(world):
    client = APIClient()
    client.force_authenticate(world.ivanova)
    before, _ = _list_queries(client)
    CaseFactory.create_batch(50)
    after, _ = _list_queries(client)
    assert before == after
