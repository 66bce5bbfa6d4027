"""Issue 21's proof: every kind of demo case, closed and past retention, is erased by the daily
sweep on a real Celery worker, and a dump of the database and of the file storage and outboxes
then holds none of the families' names, native names, user names, emails, phones or passport
numbers.

The demo is seeded as ``make run`` does, then each case gets what the demo leaves out: a rejected
document, a new version that replaced an accepted one, a translation with its translator, a
family message, a family sign-in (django-axes log), a mail and an SMS in the outboxes, an admin
change-log entry, and a closing reason naming the family ("Elena Petrova withdrew Sofia").
"""

from __future__ import annotations

import io
import re
import subprocess

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from navigator.tests.conftest import celery_on, private_redis  # noqa: F401 - fixtures
from navigator.tests.support import seed_migration_rows

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _dicom(tag: str) -> io.BytesIO:
    return io.BytesIO(b"\x00" * 128 + b"DICM" + tag.encode() * 64)


def _close(case, actor, reason):
    from cases import workflow
    from cases.services import case_transition

    case.refresh_from_db()
    if case.status == workflow.CLOSED:
        return
    if workflow.CLOSED not in workflow.TRANSITIONS[case.status]:
        side = workflow.WITHDRAWN if workflow.WITHDRAWN in workflow.TRANSITIONS[case.status] else workflow.DECEASED
        case_transition(case=case, to_status=side, actor=actor, reason=reason)
        case.refresh_from_db()
    case_transition(case=case, to_status=workflow.CLOSED, actor=actor, reason=reason)


def _enrich(case, alice, client):
    """What a real case collects beyond the demo, each piece naming the family."""
    from documents.models import Document
    from documents.services import document_accept, document_create, document_reject
    from messaging.services import message_post
    from notifications.services import message_send

    patient = case.patient
    contact = patient.contacts.filter(is_primary=True).first()
    child = f"{patient.given_name} {patient.family_name}"
    original = document_create(
        case=case, file=_dicom(f"{case.pk}-o"), filename=f"{child} MRI.dcm", doc_type="imaging_study", actor=alice,
        notes=f"{contact.name} brought the CD.",
    )  # fmt: skip
    document_accept(document=original, actor=alice, include_in_packets=True)
    rejected = document_create(
        case=case, file=_dicom(f"{case.pk}-r"), filename=f"{child} scan.dcm", doc_type="imaging_study", actor=alice,
    )  # fmt: skip
    document_reject(document=rejected, actor=alice, reason=f"{child}'s name is cut off; {contact.name} will resend.")
    newer = document_create(
        case=case, file=_dicom(f"{case.pk}-n"), filename=f"{child} MRI v2.dcm", doc_type="imaging_study",
        actor=alice, supersedes=original,
    )  # fmt: skip
    document_accept(document=newer, actor=alice, include_in_packets=True)
    document_create(
        case=case, file=_dicom(f"{case.pk}-t"), filename=f"{child} MRI (en).dcm", doc_type="imaging_study",
        actor=alice, translation_of=newer, translator=f"{contact.name}'s cousin",
    )  # fmt: skip
    assert Document.objects.get(pk=original.pk).review_status == Document.ReviewStatus.SUPERSEDED
    if contact.user_id:
        message_post(author=contact.user, case=case, kind="family", body=f"{child} is tired today. {contact.name}")
        assert client.login(username=contact.user.username, password="navigator-demo-2026")
        client.logout()
    message_send(
        channel="email", to=contact.email, subject=f"About {child}", body=f"Dear {contact.name}",
        idempotency_key=f"dump-{case.pk}-mail",
    )  # fmt: skip
    message_send(
        channel="sms",
        to=str(contact.phone),
        subject="",
        body=f"{child}: appointment",
        idempotency_key=f"dump-{case.pk}",
    )
    LogEntry.objects.log_actions(
        user_id=alice.pk, queryset=[patient], action_flag=CHANGE, change_message=f"Changed {child}", single_object=True
    )
    assert ContentType.objects.get_for_model(patient)


