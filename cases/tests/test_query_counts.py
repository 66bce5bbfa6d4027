"""The case list costs the same number of queries whatever the number of cases."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from cases.factories import CaseFactory
from cases.models import Case, Patient


def _list_queries(client):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/cases/")
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["results"])


def test_the_case_list_api_costs_the_same_at_5_and_200_cases(world):
    client = APIClient()
    client.force_authenticate(world.alice)
    CaseFactory.create_batch(3)
    _list_queries(client)  # the first list also reads the table's estimate, then kept a minute
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


def test_the_filtered_list_costs_the_same_too(world):
    client = APIClient()
    client.force_authenticate(world.alice)
    CaseFactory.create_batch(3)
    before = _queries(client, "/api/v1/cases/?status=inquiry&country=CN")
    CaseFactory.create_batch(60)
    assert _queries(client, "/api/v1/cases/?status=inquiry&country=CN") == before


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_total_is_counted_without_the_pages_joins(world):
    """The page reads the patient's and the coordinator's columns; the total needs neither."""
    client = APIClient()
    client.force_authenticate(world.alice)
    CaseFactory.create_batch(3, status="inquiry")
    for url, expected in [
        ("/api/v1/cases/", Case.objects.count()),
        ("/api/v1/cases/?status=inquiry", Case.objects.filter(status="inquiry").count()),
    ]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        # One query answers the page and its total (a subquery), and the total joins nothing.
        counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"]]
        assert len(counts) == 1, counts
        total = re.search(r"\(SELECT COUNT\(.*?\) AS \"_list_total\"", counts[0])
        assert total and "JOIN" not in total.group(0), counts[0]
        assert response.json()["count"] == expected


def test_a_page_with_no_rows_still_says_how_many_there_are(world):
    client = APIClient()
    client.force_authenticate(world.alice)
    assert client.get("/api/v1/cases/?status=closed").json()["count"] == 0
    CaseFactory.create_batch(3)
    first = client.get("/api/v1/cases/?page_size=2").json()
    assert len(first["results"]) == 2
    assert first["count"] == Case.objects.count()
    second = client.get(first["next"]).json()
    assert second["count"] == first["count"]


def test_a_filter_on_the_patient_still_counts_the_matching_cases(world):
    client = APIClient()
    client.force_authenticate(world.alice)
    CaseFactory.create_batch(2)
    country = world.case_a.patient.country
    response = client.get(f"/api/v1/cases/?country={country}")
    assert response.json()["count"] == Case.objects.filter(patient__country=country).count() > 0


def test_a_list_larger_than_the_count_limit_says_null_and_still_pages(world, monkeypatch):
    # Counting stops at COUNT_LIMIT + 1 rows (navigator.pagination): a larger list's count is null.
    from navigator import pagination

    client = APIClient()
    client.force_authenticate(world.alice)
    CaseFactory.create_batch(3)
    total = Case.objects.count()
    monkeypatch.setattr(pagination, "COUNT_LIMIT", total)
    assert client.get("/api/v1/cases/?page_size=2").json()["count"] == total
    monkeypatch.setattr(pagination, "COUNT_LIMIT", total - 1)
    first = client.get("/api/v1/cases/?page_size=2").json()
    assert first["count"] is None and len(first["results"]) == 2
    seen = [r["id"] for r in first["results"]]
    page = first
    while page["next"]:
        page = client.get(page["next"]).json()
        assert page["count"] is None
        seen += [r["id"] for r in page["results"]]
    assert sorted(seen) == sorted(Case.objects.values_list("id", flat=True))
    # A list without a count_queryset (the patients) is capped the same way.
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 1)
    assert client.get("/api/v1/patients/").json()["count"] is None


@pytest.mark.parametrize(
    "query",
    [
        {"priority": -2637761},
        {"q": "journey_id", "status": ["follow_up", "closed", "accepted"], "priority": -2637761},
        {"status": ["inquiry"], "inquiry_after": "3491-02-10", "inquiry_before": "2518-08-30"},
    ],
)
def test_a_filter_no_case_can_meet_answers_an_empty_page_with_count_zero(world, query):
    # Found by the fuzzer: a filter Django can tell matches nothing sends no query at all, and the
    # count's subquery must not fail on it.
    client = APIClient()
    client.force_authenticate(world.alice)
    response = client.get("/api/v1/cases/", query)
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 0 and response.json()["results"] == []


def test_a_whole_table_far_above_the_limit_is_told_from_its_statistics_without_counting(world, monkeypatch):
    """An unfiltered list of a whole table (a coordinator's caseload) whose planner statistics say
    it holds more than ten times the count limit answers null without counting it (as the admin's
    changelist shows the table's estimate); anything narrower, and a table the statistics put
    within reach, is counted. The estimate is read at most once a minute."""
    from navigator import pagination

    client = APIClient()
    client.force_authenticate(world.alice)
    CaseFactory.create_batch(20)
    total = Case.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
    monkeypatch.setattr(pagination, "_estimates", {})
    assert pagination.table_estimate("default", "cases_case") == total
    # The statistics say ten times the limit and more: null, and nothing counted or estimated.
    monkeypatch.setattr(pagination, "COUNT_LIMIT", total // 10 - 1)
    with CaptureQueriesContext(connection) as ctx:
        body = client.get("/api/v1/cases/").json()
    assert body["count"] is None and len(body["results"]) == total
    assert not [q for q in ctx.captured_queries if "COUNT(" in q["sql"] or "reltuples" in q["sql"]]
    # Within ten times the limit the table is counted: the statistics alone do not decide.
    monkeypatch.setattr(pagination, "COUNT_LIMIT", total // 10)
    assert client.get("/api/v1/cases/").json()["count"] is None  # counted: total > limit
    monkeypatch.setattr(pagination, "COUNT_LIMIT", total)
    assert client.get("/api/v1/cases/").json()["count"] == total
    # Statistics that overstate the table (as after deleting most of it, before autovacuum) with
    # a filter: counted, the estimate is for the whole table only.
    monkeypatch.setattr(pagination, "COUNT_LIMIT", total // 10 - 1)
    Case.objects.filter(pk=world.case_b.pk).update(status="closed")
    assert client.get("/api/v1/cases/", {"status": "closed"}).json()["count"] == 1
    # A family's list (narrowed to its own case) is counted however large the table.
    client.force_authenticate(world.ivanova)
    assert client.get("/api/v1/cases/").json()["count"] == 1
    # A list without a count_queryset (the patients) is told the same way.
    client.force_authenticate(world.alice)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_patient")
    monkeypatch.setattr(pagination, "COUNT_LIMIT", Patient.objects.count() // 10 - 1)
    assert client.get("/api/v1/patients/").json()["count"] is None
