"""Reading medical data in the admin is recorded: list pages, record pages and field history."""

import io

import pytest
from django.urls import reverse

from audit.models import AuditEvent


@pytest.fixture
def alice_client(client, world):
    client.force_login(world.alice)
    return client


def dicom(seed: int) -> bytes:
    return b"\x00" * 128 + b"DICM" + bytes([seed]) * 512


def _events(**filters):
    return AuditEvent.objects.filter(detail__via="admin", actor_label="alice", **filters)


def test_the_case_list_records_its_page_as_one_read_naming_each_case(alice_client, world):
    response = alice_client.get(reverse("admin:cases_case_changelist"))
    assert response.status_code == 200
    (event,) = _events(action="list", object_type="cases.Case")
    # As the API's lists: one event, naming the rows in the page's order and the cases shown.
    assert event.detail["ids"] == [str(c.pk) for c in response.context["cl"].result_list]
    assert event.detail["case_ids"] == sorted([world.case_a.pk, world.case_b.pk]) and event.case_id is None
    for case in (world.case_a, world.case_b):
        assert list(AuditEvent.objects.for_case(case.pk).filter(action="list")) == [event]


def test_a_filtered_list_records_only_the_rows_it_showed(alice_client, world):
    alice_client.get(reverse("admin:cases_case_changelist") + "?caseload=mine")
    assert list(_events(action="list").values_list("case_id", flat=True)) == [world.case_a.pk]


def test_the_documents_and_patients_lists_are_recorded(alice_client, world):
    from documents.services import document_create

    document = document_create(
        case=world.case_b, file=io.BytesIO(dicom(3)), filename="scan.dcm", doc_type="imaging_study", actor=world.bob
    )
    alice_client.get(reverse("admin:documents_document_changelist"))
    alice_client.get(reverse("admin:cases_patient_changelist"))
    assert _events(action="list", object_type="documents.Document", object_id=str(document.pk)).exists()
    (patients,) = _events(action="list", object_type="cases.Patient")
    assert set(patients.detail["ids"]) == {str(world.patient_a.pk), str(world.patient_b.pk)}


def test_the_travellers_list_is_recorded_once_per_row(alice_client, world):
    from travel.models import Traveller
    from travel.services import travel_save

    travel_save(
        obj=Traveller(
            case=world.case_a,
            role=Traveller.Role.PATIENT,
            surname="IVANOV",
            given_names="MISHA",
            nationality="KZ",
            date_of_birth=world.patient_a.date_of_birth,
        ),
        actor=world.alice,
        via="test",
    )
    alice_client.get(reverse("admin:travel_traveller_changelist"))
    assert _events(action="list", object_type="travel.Traveller").count() == 1


def test_the_field_history_of_a_case_is_recorded_as_a_read(alice_client, world):
    response = alice_client.get(reverse("admin:cases_case_history", args=[world.case_a.pk]))
    assert response.status_code == 200
    event = _events(action="view", object_type="cases.Case").get()
    assert event.case_id == world.case_a.pk and event.detail["page"] == "history"


def test_an_old_version_of_a_patient_is_recorded_as_a_read(alice_client, world):
    version = world.patient_a.history.order_by("history_id").first()
    url = reverse("admin:cases_patient_simple_history", args=[world.patient_a.pk, version.history_id])
    assert alice_client.get(url).status_code == 200
    event = _events(action="view", object_type="cases.Patient").get()
    assert event.detail["version_id"] == str(version.history_id)


def test_an_action_posted_from_the_list_is_not_a_read(alice_client, world):
    alice_client.post(reverse("admin:cases_case_changelist"), {"action": "action_assign", "_selected_action": []})
    assert not _events(action="list").exists()
