"""Every list's query parameters are checked: a wrongly typed value, a value outside the
documented choices, or a parameter the list does not take answers 400 in the one error shape,
naming the parameter. Never silently the unfiltered list, never a 500.

The guard walks the OpenAPI schema: every list of the router, every query parameter it
documents, a value of the wrong type for each.
"""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from navigator.filters import BooleanFilter, FilterSet, IntegerFilter

pytestmark = pytest.mark.django_db


def error_naming(response, parameter: str) -> list[str]:
    """The messages of a 400 in the one error shape that names ``parameter``."""
    assert response.status_code == 400, (parameter, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "detail", "fields"} and body["code"] == "invalid"
    assert parameter in body["fields"], (parameter, body)
    assert parameter in body["detail"]
    return body["fields"][parameter]


def garbage(parameter: dict) -> str | None:
    """A value of the wrong type for a documented query parameter; None for free text, which
    no value can get wrong."""
    schema = parameter["schema"]
    if schema.get("type") == "array":
        schema = schema["items"]
    if parameter["name"] == "cursor":
        return "not-a-cursor"
    if "enum" in schema:
        return "no-such-choice"
    if schema.get("type") == "boolean":
        return "yes"
    if schema.get("type") == "integer":
        return "1.5"
    if schema.get("type") == "number":
        return "twelve"
    if schema.get("format") == "date":
        return "2026-02-30"
    if schema.get("format") == "date-time":
        return "yesterday"
    return None


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def list_operations(schema) -> list[tuple[str, list[dict]]]:
    """Every list of the router: a GET without a path parameter that answers pages."""
    found = []
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if "{" in path or not get:
            continue
        parameters = [p for p in get.get("parameters", []) if p["in"] == "query"]
        if any(p["name"] == "page_size" for p in parameters):
            found.append((path, parameters))
    return found


def caller_for(path: str, world) -> APIClient:
    """A client that may read the list: a coordinator, or the centre for the centre's own lists."""
    client = APIClient()
    client.force_authenticate(world.alice)
    if client.get(path).status_code == 403:
        client.force_authenticate(world.dr_li)
    assert client.get(path).status_code == 200, path
    return client


def test_every_documented_filter_refuses_a_wrongly_typed_value_naming_it(schema, world):
    lists = list_operations(schema)
    assert len(lists) >= 30
    checked, free_text = 0, set()
    for path, parameters in lists:
        client = caller_for(path, world)
        for parameter in parameters:
            value = garbage(parameter)
            if value is None:
                free_text.add(parameter["name"])
                continue
            error_naming(client.get(path, {parameter["name"]: value}), parameter["name"])
            checked += 1
    assert checked >= 100
    # Only text is taken as it comes (searches, codes, names).
    assert free_text == {"q", "coordinator", "country", "name", "language", "case_reference"}


def test_every_list_refuses_a_parameter_it_does_not_take(schema, world):
    for path, parameters in list_operations(schema):
        messages = error_naming(caller_for(path, world).get(path, {"sort": "name"}), "sort")
        # The message lists what the list does take: exactly what the schema documents.
        documented = sorted([p["name"] for p in parameters] + ["format"])
        assert messages == [f"This list has no such parameter; it takes: {', '.join(documented)}."], path


def test_a_boolean_filter_takes_true_and_false_and_nothing_else(world, api):
    api.force_authenticate(world.alice)  # case A is hers, case B is Bob's
    mine = api.get("/api/v1/cases/?mine=true").json()["results"]
    assert world.case_a.pk in [c["id"] for c in mine] and world.case_b.pk not in [c["id"] for c in mine]
    everyone = [c["id"] for c in api.get("/api/v1/cases/?mine=false").json()["results"]]
    assert world.case_b.pk in everyone
    for word in ("yes", "1", "True", "on", "null"):
        assert error_naming(api.get(f"/api/v1/cases/?mine={word}"), "mine") == ["Give true or false."]
    # Empty is "not given", as an HTML form sends it.
    assert api.get("/api/v1/cases/?mine=").status_code == 200


def test_an_integer_filter_takes_whole_numbers_only(world, api):
    api.force_authenticate(world.alice)
    assert api.get("/api/v1/cases/?priority=1").status_code == 200
    for value in ("1.5", "1e3", "--1", "٣", "one"):
        assert error_naming(api.get("/api/v1/cases/", {"priority": value}), "priority") == [
            "Give a whole number, e.g. 42."
        ]
    assert error_naming(api.get("/api/v1/documents/?case=2.0"), "case")


def test_a_range_names_the_end_at_fault(world, api):
    api.force_authenticate(world.alice)
    response = api.get("/api/v1/documents/?clinical_date_after=2026-01-01&clinical_date_before=soon")
    error_naming(response, "clinical_date_before")
    assert "clinical_date_after" not in response.json()["fields"]
    assert "clinical_date" not in response.json()["fields"]
    error_naming(api.get("/api/v1/documents/?created_after=yesterday"), "created_after")


def test_a_single_valued_parameter_given_twice_is_refused(world, api):
    api.force_authenticate(world.alice)
    assert error_naming(api.get("/api/v1/cases/?mine=true&mine=false"), "mine") == ["Give this parameter once."]
    # A parameter that takes several values takes them.
    assert api.get("/api/v1/cases/?status=inquiry&status=eligibility_screening").status_code == 200


def test_a_choice_outside_the_documented_ones_is_refused_saying_what_to_give(world, api):
    api.force_authenticate(world.alice)
    [message] = error_naming(api.get("/api/v1/cases/?status=inquiry&status=finished"), "status")
    assert message.startswith("Give one of: inquiry, records_collection, ")
    assert error_naming(api.get("/api/v1/coordinator-tasks/?priority=9"), "priority") == ["Give one of: 1, 2, 3."]
    for value in ("abc", "999999"):
        assert error_naming(api.get("/api/v1/milestones/", {"case": value}), "case") == [
            "Give the id of an existing case."
        ]


