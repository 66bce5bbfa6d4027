"""What the Today page posts to: saved case-list filters, reassignment by a supervisor, and
each member of staff's own time zone, in which every admin time is shown with its zone named."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from cases.models import Case
from desk.models import SavedFilter
from scheduling.models import Milestone

pytestmark = pytest.mark.django_db


# --- saved filters -----------------------------------------------------------------------------


def test_a_coordinator_saves_the_case_list_query_and_finds_it_on_today(world, client):
    client.force_login(world.alice)
    listing = client.get("/admin/cases/case/?status=referred&due=overdue&p=2")
    assert b"Save this filter" in listing.content
    response = client.post(
        "/admin/saved-filters/",
        {"name": "Referred, overdue", "query": "status=referred&due=overdue&p=2", "next": "/admin/cases/case/"},
    )
    assert response.status_code == 302 and response["Location"] == "/admin/cases/case/"
    saved = SavedFilter.objects.get(user=world.alice)
    assert saved.query == "status=referred&due=overdue"  # the page number is not part of a filter
    today = client.get("/admin/").content.decode()
    assert 'href="/admin/cases/case/?status=referred&amp;due=overdue"' in today
    assert "Referred, overdue" in today


def test_saving_under_the_same_name_replaces_the_query(world, client):
    client.force_login(world.alice)
    client.post("/admin/saved-filters/", {"name": "Mine", "query": "caseload=mine"})
    client.post("/admin/saved-filters/", {"name": "Mine", "query": "caseload=mine&status=active"})
    assert list(SavedFilter.objects.values_list("name", "query")) == [("Mine", "caseload=mine&status=active")]


def test_a_filter_without_a_name_is_refused_and_nothing_is_saved(world, client):
    client.force_login(world.alice)
    response = client.post("/admin/saved-filters/", {"name": "  ", "query": "status=referred"}, follow=True)
    assert "Give the filter a name" in response.content.decode()
    assert not SavedFilter.objects.exists()


def test_saved_filters_are_each_coordinators_own(world, client):
    theirs = SavedFilter.objects.create(user=world.bob, name="Bob's", query="caseload=mine")
    client.force_login(world.alice)
    assert "Bob&#x27;s" not in client.get("/admin/").content.decode()
    response = client.post(f"/admin/saved-filters/{theirs.pk}/delete/", follow=True)
    assert "does not exist" in response.content.decode()
    assert SavedFilter.objects.filter(pk=theirs.pk).exists()
    mine = SavedFilter.objects.create(user=world.alice, name="Mine", query="caseload=mine")
    client.post(f"/admin/saved-filters/{mine.pk}/delete/")
    assert not SavedFilter.objects.filter(pk=mine.pk).exists()


def test_saving_needs_a_post(world, client):
    client.force_login(world.alice)
    assert client.get("/admin/saved-filters/").status_code == 405


# --- reassignment ------------------------------------------------------------------------------


def test_a_supervisor_reassigns_a_case_from_the_team_view(world, client):
    client.force_login(world.sam)
    response = client.post(
        "/admin/reassign/",
        {
            "reference": world.case_a.reference.lower(),
            "coordinator": world.bob.pk,
            "reason": "Alice on leave",
            "next": "/admin/?scope=team",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/admin/?scope=team"
    assert f"{world.case_a.reference} is now bob&#x27;s case." in response.content.decode()
    assert Case.objects.get(pk=world.case_a.pk).coordinator == world.bob
    event = AuditEvent.objects.filter(case_id=world.case_a.pk, action="update", actor=world.sam).latest("id")
    assert event.detail["coordinator"] == {"from": "alice", "to": "bob"}


def test_a_coordinator_cannot_reassign(world, client):
    client.force_login(world.alice)
    response = client.post("/admin/reassign/", {"reference": world.case_b.reference, "coordinator": world.alice.pk})
    assert response.status_code == 403
    assert Case.objects.get(pk=world.case_b.pk).coordinator == world.bob


@pytest.mark.parametrize(
    ("reference", "coordinator", "message"),
    [
        ("NAV-1999-99999", "bob", "No case"),
        ("case_a", "", "Choose the coordinator"),
        ("case_a", "ivanova", "Choose an active coordinator"),
    ],
)
def test_a_bad_reassignment_says_what_to_fix_and_changes_nothing(world, client, reference, coordinator, message):
    client.force_login(world.sam)
    data = {
        "reference": world.case_a.reference if reference == "case_a" else reference,
        "coordinator": getattr(world, coordinator).pk if coordinator else "",
    }
    response = client.post("/admin/reassign/", data, follow=True)
    assert message in response.content.decode()
    assert Case.objects.get(pk=world.case_a.pk).coordinator == world.alice


# --- time zone ---------------------------------------------------------------------------------


def test_admin_times_are_in_the_coordinators_zone_with_the_zone_named(world, client):
    due = dt.datetime(2026, 12, 10, 11, 0, tzinfo=dt.UTC)
    Milestone.objects.create(case=world.case_a, key="other:x", kind="other", title="Call the embassy", due_at=due)
    world.alice.time_zone = "Europe/Berlin"
    world.alice.save()
    client.force_login(world.alice)
    listing = client.get("/admin/scheduling/milestone/?due=all").content.decode()
    assert "10 Dec 2026 12:00 CET" in listing
    assert "Times in Europe/Berlin" in listing
    page = client.get(f"/admin/scheduling/milestone/{Milestone.objects.get(key='other:x').pk}/change/")
    assert "10 Dec 2026 12:00 CET" in page.content.decode()


def test_today_shows_its_times_in_the_coordinators_zone(world, client):
    Milestone.objects.create(
        case=world.case_a,
        key="other:y",
        kind="other",
        title="Overdue call",
        due_at=dt.datetime(2025, 1, 5, 8, 30, tzinfo=dt.UTC),
    )
    world.alice.time_zone = "Asia/Shanghai"
    world.alice.save()
    client.force_login(world.alice)
    html = client.get("/admin/").content.decode()
    assert "16:30 CST" in html and "Shown in Asia/Shanghai" in html


def test_a_coordinator_chooses_a_time_zone(world, client):
    client.force_login(world.alice)
    page = client.get("/admin/time-zone/")
    assert b'<option value="Europe/Berlin">' in page.content
    response = client.post("/admin/time-zone/", {"time_zone": "Europe/Berlin", "next": "/admin/"})
    assert response.status_code == 302
    world.alice.refresh_from_db()
    assert world.alice.time_zone == "Europe/Berlin"


def test_an_unknown_time_zone_is_refused_with_the_fix(world, client):
    client.force_login(world.alice)
    response = client.post("/admin/time-zone/", {"time_zone": "Mars/Olympus"})
    assert response.status_code == 200 and "is not a known time zone" in response.content.decode()
    world.alice.refresh_from_db()
    assert world.alice.time_zone == "UTC"


def test_the_portal_keeps_the_familys_zone(world, client):
    world.ivanova.time_zone = "Asia/Almaty"
    world.ivanova.save()
    client.force_login(world.alice)
    client.get("/admin/")
    assert timezone.get_current_timezone_name() == "UTC"  # the admin's zone ends with its request
