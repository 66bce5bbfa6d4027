"""Requests for records, their milestones, and the checklist a centre's review needs."""

import datetime as dt
import io

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from documents import selectors, services
from documents.models import DocumentRequest
from navigator.errors import DomainError
from scheduling.models import Milestone

from .conftest import dicom_bytes

URL = "/api/v1/document-requests/"


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def doc(case, actor, doc_type, seed):
    return services.document_create(
        case=case, file=io.BytesIO(dicom_bytes(seed) + bytes([seed])), filename="f.dcm", doc_type=doc_type, actor=actor
    )


def states(case):
    return {item.key: item for item in selectors.checklist_for(case)}


def test_a_coordinator_requests_a_record_and_its_due_date_becomes_a_family_milestone(world):
    due = timezone.localdate() + dt.timedelta(days=5)
    response = client_for(world.alice).post(
        URL,
        {
            "case": world.case_a.pk,
            "doc_type": "cd19_flow",
            "description": "Latest CD19 flow report",
            "due_date": str(due),
            "asked_contact": world.contact_a.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    req = DocumentRequest.objects.get(pk=response.json()["id"])
    milestone = Milestone.objects.get(case=world.case_a, key=f"document-request:{req.pk}")
    assert milestone.concerns_family and timezone.localtime(milestone.due_at, dt.UTC).date() >= due - dt.timedelta(
        days=1
    )
    # The family's upload answers it; accepting the document fulfils it and cancels the milestone.
    document = doc(world.case_a, world.ivanova, "cd19_flow", 1)
    assert document.request == req
    services.document_accept(document=document, actor=world.alice)
    req.refresh_from_db()
    milestone.refresh_from_db()
    assert req.status == "fulfilled" and milestone.status == "cancelled"


def test_cancelling_a_request_cancels_its_milestone(world):
    req = services.document_request_create(
        case=world.case_a,
        doc_type="mrd_report",
        description="MRD",
        actor=world.alice,
        due_date=timezone.localdate() + dt.timedelta(days=3),
    )
    response = client_for(world.alice).post(f"{URL}{req.pk}/cancel/", {"reason": "not needed"}, format="json")
    assert response.json()["status"] == "cancelled"
    assert Milestone.objects.get(key=f"document-request:{req.pk}").status == "cancelled"
    assert client_for(world.alice).post(f"{URL}{req.pk}/cancel/", {}, format="json").status_code == 400


def test_request_checks_name_the_field(world):
    with pytest.raises(DomainError) as info:
        services.document_request_create(
            case=world.case_a,
            doc_type="cd19_flow",
            description="x",
            actor=world.alice,
            due_date=timezone.localdate() - dt.timedelta(days=1),
        )
    assert info.value.field == "due_date"
    with pytest.raises(DomainError) as info:
        services.document_request_create(
            case=world.case_a, doc_type="cd19_flow", description="x", actor=world.alice, asked_contact=world.contact_b
        )
    assert info.value.field == "asked_contact"


def test_families_see_requests_addressed_to_them_and_never_another_familys(world):
    mine = services.document_request_create(
        case=world.case_a, doc_type="cd19_flow", description="x", actor=world.alice, asked_contact=world.contact_a
    )
    services.document_request_create(case=world.case_b, doc_type="cd19_flow", description="y", actor=world.alice)
    to_hospital = services.document_request_create(
        case=world.case_a, doc_type="mrd_report", description="z", actor=world.alice, asked_user=world.dr_li
    )
    assert [r["id"] for r in client_for(world.ivanova).get(URL).json()["results"]] == [mine.pk]
    assert [r["id"] for r in client_for(world.dr_li).get(URL).json()["results"]] == [to_hospital.pk]
    assert client_for(world.chen).get(f"{URL}{mine.pk}/").status_code == 404
    assert client_for(world.ivanova).post(URL, {}, format="json").status_code == 403


def test_the_checklist_shows_each_state(world):
    today = timezone.localdate()
    accepted = doc(world.case_a, world.alice, "diagnosis_pathology", 1)
    services.document_accept(document=accepted, actor=world.alice)
    doc(world.case_a, world.ivanova, "cd19_flow", 2)  # received, in review
    rejected = doc(world.case_a, world.ivanova, "bone_marrow", 3)
    services.document_reject(document=rejected, actor=world.alice, reason="Wrong patient name")
    services.document_request_create(
        case=world.case_a,
        doc_type="mrd_report",
        description="MRD",
        actor=world.alice,
        due_date=today + dt.timedelta(days=3),
    )
    overdue = services.document_request_create(
        case=world.case_a,
        doc_type="cytogenetics",
        description="BCR::ABL1",
        actor=world.alice,
        due_date=today + dt.timedelta(days=1),
    )
    DocumentRequest.objects.filter(pk=overdue.pk).update(due_date=today - dt.timedelta(days=2))

    items = states(world.case_a)
    assert items["diagnosis"].state == "satisfied" and items["diagnosis"].documents == [accepted.pk]
    assert items["cd19"].state == "in_review"
    assert items["bone_marrow"].state == "rejected" and items["bone_marrow"].rejection_reason == "Wrong patient name"
    assert items["mrd"].state == "requested"
    assert items["cytogenetics"].state == "overdue"
    assert items["passport"].state == "missing" and items["transplant"].required is False
    response = client_for(world.ivanova).get(f"/api/v1/documents/checklist/?case={world.case_a.pk}")
    assert {i["key"]: i["state"] for i in response.json()}["cytogenetics"] == "overdue"
    assert client_for(world.chen).get(f"/api/v1/documents/checklist/?case={world.case_a.pk}").status_code == 404


def test_the_checklist_costs_two_queries_whatever_the_case_holds(world, django_assert_num_queries):
    for i in range(6):
        doc(world.case_a, world.alice, "other", i)
    with django_assert_num_queries(2):
        selectors.checklist_for(world.case_a)
