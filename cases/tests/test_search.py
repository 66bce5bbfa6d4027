"""The case search (cases.selectors.case_search): one search for the API's ?q= and the admin's box.

Found by reference (any case) or by any part of the patient's names, in the Latin
transliteration or in the patient's own script; answered from indexes on PostgreSQL.
"""

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from cases import selectors
from cases.factories import CaseFactory, PatientFactory
from cases.models import Case, Patient


@pytest.fixture
def scripts(world):
    """Patients named in Arabic and Cyrillic besides the world's Chinese and Russian ones."""
    fatima = PatientFactory(given_name="Fatima", family_name="Al-Rashid", native_name="فاطمة الراشد", country="AE")
    petrov = PatientFactory(given_name="Ivan", family_name="Petrov", native_name="Иван Петров")
    return {
        "fatima": CaseFactory(patient=fatima, coordinator=world.alice),
        "petrov": CaseFactory(patient=petrov, coordinator=world.bob),
    }


@pytest.fixture
def alice_client(client, world):
    client.force_login(world.alice)
    return client


def _api(client, text):
    response = client.get("/api/v1/cases/", {"q": text})
    assert response.status_code == 200, response.content
    return {row["reference"] for row in response.json()["results"]}


def _admin(client, text):
    response = client.get(reverse("admin:cases_case_changelist"), {"q": text})
    assert response.status_code == 200
    return {case.reference for case in response.context["cl"].result_list}


def _searches(world, scripts):
    """(text, the references it must find) in every script the coordinators meet."""
    a, b = world.case_a.reference, world.case_b.reference
    f, p = scripts["fatima"].reference, scripts["petrov"].reference
    return [
        ("陈小明", {b}),  # Chinese, whole name
        ("小明", {b}),  # Chinese, part of the name
        ("فاطمة", {f}),  # Arabic
        ("الراشد", {f}),  # Arabic family name
        ("Иванов", {a}),  # Cyrillic
        ("иВАНОВ", {a}),  # Cyrillic, any case
        ("Петров", {p}),
        ("Xiaoming", {b}),  # transliterations
        ("al-rashid", {f}),
        ("ivanov", {a}),
        ("Iva", {a, p}),  # part of a name: Ivanov and Ivan
        ("Ivan Petrov", {p}),  # every word somewhere in the names
        ('"Misha Ivanov"', set()),  # a quoted phrase is one word: no single name holds it
        (a.lower(), {a}),  # the reference, any case
        (f"  {b}  ", {b}),
        ("Zzyzx", set()),
    ]


def test_the_api_and_the_admin_find_every_script_and_transliteration(world, scripts, alice_client):
    api = APIClient()
    api.force_authenticate(world.alice)
    for text, expected in _searches(world, scripts):
        assert _api(api, text) == expected, text
        assert _admin(alice_client, text) == expected, text


def test_a_common_name_is_searched_newest_first_with_the_same_result(world, scripts, monkeypatch):
    """Above COMMON_NAME_PATIENTS estimated patients the search walks cases newest first instead
    of collecting every match; what it finds is the same."""
    everyone = Case.objects.all()
    expected = {text: refs for text, refs in _searches(world, scripts)}
    monkeypatch.setattr(selectors, "COMMON_NAME_PATIENTS", -1)
    for text, refs in expected.items():
        assert {c.reference for c in selectors.case_search(queryset=everyone, text=text)} == refs, text


def test_the_search_keeps_the_callers_narrowing(world, scripts):
    """A family searching finds nothing beyond its own case."""
    visible = Case.objects.visible_to(world.ivanova)
    assert set(selectors.case_search(queryset=visible, text="Ivan")) == {world.case_a}
    assert list(selectors.case_search(queryset=visible, text=world.case_b.reference)) == []


def test_an_empty_search_is_no_filter(world):
    assert selectors.case_search(queryset=Case.objects.all(), text="   ").count() == 2


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # The test tables are tiny, so the planner would rather read them whole; forbid that
        # (and walking a whole index in order) to see whether the indexes can answer at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_search_is_answered_from_the_indexes(world):
    """The index expressions match what the queries compare: UPPER(reference) and pg_trgm on
    UPPER(name), so a search by reference or by name reads indexes, not the tables."""
    search = selectors.case_search(queryset=Case.objects.all(), text="Ivanov")
    plan = _plan(search)
    assert "case_reference_upper" in plan
    assert "patient_family_name_trgm" in plan and "patient_native_name_trgm" in plan, plan
    assert "Seq Scan" not in plan, plan
    # The reference alone: one index probe.
    assert "case_reference_upper" in _plan(Case.objects.filter(reference__iexact="nav-2026-00001"))
    assert "patient_given_name_trgm" in _plan(Patient.objects.filter(given_name__icontains="小明"))


