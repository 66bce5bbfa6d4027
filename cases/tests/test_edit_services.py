"""Editing patients, contacts and cases: the services the API and the admin hand over to."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from cases import services
from cases.models import Case, FamilyContact, Patient
from navigator.errors import DomainError


def test_case_update_changes_the_description_and_the_target_centres(world):
    case = services.case_update(
        case=world.case_a,
        actor=world.alice,
        data={"summary": "Second relapse", "priority": Case.Priority.URGENT, "target_centres": [world.ruijin]},
    )
    case = Case.objects.get(pk=case.pk)
    assert case.summary == "Second relapse" and case.priority == Case.Priority.URGENT
    assert list(case.target_centres.all()) == [world.ruijin]


def test_case_update_never_moves_a_case_to_another_patient(world):
    with pytest.raises(DomainError) as error:
        services.case_update(case=world.case_a, actor=world.alice, data={"patient": world.patient_b})
    assert error.value.field == "patient"
    assert Case.objects.get(pk=world.case_a.pk).patient == world.patient_a


def test_case_update_leaves_the_coordinator_to_the_assign_workflow(world):
    with pytest.raises(DomainError) as error:
        services.case_update(case=world.case_a, actor=world.alice, data={"coordinator": world.bob})
    assert error.value.field == "coordinator"
    assert Case.objects.get(pk=world.case_a.pk).coordinator == world.alice


def test_case_update_refuses_an_inquiry_date_in_the_future(world):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(DomainError) as error:
        services.case_update(case=world.case_a, actor=world.alice, data={"inquiry_date": tomorrow})
    assert error.value.field == "inquiry_date"


def test_case_update_refuses_the_status_which_moves_only_through_the_workflow(world):
    with pytest.raises(DomainError) as error:
        services.case_update(case=world.case_a, actor=world.alice, data={"status": "accepted"})
    assert error.value.field == "status"
    assert Case.objects.get(pk=world.case_a.pk).status == "inquiry"


def test_patient_create_and_patient_update_write_the_given_fields(world):
    patient = services.patient_create(
        actor=world.alice,
        data={"given_name": "Aru", "family_name": "Nurlanova", "date_of_birth": dt.date(2015, 1, 2), "country": "KZ"},
    )
    services.patient_update(patient=patient, actor=world.alice, data={"native_name": "Ару Нурланова"})
    patient = Patient.objects.get(pk=patient.pk)
    assert (patient.given_name, patient.native_name) == ("Aru", "Ару Нурланова")
    assert patient.history.count() == 2  # field-level history still kept


def test_contact_create_refuses_a_second_primary_contact(world):
    with pytest.raises(DomainError) as error:
        services.contact_create(
            actor=world.alice,
            data={"patient": world.patient_a, "name": "Ivan Ivanov", "phone": "+77010000000", "is_primary": True},
        )
    assert error.value.field == "is_primary"
    assert FamilyContact.objects.filter(patient=world.patient_a).count() == 1


def test_contact_update_keeps_the_primary_contact_primary(world):
    contact = services.contact_update(
        contact=world.contact_a, actor=world.alice, data={"is_primary": True, "name": "Olga I. Ivanova"}
    )
    assert FamilyContact.objects.get(pk=contact.pk).name == "Olga I. Ivanova"


def test_contact_delete_removes_the_contact(world):
    services.contact_delete(contact=world.contact_b, actor=world.alice)
    assert not FamilyContact.objects.filter(pk=world.contact_b.pk).exists()


# --- Through the API: the service writes, the audit mixin records it once ---------------------------


@pytest.fixture
def alice_api(world):
    client = APIClient()
    client.force_authenticate(world.alice)
    return client


def test_a_case_edited_through_the_api_goes_through_case_update_and_is_recorded_once(world, alice_api, monkeypatch):
    calls = []
    original = services.case_update
    monkeypatch.setattr(services, "case_update", lambda **kw: calls.append(kw) or original(**kw))
    response = alice_api.patch(f"/api/v1/cases/{world.case_a.pk}/", {"summary": "Referred twice"}, format="json")
    assert response.status_code == 200 and response.json()["summary"] == "Referred twice"
    assert [c["data"] for c in calls] == [{"summary": "Referred twice"}]
    events = AuditEvent.objects.filter(action="update", object_type="cases.Case", object_id=str(world.case_a.pk))
    assert [e.detail for e in events] == [{"via": "api", "fields": ["summary"]}]


def test_a_second_primary_contact_through_the_api_is_refused_with_a_400(world, alice_api):
    response = alice_api.post(
        "/api/v1/contacts/",
        {
            "patient": world.patient_a.pk,
            "name": "Ivan",
            "relationship": "father",
            "phone": "+77010000000",
            "is_primary": True,
        },
        format="json",
    )
    assert response.status_code == 400 and response.json()["fields"]
    assert FamilyContact.objects.filter(patient=world.patient_a).count() == 1


def test_a_contact_deleted_through_the_api_goes_through_contact_delete_and_is_recorded(world, alice_api):
    response = alice_api.delete(f"/api/v1/contacts/{world.contact_b.pk}/")
    assert response.status_code == 204
    assert not FamilyContact.objects.filter(pk=world.contact_b.pk).exists()
    assert AuditEvent.objects.filter(action="delete", object_type="cases.FamilyContact").count() == 1


def test_a_patient_created_through_the_api_is_recorded_once(world, alice_api):
    response = alice_api.post(
        "/api/v1/patients/",
        {
            "given_name": "Aru",
            "family_name": "Nurlanova",
            "date_of_birth": "2015-01-02",
            "sex": "female",
            "country": "KZ",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    events = AuditEvent.objects.filter(action="create", object_type="cases.Patient")
    assert [e.object_id for e in events] == [str(response.json()["id"])]


# --- Through the admin: the form validates, the service writes, the admin mixin records it ------------


@pytest.fixture
def alice_client(client, world):
    client.force_login(world.alice)
    return client


def _spy(monkeypatch, name):
    calls = []
    original = getattr(services, name)
    monkeypatch.setattr(services, name, lambda **kw: calls.append(kw) or original(**kw))
    return calls


def test_a_patient_edited_in_the_admin_goes_through_patient_update(alice_client, world, monkeypatch):
    from django.urls import reverse

    from navigator.testing import admin_form_data

    calls = _spy(monkeypatch, "patient_update")
    url = reverse("admin:cases_patient_change", args=[world.patient_a.pk])
    data = admin_form_data(alice_client.get(url))
    data["native_name"] = "Михаил Иванов"
    response = alice_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert [c["data"] for c in calls] == [{"native_name": "Михаил Иванов"}]
    assert Patient.objects.get(pk=world.patient_a.pk).native_name == "Михаил Иванов"
    event = AuditEvent.objects.get(action="update", object_type="cases.Patient")
    assert event.detail == {"via": "admin", "fields": ["native_name"]}


def test_a_contact_added_and_deleted_in_the_admin_goes_through_the_contact_services(alice_client, world, monkeypatch):
    from django.urls import reverse

    created, deleted = _spy(monkeypatch, "contact_create"), _spy(monkeypatch, "contact_delete")
    response = alice_client.post(
        reverse("admin:cases_familycontact_add"),
        {
            "patient": world.patient_b.pk,
            "name": "Chen Wei",
            "relationship": "father",
            "language": "zh-hans",
            "time_zone": "Asia/Singapore",
            "phone": "+6591234000",
            "receives_reminders": "on",
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    contact = FamilyContact.objects.get(name="Chen Wei")
    assert [c["data"]["name"] for c in created] == ["Chen Wei"] and contact.patient == world.patient_b
    response = alice_client.post(reverse("admin:cases_familycontact_delete", args=[contact.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert [c["contact"].name for c in deleted] == ["Chen Wei"]
    assert not FamilyContact.objects.filter(pk=contact.pk).exists()


def test_a_case_edited_in_the_admin_goes_through_case_update(alice_client, world, monkeypatch):
    from django.urls import reverse

    from navigator.testing import admin_form_data

    calls = _spy(monkeypatch, "case_update")
    url = reverse("admin:cases_case_change", args=[world.case_a.pk])
    data = admin_form_data(alice_client.get(url))
    data["summary"] = "Second relapse after transplant"
    response = alice_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert [c["data"]["summary"] for c in calls] == ["Second relapse after transplant"]
    assert Case.objects.get(pk=world.case_a.pk).summary == "Second relapse after transplant"
