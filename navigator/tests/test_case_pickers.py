"""Every admin form that picks a case does so by reference or patient name, through the case search."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client

from cases.models import Case

pytestmark = pytest.mark.django_db


def _case_pickers():
    for model, model_admin in admin.site._registry.items():
        for field in model._meta.get_fields():
            if field.many_to_one and field.concrete and getattr(field.remote_field, "model", None) is Case:
                yield model, model_admin, field.name


def test_every_admin_with_a_case_field_picks_it_by_autocomplete(rf, world):
    request = rf.get("/admin/")
    request.user = world.alice
    pickers = list(_case_pickers())
    assert len(pickers) >= 10
    missing = [
        f"{model._meta.label}.{name}"
        for model, model_admin, name in pickers
        if name not in model_admin.get_autocomplete_fields(request)
    ]
    assert not missing, missing


@pytest.mark.parametrize("path", ["/admin/hospitals/referral/add/", "/admin/travel/journey/add/"])
def test_the_referral_and_journey_forms_search_cases_by_reference_or_name(world, path):
    client = Client()
    client.force_login(world.alice)
    page = client.get(path).content.decode()
    assert 'data-field-name="case"' in page and "admin-autocomplete" in page
    app_label, model_name = path.split("/")[2:4]
    url = "/admin/autocomplete/"
    params = {"app_label": app_label, "model_name": model_name, "field_name": "case"}
    by_reference = client.get(url, {**params, "term": world.case_a.reference}).json()
    assert [r["id"] for r in by_reference["results"]] == [str(world.case_a.pk)]
    by_name = client.get(url, {**params, "term": "Ivanov"}).json()
    assert str(world.case_a.pk) in [r["id"] for r in by_name["results"]]
    family = Client()
    family.force_login(world.chen)
    assert family.get(url, {**params, "term": world.case_a.reference}).status_code in (302, 403)
