"""The case, patient and contact endpoints, per role."""

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from cases.models import Case, FamilyContact, Patient


@pytest.fixture
def api():
    return APIClient()


def as_user(api, user):
    api.force_authenticate(user)
    return api


def test_anonymous_callers_are_refused(api, world):
    response = api.get("/api/v1/cases/")
    assert response.status_code in (401, 403)
    assert set(response.json()) == {"code", "detail", "fields"}


def test_a_coordinator_lists_every_case(api, world):
    response = as_user(api, world.alice).get("/api/v1/cases/")
    assert response.status_code == 200
    refs = {row["reference"] for row in response.json()["results"]}
    assert refs == {world.case_a.reference, world.case_b.reference}


def test_my_caseload_filter(api, world):
    response = as_user(api, world.alice).get("/api/v1/cases/?mine=true")
    assert [row["reference"] for row in response.json()["results"]] == [world.case_a.reference]


def test_search_by_reference_and_native_name(api, world):
    client = as_user(api, world.alice)
    assert client.get(f"/api/v1/cases/?q={world.case_b.reference}").json()["results"][0]["id"] == world.case_b.pk
    assert client.get("/api/v1/cases/?q=陈小明").json()["results"][0]["id"] == world.case_b.pk


def test_a_family_reads_only_its_own_case(api, world):
    client = as_user(api, world.ivanova)
    listed = client.get("/api/v1/cases/").json()["results"]
    assert [row["id"] for row in listed] == [world.case_a.pk]
    assert client.get(f"/api/v1/cases/{world.case_a.pk}/").status_code == 200
    # Another family's case does not exist for them: 404, not 403.
    assert client.get(f"/api/v1/cases/{world.case_b.pk}/").status_code == 404


def test_a_family_cannot_change_its_case(api, world):
    client = as_user(api, world.ivanova)
    response = client.patch(f"/api/v1/cases/{world.case_a.pk}/", {"summary": "changed"})
    assert response.status_code == 403
    response = client.post(f"/api/v1/cases/{world.case_a.pk}/transition/", {"to_status": "records_collection"})
    assert response.status_code == 403
    world.case_a.refresh_from_db()
    assert world.case_a.summary == "" and world.case_a.status == "inquiry"


def test_a_hospital_sees_only_cases_sent_to_it(api, world):
    assert [r["id"] for r in as_user(api, world.dr_li).get("/api/v1/cases/").json()["results"]] == [world.case_a.pk]
    client = as_user(APIClient(), world.dr_wang)
    assert client.get("/api/v1/cases/").json()["results"] == []
    assert client.get(f"/api/v1/cases/{world.case_a.pk}/").status_code == 404


@pytest.mark.parametrize("endpoint", ["patients", "contacts"])
def test_patients_and_contacts_are_for_coordinators_only(api, world, endpoint):
    for user in (world.ivanova, world.dr_li):
        client = as_user(APIClient(), user)
        assert client.get(f"/api/v1/{endpoint}/").status_code == 403
    assert as_user(api, world.bob).get(f"/api/v1/{endpoint}/").status_code == 200


def test_a_coordinator_opens_a_case_with_a_reference(api, world):
    response = as_user(api, world.alice).post(
        "/api/v1/cases/",
        {
            "patient": world.patient_b.pk,
            "coordinator": "alice",
            "priority": 3,
            "target_centres": ["pkuph"],
            "summary": "Second relapse after haplo-SCT",
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"].startswith("NAV-") and body["status"] == "inquiry"
    assert body["target_centres"] == ["pkuph"]
    assert body["status_history"][0]["to_status"] == "inquiry"


def test_transitions_through_the_api(api, world):
    client = as_user(api, world.alice)
    ok = client.post(f"/api/v1/cases/{world.case_a.pk}/transition/", {"to_status": "records_collection"})
    assert ok.status_code == 200
    refused = client.post(f"/api/v1/cases/{world.case_a.pk}/transition/", {"to_status": "in_treatment"})
    assert refused.status_code == 400
    assert refused.json()["code"] == "transition_not_allowed"
    assert "cannot move" in refused.json()["fields"]["status"][0]
    no_reason = client.post(f"/api/v1/cases/{world.case_a.pk}/transition/", {"to_status": "withdrawn"})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["fields"]


def test_only_a_supervisor_reassigns_a_case(api, world):
    refused = as_user(api, world.bob).post(f"/api/v1/cases/{world.case_a.pk}/assign/", {"coordinator": "bob"})
    assert refused.status_code == 400 and "supervising" in refused.json()["detail"]
    ok = as_user(APIClient(), world.sam).post(f"/api/v1/cases/{world.case_a.pk}/assign/", {"coordinator": "bob"})
    assert ok.status_code == 200 and ok.json()["coordinator"] == "bob"


def test_assigning_an_unknown_user_is_a_field_error(api, world):
    response = as_user(api, world.sam).post(f"/api/v1/cases/{world.case_a.pk}/assign/", {"coordinator": "nobody"})
    assert response.status_code == 400
    assert "coordinator" in response.json()["fields"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"preferred_language": "xx"}, "preferred_language"),
        ({"country": "ZZ"}, "country"),
    ],
)
def test_bad_patient_data_is_refused_field_by_field(api, world, payload, field):
    data = {
        "given_name": "A",
        "family_name": "B",
        "date_of_birth": "2015-01-01",
        "sex": "male",
        "country": "RU",
        "preferred_language": "ru",
        "time_zone": "Europe/Moscow",
        **payload,
    }
    before = Patient.objects.count()
    response = as_user(api, world.alice).post("/api/v1/patients/", data)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert Patient.objects.count() == before


