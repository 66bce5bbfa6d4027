"""The case page's sections are rendered only when opened: each on its own URL (fetched when it opens),
or in the page with ?open=. Each read is audited and checked per object, costs the same number of
queries whatever the case holds, and a save touches only the sections that came with it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from cases.admin import case_page_url
from cases.models import Case, FamilyContact
from cases.workplace import TABS
from navigator.testing import admin_form_data

from .test_workplace import _fill

pytestmark = pytest.mark.django_db
SECTIONS = [key for key, _title in TABS]


@pytest.fixture
def coordinator(world):
    client = Client()
    client.force_login(world.alice)
    return client


def _section(client, case, key, query=""):
    return client.get(f"/admin/cases/case/{case.pk}/section/{key}/{query}")


def _page(client, case, query=""):
    response = client.get(f"/admin/cases/case/{case.pk}/change/{query}")
    assert response.status_code == 200
    return response


def test_the_page_renders_no_section_until_one_is_opened(world, coordinator):
    _fill(world, 5)
    response = _page(coordinator, world.case_a)
    html = response.content.decode()
    assert response.context["inline_admin_formsets"] == []
    assert "Timeline, newest first" not in html and "contacts-TOTAL_FORMS" not in html
    assert 'id="iana-zones"' not in html
    # The section list leads to each section, in place with script, as a page without.
    for key in SECTIONS:
        assert f'<a href="?open={key}#tab-{key}" data-section="{key}">' in html


def test_a_section_named_by_open_is_rendered_in_the_page_and_only_it(world, coordinator):
    response = _page(coordinator, world.case_a, "?open=overview")
    html = response.content.decode()
    assert re.search(
        r'<details class="workplace-tab" id="tab-overview" data-section-url="[^"]+" data-loaded open>', html
    )
    assert '<input type="hidden" name="_section" value="overview">' in html
    assert "Timeline, newest first" in html and "contacts-TOTAL_FORMS" in html and "Olga Ivanova" in html
    assert [f.opts.workplace_tab for f in response.context["inline_admin_formsets"]] == ["overview"]
    assert re.search(r'<details class="workplace-tab" id="tab-records" data-section-url="[^"]+">', html)
    both = _page(coordinator, world.case_a, "?open=records,audit&open=nothing-such")
    assert {f.opts.workplace_tab for f in both.context["inline_admin_formsets"]} == {"records", "audit"}


@pytest.mark.parametrize("key", SECTIONS)
def test_each_section_answers_on_its_own_url_as_a_fragment_of_the_form(world, coordinator, key):
    response = _section(coordinator, world.case_a, key)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and "workplace-header" not in html  # a fragment, not a page
    assert f'<input type="hidden" name="_section" value="{key}">' in html
    assert response.context["inline_admin_formsets"], "every section holds at least one inline"
    assert all(f.opts.workplace_tab == key for f in response.context["inline_admin_formsets"])


def test_the_overview_section_holds_the_timeline_and_the_contacts(world, coordinator):
    html = _section(coordinator, world.case_a, "overview").content.decode()
    assert "Timeline, newest first" in html and "Olga Ivanova" in html
    _fill(world, 40)
    limited = _section(coordinator, world.case_a, "overview").content.decode()
    assert limited.count('<li class="timeline-') == 30
    assert 'href="?open=overview&amp;timeline=all#tab-overview"' in limited
    whole = _section(coordinator, world.case_a, "overview", "?timeline=all").content.decode()
    assert whole.count('<li class="timeline-') > 30


def test_a_section_read_is_recorded_naming_the_section(world, coordinator):
    before = AuditEvent.objects.count()
    assert _section(coordinator, world.case_a, "records").status_code == 200
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.action, e.object_type, e.case_id, e.actor_id) for e in events] == [
        ("view", "cases.Case", world.case_a.pk, world.alice.pk)
    ]
    assert events[0].detail == {"via": "admin", "page": "section", "section": "records"}


def test_a_section_of_a_case_the_user_may_not_see_is_not_found_and_not_recorded(world):
    # Chen's family may see case B only; as staff she would still find no case A.
    world.chen.is_staff = True
    world.chen.save()
    client = Client()
    client.force_login(world.chen)
    before = AuditEvent.objects.count()
    assert _section(client, world.case_a, "overview").status_code == 404
    assert _section(client, world.case_b, "overview").status_code == 403  # her own, but no admin access
    assert AuditEvent.objects.count() == before


def test_an_unknown_section_is_not_found_and_a_section_only_answers_a_read(world, coordinator):
    assert _section(coordinator, world.case_a, "everything").status_code == 404
    assert coordinator.post(f"/admin/cases/case/{world.case_a.pk}/section/overview/").status_code == 405
    assert (
        coordinator.get(f"/admin/cases/case/{Case.objects.order_by('-pk')[0].pk + 1}/section/audit/").status_code == 404
    )


@pytest.mark.parametrize("key", SECTIONS)
def test_each_section_costs_the_same_at_5_and_200_items_of_each_kind(world, coordinator, key):
    _fill(world, 5)
    _section(coordinator, world.case_a, key)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as small:
        assert _section(coordinator, world.case_a, key).status_code == 200
    _fill(world, 200)
    with CaptureQueriesContext(connection) as large:
        assert _section(coordinator, world.case_a, key).status_code == 200
    assert len(small.captured_queries) == len(large.captured_queries), [
        q["sql"][:120] for q in large.captured_queries[len(small.captured_queries) - 5 :]
    ]


def _rows(world, n: int) -> None:
    """n rows of each kind the overview and travel sections list as forms: contacts, travellers with a
    visa, journeys with a flight and a pickup, stays, interpreters, admissions."""
    from cases.factories import ContactFactory
    from travel.models import AirportPickup, InterpreterNeed
    from travel.services import travel_save
    from travel.tests.helpers import admission, day, journey, leg, stay, traveller, visa

    for i in range(FamilyContact.objects.filter(patient=world.patient_a).count() - 1, n):
        ContactFactory(patient=world.patient_a, name=f"Contact {i}")
        visa(traveller(world.case_a, world.alice, passport_number=f"N{i:08d}", given_names=f"A{i}"), world.alice)
        when = day(30 + i)
        flight = leg(
            journey(world.case_a, world.alice),
            world.alice,
            "ALA",
            "PEK",
            dt.datetime.combine(when, dt.time(8)),
            dt.datetime.combine(when, dt.time(16)),
        )
        travel_save(obj=AirportPickup(case=world.case_a, leg=flight, meet_at=flight.arrival_at), actor=world.alice)
        travel_save(obj=InterpreterNeed(case=world.case_a, language="ru", starts_on=when), actor=world.alice)
        stay(world.case_a, world.alice, when, when + dt.timedelta(days=3))
        admission(world.case_a, world.alice, world.pkuph, when + dt.timedelta(days=1))


@pytest.mark.parametrize("key", ["overview", "travel"])
def test_a_section_of_forms_costs_the_same_at_1_and_8_rows_of_each_kind(world, coordinator, key):
    _rows(world, 1)
    _section(coordinator, world.case_a, key)
    with CaptureQueriesContext(connection) as small:
        assert _section(coordinator, world.case_a, key).status_code == 200
    _rows(world, 8)
    with CaptureQueriesContext(connection) as large:
        assert _section(coordinator, world.case_a, key).status_code == 200
    assert len(small.captured_queries) == len(large.captured_queries), [
        q["sql"][:120] for q in large.captured_queries[len(small.captured_queries) - 5 :]
    ]


def test_the_page_carries_the_scripts_every_section_needs(world, coordinator):
    page = _page(coordinator, world.case_a).context["media"]
    for key in SECTIONS:
        response = _section(coordinator, world.case_a, key)
        for inline in response.context["inline_admin_formsets"]:
            missing = set(inline.media._js) - set(page._js)
            assert not missing, f"section {key} needs {missing}, which the case page does not load"
            assert set(inline.media._css.get("all", [])) <= set(page._css.get("all", [])), key
    assert "cases/case_sections.js" in page._js


def test_inline_prefixes_are_the_same_in_a_section_and_in_the_page(world, coordinator):
    """A section's forms are named as the page would name them: no two sections share an inline
    prefix, so leaving the others out renumbers nothing."""
    everything = _page(coordinator, world.case_a, "?open=" + ",".join(SECTIONS)).context["inline_admin_formsets"]
    in_page = {f.formset.prefix: f.opts.workplace_tab for f in everything}
    on_their_own = {
        f.formset.prefix: key
        for key in SECTIONS
        for f in _section(coordinator, world.case_a, key).context["inline_admin_formsets"]
    }
    assert in_page == on_their_own


def test_a_save_without_a_section_leaves_its_rows_alone(world, coordinator):
    url = f"/admin/cases/case/{world.case_a.pk}/change/"
    data = admin_form_data(_page(coordinator, world.case_a))
    assert "_section" not in data and not any(k.startswith("contacts-") for k in data)
    data["summary"] = "Relapse after transplant"
    assert coordinator.post(url, data).status_code == 302
    world.case_a.refresh_from_db()
    assert world.case_a.summary == "Relapse after transplant"
    assert FamilyContact.objects.get(pk=world.contact_a.pk).phone == world.contact_a.phone


def test_a_save_naming_a_section_without_its_forms_changes_nothing(world, coordinator):
    url = f"/admin/cases/case/{world.case_a.pk}/change/"
    data = admin_form_data(_page(coordinator, world.case_a))
    data.update({"_section": ["overview"], "summary": "Changed"})
    response = coordinator.post(url, data)
    assert response.status_code == 200  # the page again, with the error
    world.case_a.refresh_from_db()
    assert world.case_a.summary != "Changed"
    # The section that came with errors is rendered open in the page that answers.
    assert 'id="tab-overview" data-section-url' in response.content.decode()
    assert '<input type="hidden" name="_section" value="overview">' in response.content.decode()


def test_a_save_with_a_loaded_section_saves_its_rows(world, coordinator):
    url = f"/admin/cases/case/{world.case_a.pk}/change/"
    data = admin_form_data(_page(coordinator, world.case_a, "?open=overview"))
    data["contacts-0-phone"] = "+7 701 765 43 21"
    assert coordinator.post(url, data).status_code == 302
    world.contact_a.refresh_from_db()
    assert world.contact_a.phone.as_e164 == "+77017654321"


def test_save_and_continue_comes_back_with_the_same_sections_open(world, coordinator):
    url = f"/admin/cases/case/{world.case_a.pk}/change/"
    data = admin_form_data(_page(coordinator, world.case_a, "?open=audit,overview"))
    response = coordinator.post(url, {**data, "_continue": "1"})
    assert response.status_code == 302 and response["Location"] == f"{url}?open=overview,audit"


def test_actions_send_the_coordinator_back_to_their_section(world):
    assert case_page_url(world.case_a.pk, "records") == (
        f"/admin/cases/case/{world.case_a.pk}/change/?open=records#tab-records"
    )
    with pytest.raises(ValueError):
        case_page_url(world.case_a.pk, "nothing-such")


def test_the_case_page_goes_without_the_sidebar_and_other_pages_keep_it(world, coordinator):
    page = _page(coordinator, world.case_a)
    assert page.context["is_nav_sidebar_enabled"] is False and 'id="nav-sidebar"' not in page.content.decode()
    assert list(page.context["available_apps"]) == []
    listing = coordinator.get("/admin/cases/case/")
    assert listing.context["is_nav_sidebar_enabled"] is True and 'id="nav-sidebar"' in listing.content.decode()
