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
from outbox.models import OutboxTask
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


def test_the_sweep_finds_only_closed_cases_past_retention(
    world, closed_a, settings, django_capture_on_commit_callbacks
):
    case, _ = closed_a
    assert list(services.cases_due_for_erasure(now=after_retention())) == [case]
    assert list(services.cases_due_for_erasure(now=timezone.now())) == []
    settings.CASE_RETENTION_DAYS = 0
    from navigator.celery import app

    app.conf.task_always_eager = True
    try:
        # Each erasure goes through the outbox, published when the sweep's transaction commits.
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.erase_due_cases() == 1
        assert OutboxTask.objects.filter(name="privacy.erase_case", args=[case.pk]).exclude(sent_at=None).exists()
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


def test_a_rejected_document_with_newer_versions_and_translations_is_erased_in_place(world, closed_a):
    """Issue 21 item 1: the reason of a rejected document is required by a constraint, and
    versions and translations protect each other; erasure blanks them in place instead."""
    case, original = closed_a
    from documents.models import Document

    Case.objects.filter(pk=case.pk).update(status="records")
    newer = document_create(
        case=case, file=io.BytesIO(b"\x00" * 128 + b"DICM" + b"y" * 2048), filename="v2.dcm", doc_type="imaging_study",
        actor=world.alice, supersedes=original,
    )  # fmt: skip
    translation = document_create(
        case=case, file=io.BytesIO(b"\x00" * 128 + b"DICM" + b"z" * 2048), filename="tr.dcm", doc_type="imaging_study",
        actor=world.alice, translation_of=original, translator="Olga Ivanova",
    )  # fmt: skip
    Document.objects.filter(pk=newer.pk).update(review_status="rejected", rejection_reason="Misha's name cut off")
    Case.objects.filter(pk=case.pk).update(status="closed")
    erasure = services.case_erase(case_id=case.pk, actor=world.sam, now=after_retention())
    rows = {d.pk: d for d in Document.objects.filter(case=case)}
    assert rows[newer.pk].rejection_reason == services.ERASED_TEXT and rows[newer.pk].review_status == "rejected"
    assert rows[translation.pk].translator == "" and rows[translation.pk].translation_of_id == original.pk
    assert erasure.summary["files_deleted"] == 3 and "documents.Document" not in erasure.summary["removed"]


def test_transition_reasons_in_the_audit_trail_are_sealed_and_unreadable_after_erasure(world, closed_a):
    from audit.services import audit_detail_readable

    case, _ = closed_a
    event = AuditEvent.objects.get(case_id=case.pk, action="transition", detail__to="closed")
    assert "Olga" not in str(event.detail) and audit_detail_readable(event)["reason"] == "Olga asked to close it."
    services.case_erase(case_id=case.pk, actor=world.sam, now=after_retention())
    event = AuditEvent.objects.get(pk=event.pk)
    assert audit_detail_readable(event)["reason"] == "[erased]" and event.detail["to"] == "closed"


def test_a_family_member_is_named_in_the_audit_trail_by_a_pseudonym(world):
    event = audit_record(actor=world.ivanova, action="view", obj=world.case_a)
    assert event.actor_label == f"family-{world.ivanova.pk}" and "ivanova" not in event.actor_label
    assert audit_record(actor=world.alice, action="view", obj=world.case_a).actor_label == "alice"