def test_a_bad_phone_number_is_refused(api, world):
    response = as_user(api, world.alice).post(
        "/api/v1/contacts/",
        {
            "patient": world.patient_a.pk,
            "name": "Ivan",
            "relationship": "father",
            "phone": "12345",
            "language": "ru",
            "time_zone": "Asia/Almaty",
        },
    )
    assert response.status_code == 400 and "phone" in response.json()["fields"]


def test_phone_numbers_are_stored_in_e164(api, world):
    response = as_user(api, world.alice).post(
        "/api/v1/contacts/",
        {
            "patient": world.patient_a.pk,
            "name": "Ivan",
            "relationship": "father",
            "phone": "+7 701 123 45 67",
            "language": "ru",
            "time_zone": "Asia/Almaty",
        },
    )
    assert response.status_code == 201, response.json()
    assert FamilyContact.objects.get(pk=response.json()["id"]).phone.as_e164 == "+77011234567"


def test_malformed_json_is_a_400_not_a_500(api, world):
    client = as_user(api, world.alice)
    response = client.generic("POST", "/api/v1/patients/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_a_future_inquiry_date_is_refused(api, world):
    response = as_user(api, world.alice).post(
        "/api/v1/cases/", {"patient": world.patient_a.pk, "inquiry_date": "2999-01-01"}
    )
    assert response.status_code == 400 and "inquiry_date" in response.json()["fields"]
    assert Case.objects.count() == 2


def test_reads_are_audited_with_role_and_address(api, world):
    as_user(api, world.ivanova).get(f"/api/v1/cases/{world.case_a.pk}/", REMOTE_ADDR="203.0.113.7")
    event = AuditEvent.objects.filter(action="view", case_id=world.case_a.pk).latest("id")
    assert (event.actor, event.actor_role, event.client_ip) == (world.ivanova, "family", "203.0.113.7")


def test_list_pages_are_audited_as_one_event_naming_every_row(api, world):
    as_user(api, world.alice).get("/api/v1/cases/", REMOTE_ADDR="203.0.113.8")
    (event,) = AuditEvent.objects.filter(action="list")
    assert (event.actor, event.actor_role, event.client_ip) == (world.alice, "coordinator", "203.0.113.8")
    assert event.object_type == "cases.Case"
    # Newest first, as the page showed them; more than one case, so the event is on none of them.
    assert event.detail["ids"] == [str(world.case_b.pk), str(world.case_a.pk)]
    assert event.detail["case_ids"] == sorted([world.case_a.pk, world.case_b.pk])
    assert event.case_id is None
    # Each case's trail (API, admin page, export) still shows that it was listed.
    for case in (world.case_a, world.case_b):
        assert list(AuditEvent.objects.for_case(case.pk).filter(action="list")) == [event]
        trail = as_user(APIClient(), world.bob).get(f"/api/v1/cases/{case.pk}/audit/").json()
        assert [e["action"] for e in trail if e["actor_label"] == "alice"] == ["list"]


def test_a_list_page_of_one_case_is_recorded_against_it(api, world):
    as_user(api, world.ivanova).get("/api/v1/cases/")
    (event,) = AuditEvent.objects.filter(action="list")
    assert (event.case_id, event.case_reference) == (world.case_a.pk, world.case_a.reference)
    assert event.object_id == str(world.case_a.pk) and event.detail["ids"] == [str(world.case_a.pk)]


def test_the_audit_trail_is_for_coordinators(api, world):
    as_user(api, world.alice).get(f"/api/v1/cases/{world.case_a.pk}/")
    trail = as_user(APIClient(), world.bob).get(f"/api/v1/cases/{world.case_a.pk}/audit/")
    assert trail.status_code == 200 and trail.json()[0]["actor_label"] in ("alice", "bob")
    assert as_user(APIClient(), world.ivanova).get(f"/api/v1/cases/{world.case_a.pk}/audit/").status_code == 403


def test_cursor_pagination_walks_every_case(api, world):
    from cases.factories import CaseFactory

    CaseFactory.create_batch(5)
    client = as_user(api, world.alice)
    seen, url = [], "/api/v1/cases/?page_size=2"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == Case.objects.count()


def test_the_fast_list_rows_match_the_documented_serializer(api, world):
    from cases.api.serializers import CaseListSerializer

    listed = as_user(api, world.alice).get("/api/v1/cases/").json()["results"]
    row = next(r for r in listed if r["id"] == world.case_b.pk)
    documented = CaseListSerializer(world.case_b).data
    assert set(row) == set(documented)
    for key in (
        "reference",
        "patient_name",
        "patient_native_name",
        "patient_age",
        "country",
        "status",
        "status_label",
        "coordinator",
        "priority",
    ):
        assert row[key] == documented[key], key


def test_an_unfiltered_page_skips_building_the_filter_form(api, world, monkeypatch):
    """The caseload page without filters costs no django-filter form; any other parameter does."""
    from cases.api.filters import CaseFilter

    built = []
    original = CaseFilter.__init__

    def spy(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(CaseFilter, "__init__", spy)
    client = as_user(api, world.alice)
    assert len(client.get("/api/v1/cases/?page_size=1").json()["results"]) == 1
    assert built == []
    assert client.get("/api/v1/cases/?status=bogus").status_code == 400
    assert [r["id"] for r in client.get("/api/v1/cases/?mine=true").json()["results"]] == [world.case_a.pk]
    assert len(built) == 2


def test_a_case_list_page_records_itself_in_its_own_query_as_audit_record_rows_would(api, world, monkeypatch):
    """On PostgreSQL the case list's page and its read event are one statement (audit.services.
    audit_page_in_its_query). Walking pages forward, back and with a page of one, each event is
    the one audit_record_rows writes for the rows shown, and each page sends one query for both."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.factories import CaseFactory

    CaseFactory.create_batch(4)
    client = as_user(api, world.alice)

    def walk(path):
        """(the events each page recorded, the ids each page showed, queries per page)."""
        events, shown, queries, url = [], [], [], path
        visited = []
        while url:
            before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
            with CaptureQueriesContext(connection) as ctx:
                body = client.get(url, REMOTE_ADDR="203.0.113.9").json()
            events.append(list(AuditEvent.objects.filter(id__gt=before, action="list")))
            shown.append([row["id"] for row in body["results"]])
            queries.append([q["sql"] for q in ctx.captured_queries])
            visited.append(body)
            url = body["next"]
        # And back: the previous pages show their rows in the same order, fetched the other way.
        url = visited[-1]["previous"]
        while url:
            before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
            body = client.get(url, REMOTE_ADDR="203.0.113.9").json()
            events.append(list(AuditEvent.objects.filter(id__gt=before, action="list")))
            shown.append([row["id"] for row in body["results"]])
            url = body["previous"]
        return events, shown, queries

    in_query = walk("/api/v1/cases/?page_size=2")
    from cases.api.views import CaseViewSet

    monkeypatch.setattr(CaseViewSet, "audit_page_columns", None)
    apart = walk("/api/v1/cases/?page_size=2")
    assert in_query[1] == apart[1] and len(in_query[1]) >= 5  # the same pages, forward and back
    fields = ("actor", "actor_label", "actor_role", "action", "object_type", "object_id", "case_id")
    for ours, theirs, ids in zip(in_query[0], apart[0], in_query[1], strict=True):
        assert len(ours) == len(theirs) == 1
        (a,), (b,) = ours, theirs
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]
        assert (a.case_reference, a.client_ip, a.detail) == (b.case_reference, b.client_ip, b.detail)
        assert a.detail["ids"] == [str(i) for i in ids]
    # One statement for the page and its event (the user, then the page): no INSERT of its own.
    for sql in in_query[2]:
        assert not any(q.startswith("INSERT INTO audit_auditevent") for q in sql), sql
        assert sum("INSERT INTO audit_auditevent" in q for q in sql) == 1
    # A page of one case is recorded against it, as before.
    client = as_user(APIClient(), world.ivanova)
    client.get("/api/v1/cases/")
    event = AuditEvent.objects.filter(action="list", actor=world.ivanova).get()
    assert (event.case_id, event.case_reference, event.object_id) == (
        world.case_a.pk,
        world.case_a.reference,
        str(world.case_a.pk),
    )
    # An empty page records nothing, with or without a query.
    assert as_user(APIClient(), world.bob).get("/api/v1/cases/?status=closed").json()["results"] == []
    assert as_user(APIClient(), world.bob).get("/api/v1/cases/?priority=-5").json()["results"] == []
    assert not AuditEvent.objects.filter(action="list", actor=world.bob).exists()


def test_the_case_list_page_is_a_statement_postgresql_prepares_once_per_connection(api, world):
    """The page and its audit event are planned once per connection (planning took longer than
    running them); Django's own statements stay unprepared, as Django sets the connection."""
    from django.db import connection

    client = as_user(api, world.alice)
    for _ in range(7):
        assert client.get("/api/v1/cases/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE statement LIKE 'WITH page AS%%'"
        )
        (runs,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement NOT LIKE 'WITH page AS%%'")
        (others,) = cursor.fetchone()
    assert runs == 7 and others == 0
    assert connection.connection.prepare_threshold is None
    assert AuditEvent.objects.filter(action="list", actor=world.alice).count() == 7
