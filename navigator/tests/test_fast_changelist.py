"""The faster changelist rows (navigator/templatetags/navigator_admin_list.py) are Django's rows.

Every cell of the case list, rendered by Django's ``result_list`` and by ours from the same
changelist, must be the same HTML: plain, searched, sorted, filtered and as a pop-up."""

from __future__ import annotations

import pytest
from django.contrib.admin.templatetags.admin_list import result_list
from django.template.loader import get_template

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