def test_a_failing_erasure_is_retried_counted_and_reported_to_a_supervisor(world, closed_a, settings, monkeypatch):
    from celery.exceptions import Retry

    from privacy.models import ErasureFailure
    from scheduling.models import CoordinatorTask

    case, _ = closed_a
    settings.CASE_RETENTION_DAYS = 0
    settings.ERASURE_MAX_ATTEMPTS = 3
    real = services.case_erase
    calls = []

    def broken(**kwargs):
        calls.append(kwargs["case_id"])
        raise OSError("document store unavailable\nDETAIL: Key (name)=(Olga Ivanova) already exists.")

    monkeypatch.setattr(services, "case_erase", broken)
    countdowns = []
    for retries in range(3):  # what a worker does: attempt, retry later, ..., last attempt
        tasks.erase_case.push_request(retries=retries, args=[case.pk], kwargs={}, is_eager=True, called_directly=False)
        try:
            if retries < 2:
                with pytest.raises(Retry) as retry:
                    tasks.erase_case.run(case.pk)
                countdowns.append(retry.value.when)
                assert not CoordinatorTask.objects.filter(case=case, key__startswith="erasure-failed").exists()
            else:
                assert tasks.erase_case.run(case.pk) == "failed"
        finally:
            tasks.erase_case.pop_request()
    assert len(calls) == 3 and countdowns == [60, 120]
    failure = ErasureFailure.objects.get(case=case)
    assert failure.attempts == 3 and "document store unavailable" in failure.last_error and failure.reported_at
    assert "Olga" not in failure.last_error  # a database error's DETAIL line quotes values: left out
    task = CoordinatorTask.objects.get(case=case, key=f"erasure-failed:{case.pk}")
    assert task.assignee == world.sam and task.priority == CoordinatorTask.Priority.URGENT and task.status == "open"
    assert [services.erasure_retry_countdown(n) for n in (1, 2, 3)] == [60, 120, 240]

    # The next night's sweep finds it still due; this time it works, and the failure is resolved.
    monkeypatch.setattr(services, "case_erase", real)
    assert list(services.cases_due_for_erasure()) == [case]
    assert tasks.erase_case.run(case.pk) == case.reference
    failure.refresh_from_db()
    task.refresh_from_db()
    assert failure.resolved_at is not None and task.status == "done"


def test_supervisors_see_what_is_due_failed_and_erased_in_the_admin(client, world, closed_a, settings):
    from privacy.models import ErasureFailure

    case, _ = closed_a
    settings.CASE_RETENTION_DAYS = 0
    ErasureFailure.objects.create(case=case, attempts=2, last_error="OSError: disk full")
    client.force_login(world.sam)
    page = client.get("/admin/privacy/casedatarequest/?erasure=failed").content.decode()
    assert case.reference in page and "FAILED 2×" in page and "disk full" in page
    assert case.reference in client.get("/admin/privacy/casedatarequest/?erasure=due").content.decode()
    assert case.reference not in client.get("/admin/privacy/casedatarequest/?erasure=erased").content.decode()
    services.case_erase(case_id=case.pk, actor=world.sam)
    page = client.get("/admin/privacy/casedatarequest/?erasure=erased").content.decode()
    assert case.reference in page and "erased " in page
    assert case.reference not in client.get("/admin/privacy/casedatarequest/?erasure=failed").content.decode()
    assert client.get("/admin/privacy/erasurefailure/").status_code == 200


def test_sign_in_logs_and_outbox_files_are_purged_after_their_retention(world, settings, tmp_path):
    import os

    from axes.models import AccessLog

    settings.EMAIL_FILE_PATH, settings.SMS_FILE_PATH = str(tmp_path / "mail"), str(tmp_path / "sms")
    old_log = AccessLog.objects.create(username="ivanova", user_agent="x", http_accept="x", path_info="/")
    AccessLog.objects.filter(pk=old_log.pk).update(attempt_time=timezone.now() - dt.timedelta(days=91))
    AccessLog.objects.create(username="chen", user_agent="x", http_accept="x", path_info="/")
    for folder in ("mail", "sms"):
        (tmp_path / folder).mkdir()
        for name, age_days in (("old.log", 31), ("new.log", 1)):
            path = tmp_path / folder / name
            path.write_text("To: olga@example.org")
            stamp = (timezone.now() - dt.timedelta(days=age_days)).timestamp()
            os.utime(path, (stamp, stamp))
    counts = services.logs_purge()
    assert counts["axes.AccessLog"] == 1 and counts["outbox_files"] == 2
    assert list(AccessLog.objects.values_list("username", flat=True)) == ["chen"]
    assert sorted(p.name for p in tmp_path.glob("*/*")) == ["new.log", "new.log"]


def test_the_daily_log_purge_is_scheduled_by_a_migration(db):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("privacy.migrations.0004_purge_logs_schedule")
    PeriodicTask.objects.filter(task="privacy.purge_logs").delete()
    migration.forward(apps, None)
    migration.forward(apps, None)
    assert PeriodicTask.objects.get(task="privacy.purge_logs").enabled
