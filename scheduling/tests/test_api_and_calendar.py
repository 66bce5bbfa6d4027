import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar
from rest_framework.test import APIClient

from audit.models import AuditEvent
from cases.factories import CaseFactory
from scheduling.models import CoordinatorTask, Milestone
from scheduling.services import event_record, milestone_upsert

pytestmark = pytest.mark.django_db


def _client(user):
    c = APIClient()
    c.force_authenticate(user)
    return c


def _infusion(world, days=10):
    return event_record(
        case=world.case_a,
        kind="infusion",
        occurred_on=timezone.localdate() + dt.timedelta(days=days),
        actor=world.alice,
        hospital=world.pkuph,
    )


def test_a_coordinator_records_an_infusion_and_hears_what_moved(world):
    _infusion(world)
    r = _client(world.alice).post(
        "/api/v1/treatment-events/",
        {"case": world.case_a.pk, "kind": "infusion", "occurred_on": str(timezone.localdate() + dt.timedelta(days=13))},
    )
    assert r.status_code == 201, r.content
    assert {m["key"] for m in r.json()["changes"]["moved"]} >= {"pathway:mrd_day28", "pathway:mrd_day60"}


def test_a_bad_event_date_is_a_field_error(world):
    r = _client(world.alice).post(
        "/api/v1/treatment-events/",
        {"case": world.case_a.pk, "kind": "infusion", "occurred_on": "2099-01-01", "status": "done"},
    )
    assert r.status_code == 400
    assert "occurred_on" in r.json()["fields"]


def test_a_family_cannot_record_events(world):
    r = _client(world.ivanova).post(
        "/api/v1/treatment-events/",
        {"case": world.case_a.pk, "kind": "infusion", "occurred_on": str(timezone.localdate())},
    )
    assert r.status_code == 403


def test_a_family_sees_its_own_milestones_that_concern_it_only(world):
    _infusion(world)
    milestone_upsert(
        case=world.case_a, key="internal", kind="other", due_at=timezone.now() + dt.timedelta(days=1), title="MDT"
    )
    r = _client(world.ivanova).get("/api/v1/milestones/")
    keys = {m["key"] for m in r.json()["results"]}
    assert "pathway:mrd_day28" in keys and "internal" not in keys
    assert not _client(world.chen).get("/api/v1/milestones/").json()["results"]
    other = Milestone.objects.get(case=world.case_a, key="pathway:mrd_day28")
    assert _client(world.chen).get(f"/api/v1/milestones/{other.pk}/").status_code == 404


def test_an_mrd_result_is_recorded_through_the_api_and_a_positive_day_28_opens_a_task(world):
    _infusion(world, days=-28)
    r = _client(world.alice).post(
        "/api/v1/mrd-results/",
        {
            "case": world.case_a.pk,
            "checkpoint": "day28",
            "sample_date": str(timezone.localdate()),
            "method": "flow",
            "value": "0.001",
            "result": "positive",
            "complete_remission": True,
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    task = CoordinatorTask.objects.get()
    r = _client(world.alice).post(f"/api/v1/coordinator-tasks/{task.pk}/complete/")
    assert r.status_code == 200 and r.json()["status"] == "done"
    assert _client(world.alice).post(f"/api/v1/coordinator-tasks/{task.pk}/complete/").status_code == 409
    assert _client(world.ivanova).get("/api/v1/coordinator-tasks/").status_code == 403


def test_an_mrd_result_for_a_case_the_hospital_cannot_see_is_refused(world):
    r = _client(world.alice).post(
        "/api/v1/mrd-results/",
        {
            "case": world.case_a.pk,
            "checkpoint": "day28",
            "sample_date": str(timezone.localdate()),
            "method": "flow",
            "value": "0.5",
            "result": "negative",
            "complete_remission": True,
        },
        format="json",
    )
    assert r.status_code == 400 and "value" in r.json()["fields"]


def test_the_milestone_list_costs_the_same_queries_at_n_and_10n(world):
    client = _client(world.alice)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/milestones/").status_code == 200
        return len(ctx.captured_queries)

    for i in range(3):
        milestone_upsert(case=world.case_a, key=f"a{i}", kind="other", due_at=timezone.now(), title="x")
    small = count()
    for i in range(30):
        case = CaseFactory(coordinator=world.alice)
        milestone_upsert(case=case, key=f"b{i}", kind="other", due_at=timezone.now(), title="x")
    assert count() == small


def test_the_family_downloads_its_calendar_and_the_download_is_audited(world):
    _infusion(world)
    url = reverse("case-milestones-ics", args=[world.case_a.pk])
    r = _client(world.ivanova).get(url)
    assert r.status_code == 200 and r["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    summaries = [str(e["summary"]) for e in cal.walk("VEVENT")]
    assert any("Day-28 MRD" in s for s in summaries)
    assert AuditEvent.objects.filter(action="download", actor=world.ivanova).exists()


def test_another_familys_calendar_does_not_exist(world):
    url = reverse("case-milestones-ics", args=[world.case_a.pk])
    assert _client(world.chen).get(url).status_code == 404
    assert _client(world.dr_wang).get(url).status_code == 404
    assert APIClient().get(url).status_code in (401, 403)


def test_the_admin_lists_my_overdue_milestones_by_default(world, client):
    world.alice.is_superuser = True
    world.alice.save()
    milestone_upsert(
        case=world.case_a, key="late", kind="other", due_at=timezone.now() - dt.timedelta(days=2), title="Late one"
    )
    milestone_upsert(
        case=world.case_b, key="bobs", kind="other", due_at=timezone.now() - dt.timedelta(days=2), title="Bob's"
    )
    client.force_login(world.alice)
    r = client.get("/admin/scheduling/milestone/?due=overdue")
    assert r.status_code == 200
    assert b"Late one" in r.content and b"Bob&#x27;s" not in r.content
    r = client.get("/admin/scheduling/milestone/?due=week&caseload=all")
    assert r.status_code == 200
    for path in ("reminder", "reminderrule", "coordinatortask", "treatmentevent", "mrdresult"):
        assert client.get(f"/admin/scheduling/{path}/").status_code == 200
    assert client.get("/admin/scheduling/treatmentevent/add/").status_code == 200