def test_a_sub_list_refuses_what_it_does_not_take(world):
    client = APIClient()
    client.force_authenticate(world.dr_li)
    base = f"/api/v1/referrals/{world.referral_a.pk}"
    for path in (f"{base}/messages/", f"{base}/packets/", f"{base}/slots/"):
        assert client.get(path, {"updated_since": "2026-01-01T00:00:00Z"}).status_code == 200
        error_naming(client.get(path, {"status": "sent"}), "status")


def test_an_action_checks_its_own_parameters_by_the_same_rules(world, api):
    from hospitals.tests.conftest import add_document

    document = add_document(world.case_a, world.alice, "cd19_flow", "cd19-flow-report")
    api.force_authenticate(world.alice)
    download = f"/api/v1/documents/{document.pk}/download/"
    assert api.get(download, {"inline": "true"})["Content-Disposition"].startswith("inline")
    assert api.get(download, {"inline": "false"})["Content-Disposition"].startswith("attachment")
    assert error_naming(api.get(download, {"inline": "yes"}), "inline") == ["Give true or false."]
    checklist = "/api/v1/documents/checklist/"
    assert api.get(checklist, {"case": world.case_a.pk}).status_code == 200
    assert error_naming(api.get(checklist, {"case": "NAV-2026-00001"}), "case")
    assert error_naming(api.get(checklist), "case")


def test_every_filterset_is_strict(schema):
    """Every ViewSet's filterset is built on navigator's FilterSet, so none is lenient."""
    from django.urls import get_resolver
    from django_filters.rest_framework import DjangoFilterBackend

    from navigator.filters import FilterBackend

    seen = 0
    for pattern in _api_patterns(get_resolver()):
        view = getattr(pattern.callback, "cls", None)
        if view is None or getattr(view, "queryset", None) is None:
            continue
        for backend in getattr(view, "filter_backends", []):
            assert not issubclass(backend, DjangoFilterBackend) or issubclass(backend, FilterBackend), view
        filterset_class = FilterBackend().get_filterset_class(view, view.queryset.model.objects.none())
        if filterset_class is None:
            continue
        seen += 1
        assert issubclass(filterset_class, FilterSet), view
        for name, filter_ in filterset_class.base_filters.items():
            # django-filter's own booleans read "yes" as "not given"; its numbers take 1.5 for an id.
            if filter_.field_class.__name__ in {"NullBooleanField", "DecimalField"}:
                raise AssertionError(f"{view.__name__}.{name} is a lenient {type(filter_).__name__}")
    assert seen >= 20
    assert BooleanFilter.field_class.__name__ == "StrictBooleanField"
    assert IntegerFilter.field_class.__name__ == "StrictIntegerField"


def test_a_post_answering_several_objects_documents_no_list_parameters(schema):
    for path, method in (("/api/v1/eligibility-assessments/run/", "post"), ("/api/v1/referrals/{id}/slots/", "post")):
        operation = schema["paths"][path][method]
        assert not [p for p in operation.get("parameters", []) if p["in"] == "query"], path
        success = next(code for code in operation["responses"] if code.startswith("2"))
        assert operation["responses"][success]["content"]["application/json"]["schema"]["type"] == "array"


def _api_patterns(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _api_patterns(pattern, prefix + str(pattern.pattern))
        elif (prefix + str(pattern.pattern)).startswith("api/v1"):
            yield pattern


@pytest.fixture
def api():
    return APIClient()


def test_the_integration_guide_shows_what_the_api_answers(world):
    import json
    import re
    from pathlib import Path

    from django.conf import settings

    guide = (Path(settings.BASE_DIR) / "docs" / "integration-guide.md").read_text()
    request, body = re.search(r"For example `GET (\S+)` answers\s+`400 (\{.*?\})`\.", guide, re.S).groups()
    client = APIClient()
    client.force_authenticate(world.dr_li)
    response = client.get(request)
    assert response.status_code == 400
    assert response.json() == json.loads(body)


def test_a_case_filter_answers_a_case_the_caller_may_not_see_as_one_that_does_not_exist(schema, world):
    """Filtering by someone else's case id gives the same 400 as an id that was never used, so a
    centre or a family cannot learn which case ids exist (the model-choice filters look ids up
    among the caller's visible rows, accounts.access)."""
    hidden, never = world.case_b.pk, world.case_b.pk + 10_000
    checked = refused = 0
    for user in (world.dr_li, world.ivanova):
        client = APIClient()
        client.force_authenticate(user)
        for path, parameters in list_operations(schema):
            if client.get(path).status_code != 200:
                continue
            for name in (p["name"] for p in parameters if p["name"] == "case" or p["name"].endswith("__case")):
                seen = client.get(path, {name: world.case_a.pk})
                assert seen.status_code == 200, (user, path, name, seen.content[:200])
                answers = [client.get(path, {name: value}) for value in (hidden, never)]
                codes = [a.status_code for a in answers]
                # A model-choice filter refuses both ids alike; a plain id filter finds nothing for both.
                assert codes in ([400, 400], [200, 200]), (user, path, name, codes)
                if codes == [400, 400]:
                    assert answers[0].json()["fields"] == answers[1].json()["fields"], (user, path, name)
                    refused += 1
                else:
                    assert answers[0].json()["results"] == answers[1].json()["results"] == [], (user, path, name)
                checked += 1
    assert checked >= 4 and refused >= 2
