"""The coordinator's workplace in the admin."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from cases.factories import CaseFactory, ContactFactory
from cases.models import Case, StatusChange


@pytest.fixture
def alice_client(client, world):
    client.force_login(world.alice)
    return client


def test_the_caseload_shows_reference_patient_status_and_next_due(alice_client, world):
    response = alice_client.get(reverse("admin:cases_case_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    for text in (world.case_a.reference, "Misha Ivanov", "Миша Иванов", "Inquiry", "alice"):
        assert text in page


@pytest.mark.parametrize("query", ["caseload=mine", "due=overdue", "status=active", "q=Ivanov", "country=KZ"])
def test_the_caseload_filters_work(alice_client, world, query):
    response = alice_client.get(reverse("admin:cases_case_changelist") + "?" + query)
    assert response.status_code == 200


def test_my_caseload_shows_only_my_cases(alice_client, world):
    page = alice_client.get(reverse("admin:cases_case_changelist") + "?caseload=mine").content.decode()
    assert world.case_a.reference in page and world.case_b.reference not in page


def _changelist_queries(client, cases):
    client.get(reverse("admin:cases_case_changelist"))  # warm the cached filter choices
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("admin:cases_case_changelist"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_changelist_costs_the_same_at_5_and_200_cases(alice_client, world):
    CaseFactory.create_batch(3)
    small = _changelist_queries(alice_client, 5)
    for _ in range(39):
        CaseFactory.create_batch(5)
    assert Case.objects.count() >= 200
    large = _changelist_queries(alice_client, 200)
    assert small == large


def test_the_change_form_shows_contacts_and_history_and_is_audited(alice_client, world):
    ContactFactory(patient=world.patient_a, name="Ivan Ivanov", relationship="father")
    url = reverse("admin:cases_case_change", args=[world.case_a.pk])
    page = alice_client.get(url, {"open": "overview,audit"}).content.decode()
    assert "Olga Ivanova" in page and "Ivan Ivanov" in page and "status history" in page.lower()
    assert AuditEvent.objects.filter(action="view", case_id=world.case_a.pk, actor=world.alice).exists()


def test_the_status_action_needs_a_reason_for_a_side_exit(alice_client, world):
    url = reverse("admin:cases_case_changelist")
    data = {
        "action": "action_transition",
        "_selected_action": [world.case_a.pk],
        "apply": "1",
        "to_status": "withdrawn",
        "reason": "",
    }
    alice_client.post(url, data)
    world.case_a.refresh_from_db()
    assert world.case_a.status == "inquiry"
    data["reason"] = "Family decided to stay home"
    alice_client.post(url, data)
    world.case_a.refresh_from_db()
    assert world.case_a.status == "withdrawn"
    assert StatusChange.objects.filter(
        case=world.case_a, to_status="withdrawn", reason="Family decided to stay home"
    ).exists()


def test_the_assign_action_is_for_supervisors_when_the_case_has_a_coordinator(client, world):
    client.force_login(world.bob)
    url = reverse("admin:cases_case_changelist")
    client.post(
        url,
        {"action": "action_assign", "_selected_action": [world.case_a.pk], "apply": "1", "coordinator": world.bob.pk},
    )
    world.case_a.refresh_from_db()
    assert world.case_a.coordinator == world.alice
    client.force_login(world.sam)
    client.post(
        url,
        {"action": "action_assign", "_selected_action": [world.case_a.pk], "apply": "1", "coordinator": world.bob.pk},
    )
    world.case_a.refresh_from_db()
    assert world.case_a.coordinator == world.bob


def test_editing_a_contact_from_the_case_page(alice_client, world):
    from navigator.testing import admin_form_data

    url = reverse("admin:cases_case_change", args=[world.case_a.pk])
    data = admin_form_data(alice_client.get(url, {"open": "overview"}))
    assert data["_section"] == ["overview"]
    data["contacts-0-phone"] = "not a phone"
    bad = alice_client.post(url, data)
    assert bad.status_code == 200  # the form comes back with the error
    assert "phone" in str(bad.context["inline_admin_formsets"][0].formset.errors)
    data["contacts-0-phone"] = "+7 701 765 43 21"
    good = alice_client.post(url, data)
    assert good.status_code == 302, good.context and good.context["errors"]
    world.contact_a.refresh_from_db()
    assert world.contact_a.phone.as_e164 == "+77017654321"


def test_families_and_hospitals_cannot_open_the_admin(client, world):
    for user in (world.ivanova, world.dr_li):
        client.force_login(user)
        response = client.get(reverse("admin:cases_case_changelist"))
        assert response.status_code == 302 and "login" in response["Location"]


def test_the_audit_trail_is_read_only_in_admin(alice_client, world):
    page = alice_client.get(reverse("admin:audit_auditevent_changelist") + f"?case_id={world.case_a.pk}")
    assert page.status_code == 200
    assert alice_client.get(reverse("admin:audit_auditevent_add")).status_code == 403


def _listed(client, query=""):
    page = client.get(reverse("admin:cases_case_changelist") + query).content.decode()
    return {ref for ref in Case.objects.values_list("reference", flat=True) if ref in page}


def test_the_filters_narrow_the_caseload(alice_client, world):
    from django.utils import timezone

    Case.objects.filter(pk=world.case_b.pk).update(
        next_due_at=timezone.now() - timezone.timedelta(days=2), next_due_title="Day 28 MRD result"
    )
    a, b = world.case_a.reference, world.case_b.reference
    assert _listed(alice_client, "?due=overdue") == {b}
    assert _listed(alice_client, "?due=none") == {a}
    assert _listed(alice_client, f"?coordinator={world.bob.pk}") == {b}
    assert _listed(alice_client, "?country=SG") == {b}
    assert _listed(alice_client, "?status=inquiry") == {a, b}
    assert _listed(alice_client, "?status=closed") == set()
    assert _listed(alice_client, "?q=陈小明") == {b}
    assert _listed(alice_client, f"?q={a}") == {a}


def test_overdue_is_marked_by_the_stylesheet_not_an_inline_style(alice_client, world):
    """The Content Security Policy refuses style attributes: the mark must come from a class."""
    from django.utils import timezone

    Case.objects.filter(pk=world.case_b.pk).update(next_due_at=timezone.now() - timezone.timedelta(days=2))
    response = alice_client.get(reverse("admin:cases_case_changelist"))
    page = response.content.decode()
    assert "style-src 'self'" in response["Content-Security-Policy"]
    assert 'class="nav-overdue"' in page and "cases/admin.css" in page
    assert 'style="' not in page


def test_every_admin_page_loads_the_navigator_stylesheet(alice_client, world):
    # Colours (overdue, outcomes) come from this stylesheet: the CSP refuses inline styles.
    page = alice_client.get(reverse("admin:index")).content.decode()
    assert "cases/admin.css" in page
    assert 'style="' not in alice_client.get(reverse("admin:cases_case_changelist")).content.decode().split("<body")[
        1
    ].split("</body>")[0].replace('style="display:none"', "")


def test_a_coordinator_never_deletes_a_case_whatever_the_database_grants(client, world):
    """accounts.backends: cases, patients, documents and records of what happened are never deleted
    by a coordinator. A delete permission granted to one in the database does not change that (and
    the case list answers it without reading the database's permissions); a supervisor may."""
    from django.contrib.auth.models import Permission

    from accounts.models import User

    world.alice.user_permissions.add(
        *Permission.objects.filter(codename__in=["delete_case", "delete_patient", "view_group"])
    )
    alice = User.objects.get(pk=world.alice.pk)
    assert not alice.has_perm("cases.delete_case") and not alice.has_perm("cases.delete_patient")
    assert alice.has_perm("auth.view_group")  # a grant outside the kept records still counts
    assert User.objects.get(pk=world.sam.pk).has_perm("cases.delete_case")
    client.force_login(world.alice)
    client.get(reverse("admin:cases_case_changelist"))  # the sidebar's list is worked out (and kept)
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(reverse("admin:cases_case_changelist"))
    assert 'value="delete_selected"' not in page.content.decode()
    assert not [q for q in ctx.captured_queries if "auth_permission" in q["sql"]]
    assert client.post(reverse("admin:cases_case_delete", args=[world.case_a.pk]), {"post": "yes"}).status_code == 403
    assert Case.objects.filter(pk=world.case_a.pk).exists()
