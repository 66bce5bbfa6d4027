"""The faster changelist rows and sidebar (navigator/templatetags/navigator_admin_list.py) are Django's.

Every cell of the case list, rendered by Django's ``result_list`` and by ours from the same
changelist, must be the same HTML: plain, searched, sorted, filtered and as a pop-up. The
sidebar must be the same HTML as Django's template writes for the same apps and page."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import result_list
from django.template.loader import get_template
from django.test.html import parse_html

from cases.factories import CaseFactory
from navigator.templatetags.navigator_admin_list import fast_result_list


@pytest.mark.parametrize(
    "query",
    ["", "?q=Ivanov", "?o=-2", "?o=3.-1", "?_popup=1&_to_field=id", "?q=NAV-2026-00001"],
)
def test_the_fast_rows_are_djangos_rows(client, world, query):
    for _ in range(3):
        CaseFactory(coordinator=world.alice)
    client.force_login(world.alice)
    response = client.get("/admin/cases/case/" + query)
    assert response.status_code == 200
    cl = response.context["cl"]
    assert cl.result_list, "the page must have rows to compare"
    # The template writes a row's items one after the other: a row is the same HTML when the
    # concatenation of its items is.
    django_rows = ["".join(str(cell) for cell in row) for row in result_list(cl)["results"]]
    our_rows = ["".join(str(cell) for cell in row) for row in fast_result_list(cl)["results"]]
    assert our_rows == django_rows
    # The whole table, headers included, as the changelist's template writes it.
    results = get_template("admin/change_list_results.html")
    request = response.wsgi_request
    assert results.render(fast_result_list(cl), request) == results.render(result_list(cl), request)
    # And the page is rendered with ours.
    assert 'class="field-reference"><a href="/admin/cases/case/' in response.content.decode()


def _djangos_template(name: str):
    """One of Django's own admin templates, even where the project overrides it."""
    import django.contrib.admin
    from django.template import engines

    path = Path(django.contrib.admin.__file__).parent / "templates" / name
    return engines["django"].from_string(path.read_text())


@pytest.mark.parametrize("who", ["alice", "sam"])
@pytest.mark.parametrize("page", ["/admin/cases/case/", "/admin/"])
def test_the_fast_sidebar_is_djangos_sidebar(client, world, who, page):
    user = getattr(world, who)
    client.force_login(user)
    response = client.get(page)
    assert response.status_code == 200
    request = response.wsgi_request
    apps = admin.site.get_app_list(request)
    assert len(apps) > 5, "the user must see several apps for the comparison to mean something"
    context = {"available_apps": apps, "request": request}
    ours = get_template("admin/nav_sidebar.html").render(context, request)
    djangos = _djangos_template("admin/nav_sidebar.html").render(context, request)
    assert parse_html(ours) == parse_html(djangos)
    if page != "/admin/":
        assert 'class="model-case current-model"' in ours
    # And the page shows ours.
    assert parse_html(ours) in parse_html(response.content.decode())


def test_the_fast_sidebar_says_so_when_there_is_nothing_to_show(rf):
    request = rf.get("/admin/")
    ours = get_template("admin/nav_sidebar.html").render({"available_apps": [], "request": request}, request)
    djangos = _djangos_template("admin/nav_sidebar.html").render({"available_apps": [], "request": request}, request)
    assert parse_html(ours) == parse_html(djangos)


def _plain(app_dict):
    """An app dict with its (possibly lazy) names as text."""
    return {
        label: {**app, "name": str(app["name"]), "models": [{**m, "name": str(m["name"])} for m in app["models"]]}
        for label, app in app_dict.items()
    }


@pytest.mark.parametrize("who", ["alice", "sam"])
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("label", [None, "cases"])
def test_the_quick_app_list_is_djangos_app_list(rf, world, who, method, label):
    request = getattr(rf, method)("/admin/")
    request.user = getattr(world, who)
    ours = admin.site._build_app_dict(request, label)
    djangos = admin.AdminSite._build_app_dict(admin.site, request, label)
    assert ours and _plain(ours) == _plain(djangos)
    assert admin.site._build_app_dict(request, label) == ours  # and again, from the names worked out once


def test_a_users_app_list_is_kept_for_a_while_and_follows_a_change_of_role(rf, world, monkeypatch):
    """The sidebar's list is worked out once per user for APP_LIST_SECONDS: the same list, without
    asking the permissions again; a new role is seen at once, a database grant once it expires."""
    from django.contrib.auth.models import Permission

    from navigator import admin as navigator_admin

    request = rf.get("/admin/")
    request.user = world.alice
    first = admin.site._build_app_dict(request)
    asked = []
    original = admin.ModelAdmin.get_model_perms
    monkeypatch.setattr(admin.ModelAdmin, "get_model_perms", lambda self, r: asked.append(self) or original(self, r))
    again = admin.site._build_app_dict(request)
    assert again == first and not asked
    # Each page gets its own copy: Django sorts the models of the list it is given in place.
    again["cases"]["models"].reverse()
    assert admin.site._build_app_dict(request) == first
    # A new role is part of the key: worked out again, and the list differs.
    world.alice.role = world.alice.Role.SUPERVISOR
    supervisor = admin.site._build_app_dict(request)
    assert asked and "accounts" in supervisor and supervisor != first
    assert _plain(supervisor) == _plain(admin.AdminSite._build_app_dict(admin.site, request))
    world.alice.role = world.alice.Role.COORDINATOR
    # A permission granted in the database shows once the kept list expires.
    world.alice.user_permissions.add(Permission.objects.get(codename="view_group"))
    fresh = type(world.alice).objects.get(pk=world.alice.pk)
    request.user = fresh
    assert "auth" not in first and "auth" not in admin.site._build_app_dict(request)  # still the kept list
    now = [navigator_admin.time.monotonic()]
    monkeypatch.setattr(
        navigator_admin.time, "monotonic", lambda: now[0] + navigator_admin.QuickAppListMixin.APP_LIST_SECONDS + 1
    )
    expired = admin.site._build_app_dict(request)
    assert _plain(expired) == _plain(admin.AdminSite._build_app_dict(admin.site, request))
    assert [m["object_name"] for m in expired["auth"]["models"]] == ["Group"]


def test_the_quick_app_list_follows_the_language(rf, world):
    from django.utils import translation

    request = rf.get("/admin/")
    request.user = world.sam
    with translation.override("ru"):
        ours = _plain(admin.site._build_app_dict(request))
        djangos = _plain(admin.AdminSite._build_app_dict(admin.site, request))
    assert ours == djangos
    assert ours["auth"]["name"] == "Пользователи и группы"  # Russian, so the comparison means something


@pytest.mark.parametrize("query", ["", "?status=referred", "?_facets=1", "?caseload=mine&due=overdue", "?priority=1"])
def test_the_fast_filters_are_djangos_filters(client, world, query):
    from django.contrib.admin.templatetags.admin_list import admin_list_filter

    from navigator.templatetags.navigator_admin_list import list_filter_html

    CaseFactory(coordinator=world.alice, status="referred")
    client.force_login(world.alice)
    response = client.get("/admin/cases/case/" + query)
    assert response.status_code == 200
    cl = response.context["cl"]
    assert len(cl.filter_specs) >= 5
    page = parse_html(response.content.decode())
    for spec in cl.filter_specs:
        ours = parse_html(list_filter_html(cl, spec))
        assert ours == parse_html(admin_list_filter(cl, spec)), spec.title
        assert ours in page  # the page shows ours