def _needles(case) -> dict[str, str]:
    """The family's identifying strings, by what they are."""
    from travel.models import Traveller

    patient = case.patient
    found = {
        "patient name": f"{patient.given_name} {patient.family_name}",
        "patient native name": patient.native_name,
    }
    for n, contact in enumerate(patient.contacts.all()):
        found[f"contact {n} name"] = contact.name
        found[f"contact {n} native name"] = contact.native_name
        found[f"contact {n} email"] = contact.email
        found[f"contact {n} phone"] = str(contact.phone or "")
        if contact.user_id:
            found[f"contact {n} user name"] = contact.user.username
    for traveller in Traveller.objects.filter(case=case):
        found[f"traveller {traveller.pk} passport"] = traveller.passport_number
        found[f"traveller {traveller.pk} name"] = f"{traveller.given_names} {traveller.surname}"
    return {k: v for k, v in found.items() if v and len(v) >= 5}


def _storage_text(roots) -> str:
    parts = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            parts.append(str(path))
            if path.is_file():
                parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts)


def test_every_demo_case_erased_on_a_worker_leaves_no_trace_of_the_family(
    private_redis,  # noqa: F811
    celery_on,  # noqa: F811
    settings,
    tmp_path,
    client,
):
    from cases.demo import seed_stories
    from cases.models import Case
    from privacy.models import Erasure
    from privacy.tasks import erase_due_cases
    from scheduling.tests.workers import Worker, wait_until

    media, mail, sms = tmp_path / "media", tmp_path / "mail", tmp_path / "sms"
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH, settings.SMS_FILE_PATH = str(mail), str(sms)
    settings.SMS_BACKEND = "notifications.sms.FileSMSBackend"
    seed_migration_rows()
    seed_stories()
    from accounts.models import User

    alice = User.objects.get(username="alice")
    # The families' cases; the centres' sandbox cases (hospitals.demo.seed_sandbox) have no family.
    cases = [c for c in Case.objects.select_related("patient").order_by("pk") if c.patient.contacts.exists()]
    needles: dict[str, str] = {}
    kinds = set()
    for case in cases:
        _enrich(case, alice, client)
        for what, value in _needles(case).items():
            needles[f"{case.reference} {what}"] = value
        contact = case.patient.contacts.first()
        _close(case, alice, reason=f"{contact.name} withdrew {case.patient.given_name}")
        kinds |= {rel for rel in ("documents", "referrals", "travellers", "threads") if getattr(case, rel).exists()}
    assert kinds == {"documents", "referrals", "travellers", "threads"}, kinds  # every kind of case is there
    dump_before = _dump()
    assert sum(1 for v in needles.values() if v.lower() in dump_before) >= len(needles) * 0.9  # the search works

    settings.CASE_RETENTION_DAYS = 0
    env = {
        "CELERY_BROKER_URL": private_redis.url,
        "REDIS_URL": private_redis.url,
        "CASE_RETENTION_DAYS": "0",
        "NAVIGATOR_MEDIA_ROOT": str(media),
        "DOCUMENT_STORAGE": "local",
        "EMAIL_FILE_PATH": str(mail),
        "SMS_FILE_PATH": str(sms),
    }
    worker = Worker(pool="prefork", concurrency=2, log_path=tmp_path / "worker.log", env=env).start()
    try:
        erase_due_cases.delay()  # what beat sends every night
        wait_until(
            lambda: Erasure.objects.count() == len(cases),
            timeout=240,
            interval=0.5,
            message=f"{len(cases)} erasures",
        )
    finally:
        worker.stop()

    dump = _dump()
    files = _storage_text([media, mail, sms]).lower()
    left = {what: value for what, value in needles.items() if value.lower() in dump or value.lower() in files}
    assert left == {}, left
    assert not re.search(r"withdrew", dump.replace("withdrawn", "")), "a closing reason survived"
    print(f"erasure dump: {len(cases)} demo cases erased on a worker; {len(needles)} identifying strings, none left")


def _dump() -> str:
    s = connection.settings_dict
    out = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            s["HOST"] or "127.0.0.1",
            "-p",
            str(s["PORT"] or 5432),
            "-U",
            s["USER"],
            s["NAME"],
        ],
        check=True,
        capture_output=True,
        env={"PGPASSWORD": s.get("PASSWORD") or ""},
    )
    return out.stdout.decode("utf-8", errors="replace").lower()
