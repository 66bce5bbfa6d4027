"""The supervisors' view: the funnel, times from inquiry, centres against their deadlines and
overdue work per coordinator, each an SVG chart with its numbers in a table beside it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Case
from desk.stats import percentile, service_figures
from hospitals.models import Referral, ReferralEvent
from scheduling.models import TreatmentEvent

from .stock import stock

pytestmark = pytest.mark.django_db


def test_percentiles_interpolate_between_closest_ranks():
    assert percentile([], 0.9) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9) == 9.1
    assert percentile([10.0, 0.0], 0.5) == 5.0


def _referred(case, hospital, *, sent_days: int, accepted_days: int | None = None, infused_days: int | None = None):
    start = dt.datetime.combine(case.inquiry_date, dt.time(12), tzinfo=dt.UTC)
    referral = Referral.objects.create(
        case=case,
        hospital=hospital,
        status="accepted" if accepted_days is not None else "sent",
        first_sent_at=start + dt.timedelta(days=sent_days),
        sent_at=start + dt.timedelta(days=sent_days),
        answered_at=start + dt.timedelta(days=accepted_days) if accepted_days is not None else None,
        response_due_at=start + dt.timedelta(days=sent_days + 7),
    )
    if accepted_days is not None:
        ReferralEvent.objects.create(
            referral=referral, from_status="sent", to_status="accepted", at=start + dt.timedelta(days=accepted_days)
        )
    if infused_days is not None:
        TreatmentEvent.objects.create(
            case=case, kind="infusion", status="done", occurred_on=case.inquiry_date + dt.timedelta(days=infused_days)
        )


def test_the_figures_count_days_from_inquiry(world):
    Case.objects.filter(pk__in=[world.case_a.pk, world.case_b.pk]).update(inquiry_date=dt.date(2026, 6, 1))
    world.case_a.refresh_from_db()
    world.case_b.refresh_from_db()
    world.referral_a.delete()
    _referred(world.case_a, world.pkuph, sent_days=10, accepted_days=20, infused_days=50)
    _referred(world.case_b, world.ruijin, sent_days=30, accepted_days=40)
    figures = service_figures(user=world.sam)
    durations = {row.label: row for row in figures.durations}
    assert (durations["Inquiry to referral"].median, durations["Inquiry to referral"].cases) == (20.0, 2)
    assert durations["Inquiry to referral"].p90 == 28.0
    assert durations["Inquiry to acceptance"].median == 30.0
    assert (durations["Inquiry to infusion"].median, durations["Inquiry to infusion"].cases) == (50.0, 1)
    centres = {row.name: row for row in figures.centres}
    pkuph = centres[world.pkuph.name_en]
    assert (pkuph.answered, pkuph.on_time, pkuph.late, pkuph.median_days) == (1, 0, 1, 10.0)
    assert figures.total_cases == 2
    assert {row.status: row.count for row in figures.funnel}["inquiry"] == 2


def test_unanswered_referrals_past_their_deadline_count_against_the_centre(world):
    Referral.objects.filter(pk=world.referral_a.pk).update(
        first_sent_at=timezone.now() - dt.timedelta(days=9), response_due_at=timezone.now() - dt.timedelta(days=2)
    )
    centres = {row.name: row for row in service_figures(user=world.sam).centres}
    assert centres[world.pkuph.name_en].overdue == 1


def test_overdue_items_are_counted_per_coordinator(world):
    stock(coordinator=world.alice, hospital=world.pkuph, n=3)
    stock(coordinator=world.bob, hospital=world.ruijin, n=1)
    rows = [(r.coordinator, r.overdue) for r in service_figures(user=world.sam).overdue_by_coordinator]
    # Each stocked case has an overdue milestone and an overdue follow-up visit.
    assert rows == [("alice", 6), ("bob", 2)]


def test_the_page_draws_each_chart_as_svg_with_its_table(world, client):
    stock(coordinator=world.alice, hospital=world.pkuph, n=2)
    client.force_login(world.sam)
    response = client.get("/admin/supervisors/")
    assert response.status_code == 200
    html = response.content.decode()
    for chart in ("funnel", "durations", "centres", "overdue"):
        assert f'aria-labelledby="chart-{chart}-title chart-{chart}-desc"' in html
        assert f'id="table-{chart}"' in html
    assert html.count('<svg class="nav-chart"') == 4
    assert " style=" not in html.split('id="content-main"')[1]  # the CSP refuses inline styles
    assert "<script" not in html.split('id="content-main"')[1]
    assert '<th scope="row">alice</th><td>4</td>' in html  # 2 overdue milestones, 2 follow-up visits


def test_only_supervisors_see_it(world, client):
    client.force_login(world.alice)
    assert client.get("/admin/supervisors/").status_code == 403
    assert b"Supervisors' view" not in client.get("/admin/").content


def test_the_supervisors_view_makes_as_many_queries_for_5_cases_as_for_200(world, client):
    client.force_login(world.sam)
    stock(coordinator=world.alice, hospital=world.pkuph, n=5)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/admin/supervisors/").status_code == 200
        return len(ctx.captured_queries)

    small = queries()
    stock(coordinator=world.bob, hospital=world.ruijin, n=195)
    assert queries() == small