def test_a_common_name_is_told_from_a_rare_one_by_the_statistics(db, monkeypatch):
    """PostgreSQL's statistics on the trigram indexes' UPPER(name) say how many patients bear a
    name; parts of a common name are common, and words together are taken as independent."""
    import datetime as dt

    born = dt.date(2015, 1, 1)
    Patient.objects.bulk_create(
        [Patient(given_name="Anna" if i % 2 else "Omar", family_name="Rahman", date_of_birth=born) for i in range(300)]
        + [Patient(given_name="Adaeze", family_name=f"Rare{i}", date_of_birth=born) for i in range(100)]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_patient")
    monkeypatch.setitem(selectors._statistics, "read_at", float("-inf"))
    assert 250 < selectors.estimated_patients(["rahman"]) < 350
    assert selectors.estimated_patients(["ahma"]) == selectors.estimated_patients(["RAHMAN"])
    assert 100 < selectors.estimated_patients(["Anna", "Rahman"]) < 200
    assert selectors.estimated_patients(["Oyelaran"]) == 0
    monkeypatch.setattr(selectors, "COMMON_NAME_PATIENTS", 200)
    # Common: walks the cases newest first (a join, no UNION); rare: the UNION of index lookups.
    assert "UNION" not in str(selectors.case_search(queryset=Case.objects.all(), text="Rahman").query)
    assert "UNION" in str(selectors.case_search(queryset=Case.objects.all(), text="Rare7").query)


def test_a_common_names_total_is_counted_from_the_patients_with_the_same_result(world, scripts, monkeypatch):
    """For a common name the list's total counts the name's patients' cases (a LATERAL join from
    the trigram indexes) plus the cases found by reference, instead of walking cases newest
    first: the total is the same as counting the list, with every narrowing and filter, and a
    case found both ways is counted once."""
    from django.test.utils import CaptureQueriesContext

    from navigator import pagination

    # A patient with two cases, one of them closed; a patient whose name holds a case's reference.
    second = CaseFactory(patient=world.case_a.patient, coordinator=world.bob, status="closed")
    both = CaseFactory(patient=PatientFactory(given_name="Ref", family_name="Holder"))
    both.patient.family_name = f"Holder {both.reference}"
    both.patient.save()
    monkeypatch.setattr(selectors, "COMMON_NAME_PATIENTS", -1)  # every name is common
    searches = [text for text, _ in _searches(world, scripts)] + ["Ivanov", both.reference, both.reference.lower()]
    users = [world.alice, world.ivanova, world.dr_li, world.dr_wang]
    filters = [{}, {"status": "closed"}, {"coordinator": "bob"}, {"country": str(world.case_a.patient.country)}]
    api = APIClient()
    checked = 0
    for user in users:
        api.force_authenticate(user)
        visible = Case.objects.visible_to(user)
        for text in searches:
            for extra in filters:
                with CaptureQueriesContext(connection) as ctx:
                    response = api.get("/api/v1/cases/", {"q": text, **extra})
                assert response.status_code == 200, response.content
                expected = selectors.case_search(queryset=visible, text=text)
                if "status" in extra:
                    expected = expected.filter(status=extra["status"])
                if "coordinator" in extra:
                    expected = expected.filter(coordinator__username=extra["coordinator"])
                if "country" in extra:
                    expected = expected.filter(patient__country=extra["country"])
                body = response.json()
                assert body["count"] == expected.count(), (user, text, extra)
                assert {r["reference"] for r in body["results"]} == {c.reference for c in expected}
                if body["count"]:
                    assert any("CROSS JOIN LATERAL" in q["sql"] for q in ctx.captured_queries)
                    checked += 1
    assert checked > 20
    # The reference found both ways is counted once; the patient with two cases counts both.
    api.force_authenticate(world.alice)
    assert api.get("/api/v1/cases/", {"q": both.reference}).json()["count"] == 1
    assert api.get("/api/v1/cases/", {"q": "Ivanov"}).json()["count"] == 2
    assert second.reference in _api(api, "Ivanov")
    # Above the limit the total is null, as for any list.
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 1)
    assert api.get("/api/v1/cases/", {"q": "Ivanov"}).json()["count"] is None
    # Past the last page (no row carries the total) it is counted on its own, the same way.
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 1000)
    first = api.get("/api/v1/cases/", {"q": "Ivanov", "page_size": 2}).json()
    assert first["count"] == 2 and first["next"] is None


def test_a_common_names_count_is_left_to_the_plain_count_when_no_case_can_match(world, monkeypatch):
    monkeypatch.setattr(selectors, "COMMON_NAME_PATIENTS", -1)
    assert selectors.common_name_rows_to_count(queryset=Case.objects.none(), text="Ivanov") is None
    assert selectors.common_name_rows_to_count(queryset=Case.objects.all(), text="  ") is None
    monkeypatch.setattr(selectors, "COMMON_NAME_PATIENTS", 10**9)
    assert selectors.common_name_rows_to_count(queryset=Case.objects.all(), text="Ivanov") is None
