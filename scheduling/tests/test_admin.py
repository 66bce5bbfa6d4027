"""The coordinator's workplace for dates: reminder rules that apply at once, a caseload list that stays cheap."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.factories import CaseFactory
from navigator.celery import app
from scheduling.models import Reminder, ReminderRule
from scheduling.services import milestone_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(world, client):
    world.alice.is_superuser = True
    world.alice.save()
    client.force_login(world.alice)
    return client


@pytest.fixture
def eager_tasks():
    # The task runs in this process, against the test database (configuration, not a stand-in).
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def _slots(milestone):
    return set(Reminder.objects.filter(milestone=milestone, status="pending").values_list("slot", flat=True))


def test_switching_off_a_reminder_rule_removes_the_unsent_reminders_it_planned(
    world, admin_client, eager_tasks, django_capture_on_commit_callbacks
):
    m = milestone_upsert(
        case=world.case_a, key="visa", kind="other", due_at=timezone.now() + dt.timedelta(days=10), title="Visa"
    ).milestone
    assert _slots(m) == {"-1d", "on the day"}
    rule = ReminderRule.objects.get(kind="other", offset_days=-1, is_escalation=False)
    data = {
        "kind": "other",
        "offset_days": "-1",
        "family_channels": rule.family_channels,
        "to_coordinator": "on",
        "to_family": "on",
    }  # is_active left out: unticked
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_client.post(f"/admin/scheduling/reminderrule/{rule.pk}/change/", data)
    assert r.status_code == 302
    assert _slots(m) == {"on the day"}

    # A new rule a week before is planned for the milestones already open.
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_client.post(
            "/admin/scheduling/reminderrule/add/",
            {**data, "offset_days": "-7", "is_active": "on"},
        )
    assert r.status_code == 302
    assert _slots(m) == {"-7d", "on the day"}


def _overdue_milestones(world, n):
    for i in range(n):
        case = CaseFactory(coordinator=world.alice)
        milestone_upsert(
            case=case, key=f"m{i}", kind="other", due_at=timezone.now() - dt.timedelta(days=1), title=f"Late {i}"
        )


def test_the_caseload_milestone_list_costs_the_same_queries_at_n_and_10n(world, admin_client):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get("/admin/scheduling/milestone/?due=overdue").status_code == 200
        return len(ctx.captured_queries)

    _overdue_milestones(world, 2)
    small = count()
    _overdue_milestones(world, 18)
    assert count() == small
