"""Erasure of a closed case after its retention period: personal data gone, audit trail kept."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audit.models import AuditEvent
from audit.services import audit_record
from cases.models import Case, FamilyContact, Patient, StatusChange
from cases.services import case_transition
from documents.models import Document
from documents.services import document_create
from hospitals.models import PacketVersion
from navigator.errors import DomainError
from privacy import services, tasks
from privacy.models import Erasure


@pytest.fixture
def closed_a(world):
    """Case A, closed, with a document, a packet snapshot and some audit history."""
    document = document_create(
        case=world.case_a,
        file=io.BytesIO(b"\x00" * 128 + b"DICM" + b"x" * 2048),
        filename="Misha Ivanov MRI.dcm",
        doc_type="imaging_study",
        actor=world.alice,
        notes="Olga brought the CD.",
    )
    PacketVersion.objects.create(
        referral=world.referral_a, version=1, snapshot={"patient": {"name": "Misha Ivanov"}}, content_hash="0" * 64
    )
    Case.objects.filter(pk=world.case_a.pk).update(summary="Misha, 9, second relapse; Olga speaks Russian.")
    audit_record(actor=world.alice, action="view", obj=world.case_a)
    case_transition(case=world.case_a, to_status="closed", actor=world.alice, reason="Olga asked to close it.")
    world.case_a.refresh_from_db()
    return world.case_a, document


def after_retention(days: int = 1) -> dt.datetime:
    from django.conf import settings

    return timezone.now() + dt.timedelta(days=settings.CASE_RETENTION_DAYS + days)


def test_erasing_replaces_names_contacts_birth_date_and_free_text(world, closed_a):
    case, document = closed_a
    dob = world.patient_a.date_of_birth
    services.case_erase(case_id=case.pk, actor=world.sam, now=after_retention())

    patient = Patient.objects.get(pk=world.patient_a.pk)
    assert (patient.given_name, patient.family_name, patient.native_name) == ("Erased", case.reference, "")
    assert patient.date_of_birth == dt.date(dob.year, 1, 1)
    contact = FamilyContact.objects.get(pk=world.contact_a.pk)
    assert (contact.name, contact.email, str(contact.phone or ""), contact.user_id) == ("Erased contact", "", "", None)
    case.refresh_from_db()
    assert case.summary == "" and case.reference.startswith("NAV-")
    assert set(StatusChange.objects.filter(case=case).values_list("reason", flat=True)) == {""}
    document.refresh_from_db()
    assert document.notes == "" and document.original_name == ""
    # Old values kept by the change history are gone as well.
    assert not Patient.history.filter(id=patient.pk, family_name="Ivanov").exists()
    assert not FamilyContact.history.filter(id=contact.pk, name="Olga Ivanova").exists()
    assert not Case.history.filter(id=case.pk).exclude(summary="").exists()


def test_erasing_deletes_every_stored_file_and_immutable_snapshots(world, closed_a):
    case, document = closed_a
    name = document.file.name
    assert default_storage.exists(name)
    erasure = services.case_erase(case_id=case.pk, actor=world.sam, now=after_retention())
    assert not default_storage.exists(name)
    assert erasure.summary["files_deleted"] == 1
    assert not PacketVersion.objects.filter(referral=world.referral_a).exists()
    assert erasure.summary["removed"]["hospitals.PacketVersion"] == 1


def test_the_familys_portal_login_is_deactivated_and_scrubbed(client, world, closed_a):
    case, _ = closed_a
    world.ivanova.set_password("a long enough pass phrase 42")
    world.ivanova.save()
    services.case_erase(case_id=case.pk, actor=world.sam, now=after_retention())
    world.ivanova.refresh_from_db()
    assert not world.ivanova.is_active
    assert world.ivanova.username == f"erased-{world.ivanova.pk}" and world.ivanova.email == ""
    assert not world.ivanova.has_usable_password()
    assert not client.login(username="ivanova", password="a long enough pass phrase 42")


def test_the_audit_trail_is_kept_and_the_erasure_is_audited(world, closed_a):
    case, _ = closed_a
    before = AuditEvent.objects.filter(case_id=case.pk).count()
    services.case_erase(case_id=case.pk, actor=world.sam, now=after_retention())
    assert AuditEvent.objects.filter(case_id=case.pk).count() == before + 1
    event = AuditEvent.objects.get(action="erase")
    assert (event.case_id, event.case_reference, event.actor) == (case.pk, case.reference, world.sam)
    assert event.detail["files_deleted"] == 1
    assert AuditEvent.objects.filter(case_id=case.pk, action="view").exists()


def test_another_familys_case_is_untouched(world, closed_a):
    case, _ = closed_a
    services.case_erase(case_id=case.pk, actor=world.sam, now=after_retention())
    world.patient_b.refresh_from_db()
    world.contact_b.refresh_from_db()
    world.chen.refresh_from_db()
    assert world.patient_b.family_name == "Chen" and world.contact_b.name == "Chen Li" and world.chen.is_active


def test_erasing_twice_changes_nothing_more(world, closed_a):
    case, _ = closed_a
    first = services.case_erase(case_id=case.pk, actor=world.sam, now=after_retention())
    second = services.case_erase(case_id=case.pk, actor=world.sam, now=after_retention())
    assert first.pk == second.pk
    assert Erasure.objects.count() == 1 and AuditEvent.objects.filter(action="erase").count() == 1


def test_a_case_that_is_not_closed_is_refused_with_the_reason(world):
    with pytest.raises(DomainError) as refused:
        services.case_erase(case_id=world.case_b.pk, actor=world.sam, now=after_retention())
    assert refused.value.code == "not_closed"
    assert world.case_b.reference in refused.value.message and "Close it first" in refused.value.message
    world.patient_b.refresh_from_db()
    assert world.patient_b.family_name == "Chen" and not Erasure.objects.exists()


def test_a_closed_case_within_retention_is_refused_with_the_date(world, closed_a):
    case, document = closed_a
    with pytest.raises(DomainError) as refused:
        services.case_erase(case_id=case.pk, actor=world.sam, now=after_retention(days=-2))
    assert refused.value.code == "within_retention"
    assert "retention period until" in refused.value.message
    assert default_storage.exists(document.file.name)
    assert Patient.objects.get(pk=world.patient_a.pk).family_name == "Ivanov"


def test_the_daily_sweep_is_scheduled_by_a_migration(db):
    # Run the migration's own code (the row itself may have been flushed by a transactional
    # test of an earlier session reusing the database); twice, as it must be idempotent.
    import importlib

    from django.apps import apps

    migration = importlib.import_module("privacy.migrations.0002_erasure_schedule")
    PeriodicTask.objects.filter(task="privacy.erase_due_cases").delete()
    migration.forward(apps, None)
    migration.forward(apps, None)
    task = PeriodicTask.objects.get(task="privacy.erase_due_cases")
    assert task.enabled and task.crontab.hour == "3" and task.crontab.minute == "30"


def test_the_sweep_finds_only_closed_cases_past_retention(world, closed_a, settings):
    case, _ = closed_a
    assert list(services.cases_due_for_erasure(now=after_retention())) == [case]
    assert list(services.cases_due_for_erasure(now=timezone.now())) == []
    settings.CASE_RETENTION_DAYS = 0
    from navigator.celery import app

    app.conf.task_always_eager = True
    try:
        assert tasks.erase_due_cases() == 1
        assert tasks.erase_due_cases() == 0  # erased cases are no longer due
    finally:
        app.conf.task_always_eager = False
    assert Erasure.objects.get().erased_by == tasks.SYSTEM_ACTOR


def test_the_erase_task_reports_a_refusal_instead_of_failing(world):
    assert tasks.erase_case.run(world.case_b.pk) == "not_closed"


def test_coordinators_erase_from_the_admin_and_see_refusals(client, world, closed_a, settings):
    case, _ = closed_a
    client.force_login(world.alice)
    response = client.post(
        "/admin/privacy/casedatarequest/",
        {"action": "erase_selected", "_selected_action": [world.case_b.pk]},
        follow=True,
    )
    assert "Only closed cases can be erased" in response.content.decode()
    settings.CASE_RETENTION_DAYS = 0
    response = client.post(
        "/admin/privacy/casedatarequest/", {"action": "erase_selected", "_selected_action": [case.pk]}, follow=True
    )
    assert "Erased 1 case(s)" in response.content.decode()
    assert Document.objects.get(case=case).original_name == ""
