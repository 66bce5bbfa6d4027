"""Data protection workflows: export a case for the family, erase a closed case after retention.

Both work on *everything* the project holds about a case without a list to keep up to date:
the rows are found through the reverse relations of ``Case`` and ``Patient`` (and of their
rows, two levels down), so a new app's models are included the day they land.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core import serializers
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, models, transaction
from django.db.models import Max
from django.db.models.functions import TruncYear
from django.utils import timezone
from simple_history.manager import HistoryManager
from zipstream import ZIP_STORED, ZipStream

from audit.models import AuditEvent
from audit.services import audit_record
from cases import workflow
from cases.models import Case, FamilyContact, Patient, StatusChange
from navigator.errors import DomainError

from .models import Erasure

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "navigator-case-export/1"
# Apps whose rows are not case data: accounts, the audit trail itself, framework tables.
SKIPPED_APPS = {
    "admin",
    "auth",
    "contenttypes",
    "sessions",
    "accounts",
    "audit",
    "privacy",
    "axes",
    "otp_totp",
    "otp_static",
    "django_celery_beat",
    "authtoken",
}
# Never exported: credentials and one-way hashes of them.
SECRET_FIELD = re.compile(r"password|secret|token|bin_key|^key$|key_hash|api_key", re.IGNORECASE)
# Character fields erased as personal free text (others hold codes: status, kind, language...).
PERSONAL_CHAR_FIELD = re.compile(
    r"name|passport|address|phone|email|note|comment|number|description|title|flight|hotel|street|body|"
    r"text|subject|reason|summary|message|contact|mobile|postcode|zip|ticket|booking|seat",
    re.IGNORECASE,
)
CHUNK = 64 * 1024
DEPTH = 2


# --- Discovery -----------------------------------------------------------------------------


@dataclass
class CaseData:
    """Every row held about one case, grouped by model; the case, patient and contacts first."""

    case: Case
    rows: dict[type[models.Model], list[int]] = field(default_factory=dict)

    def queryset(self, model: type[models.Model]) -> models.QuerySet:
        return model._base_manager.filter(pk__in=self.rows[model]).order_by("pk")


def _walk(model: type[models.Model], pks: list, found: dict, depth: int, skip: set) -> None:
    for rel in model._meta.related_objects:
        related = rel.related_model
        if rel.many_to_many or related._meta.app_label in SKIPPED_APPS or related in skip:
            continue
        if related._meta.label.startswith("cases.Historical") or related.__name__.startswith("Historical"):
            continue
        new = list(
            related._base_manager.filter(**{f"{rel.field.name}__in": pks})
            .exclude(pk__in=found.get(related, []))
            .values_list("pk", flat=True)
        )
        if not new:
            continue
        found.setdefault(related, []).extend(new)
        if depth < DEPTH:
            _walk(related, new, found, depth + 1, skip)


def case_data(*, case: Case) -> CaseData:
    """Find the case's rows in every app through reverse relations (no per-app list)."""
    found: dict[type[models.Model], list] = defaultdict(list)
    found[Case] = [case.pk]
    found[Patient] = [case.patient_id]
    # The patient's other cases are not part of this case's data.
    _walk(Patient, [case.patient_id], found, 1, skip={Case})
    _walk(Case, [case.pk], found, 1, skip={Case, Patient})
    return CaseData(case=case, rows=dict(found))


def _file_fields(model) -> list[models.FileField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]


# --- Export -------------------------------------------------------------------------------------


def _serialise(queryset) -> list[dict]:
    rows = serializers.serialize("python", queryset)
    for row in rows:
        row["fields"] = {k: v for k, v in row["fields"].items() if not SECRET_FIELD.search(k)}
    return rows


def _file_chunks(name: str) -> Iterator[bytes]:
    with default_storage.open(name, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def case_export(*, case: Case, actor) -> tuple[str, ZipStream, dict]:
    """The case's data for the family: ``data.json`` with every structured row, plus every file.

    Returns (file name, sized ZipStream, summary of what it holds). Files are read in chunks as
    the archive is streamed, so memory stays bounded whatever the documents weigh. The view that
    hands the archive out records the export, with the summary, before the first byte leaves.
    """
    data = case_data(case=case)
    structured: dict[str, list] = {}
    files: list[dict] = []
    zs = ZipStream(compress_type=ZIP_STORED, sized=True)
    for model in data.rows:
        rows = data.queryset(model)
        structured[model._meta.label] = _serialise(rows)
        for file_field in _file_fields(model):
            for pk, name in rows.exclude(**{file_field.name: ""}).values_list("pk", file_field.name):
                arcname = f"files/{model._meta.label_lower}/{pk}/{name.rsplit('/', 1)[-1]}"
                entry = {"model": model._meta.label, "pk": pk, "field": file_field.name, "path": arcname}
                try:
                    size = default_storage.size(name)
                except OSError:
                    entry["missing"] = True
                    files.append(entry)
                    continue
                entry["size"] = size
                files.append(entry)
                zs.add(_file_chunks(name), arcname, size=size)
    access_log = [
        {**row, "at": row["at"].isoformat()}
        for row in AuditEvent.objects.filter(case_id=case.pk)
        .order_by("at", "id")
        .values("at", "action", "actor_role", "object_type", "object_id")
        .iterator(chunk_size=2000)
    ]
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now(),
        "case_reference": case.reference,
        "case": structured.pop(Case._meta.label),
        "patient": structured.pop(Patient._meta.label),
        "contacts": structured.pop(FamilyContact._meta.label, []),
        "status_history": structured.pop(StatusChange._meta.label, []),
        "related": structured,
        "files": files,
        # Who read or changed the case's records, by role (names of staff are not personal data
        # of the family, and are left out).
        "access_log": access_log,
    }
    body = json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()
    zs.add(body, "data.json")
    zs.add(README.encode(), "README.txt")
    summary = {
        "models": {m._meta.label: len(pks) for m, pks in data.rows.items()},
        "files": len(files),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    return f"{case.reference}-data-export.zip", zs, summary


README = """Navigator data export

data.json holds every record kept about this case: the case, the patient, family contacts,
the status history and the records of every other part of the service ("related", by kind),
and the access log: when the records were read or changed, and by whom (by role).
files/ holds every stored document, under the kind of record and its number.
"""


# --- Erasure ------------------------------------------------------------------------------------


def case_closed_at(case: Case) -> dt.datetime | None:
    """When the case last changed status (its closing), or None if it never did."""
    return StatusChange.objects.filter(case=case).aggregate(at=Max("changed_at"))["at"]


def case_retention_until(case: Case) -> dt.datetime | None:
    closed = case_closed_at(case)
    return closed + dt.timedelta(days=settings.CASE_RETENTION_DAYS) if closed else None


def cases_due_for_erasure(*, now: dt.datetime | None = None) -> models.QuerySet:
    """Closed cases whose last status change is older than the retention period, not yet erased."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.CASE_RETENTION_DAYS)
    return (
        Case.objects.filter(status=workflow.CLOSED, erasure__isnull=True)
        .annotate(closed_at=Max("status_changes__changed_at"))
        .filter(closed_at__lt=cutoff)
        .order_by("pk")
    )


def _blank(model_field: models.Field):
    if isinstance(model_field, models.JSONField):
        default = model_field.get_default()
        return default if isinstance(default, (dict, list)) else ({} if not model_field.null else None)
    if model_field.null and not isinstance(model_field, (models.CharField, models.TextField)):
        return None
    return ""


def _personal_fields(model) -> list[models.Field]:
    out = []
    for f in model._meta.concrete_fields:
        if f.primary_key or f.is_relation or f.choices:
            continue
        if isinstance(f, (models.TextField, models.JSONField, models.EmailField, models.FileField)):
            out.append(f)
        elif isinstance(f, models.CharField) and not f.unique and PERSONAL_CHAR_FIELD.search(f.name):
            out.append(f)
    return out


def _scrub_rows(model, queryset, summary: dict, files: list[str]) -> None:
    """Blank personal fields of these rows; a model that refuses changes (an immutable
    snapshot) has its rows removed instead. File names are collected for deletion."""
    fields = _personal_fields(model)
    for f in _file_fields(model):
        files.extend(n for n in queryset.exclude(**{f.name: ""}).values_list(f.name, flat=True) if n)
    history = getattr(model, "history", None)
    pks = list(queryset.values_list("pk", flat=True))
    if not fields:
        summary["kept"][model._meta.label] = len(pks)
    else:
        values = {f.name: _blank(f) for f in fields}
        for f in model._meta.concrete_fields:
            if isinstance(f, models.DateField) and not isinstance(f, models.DateTimeField) and "birth" in f.name:
                values[f.name] = TruncYear(f.name)  # keep the year only
        try:
            with transaction.atomic():
                model._base_manager.filter(pk__in=pks).update(**values)
            summary["scrubbed"][model._meta.label] = len(pks)
        except (DatabaseError, PermissionError, Exception) as exc:  # noqa: BLE001 - immutable models refuse
            logger.info("erasure removes immutable rows", extra={"model": model._meta.label, "why": type(exc).__name__})
            with transaction.atomic():
                model._base_manager.filter(pk__in=pks).delete()
            summary["removed"][model._meta.label] = len(pks)
    # simple_history keeps old values of every change: those copies go too.
    if isinstance(history, HistoryManager) and pks:
        history.model._base_manager.filter(**{model._meta.pk.attname + "__in": pks}).delete()


def _scrub_user(user, summary: dict) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from rest_framework.authtoken.models import Token

    from accounts.models import User

    User.objects.filter(pk=user.pk).update(
        is_active=False,
        username=f"erased-{user.pk}",
        email="",
        first_name="",
        last_name="",
        password="!erased",
    )
    TOTPDevice.objects.filter(user=user).delete()
    Token.objects.filter(user=user).delete()
    summary["portal_users_deactivated"] = summary.get("portal_users_deactivated", 0) + 1


def case_erase(*, case_id: int, actor, now: dt.datetime | None = None) -> Erasure:
    """Anonymise a closed case whose retention period is over; idempotent.

    Names, contacts and free text are replaced, the date of birth keeps only its year,
    every stored file is deleted, portal logins are deactivated and scrubbed. The audit
    trail stays (it holds the case id and reference as plain columns) and the erasure itself
    is audited. Refuses, with the reason, a case that is not closed or still within retention.
    """
    now = now or timezone.now()
    with transaction.atomic():
        case = Case.objects.select_for_update().select_related("patient").get(pk=case_id)
        existing = Erasure.objects.filter(case=case).first()
        if existing is not None:
            return existing
        if case.status != workflow.CLOSED:
            raise DomainError(
                f"Only closed cases can be erased; {case.reference} is “{case.status_label}”. Close it first.",
                field="case",
                code="not_closed",
            )
        until = case_retention_until(case)
        if until is None or until > now:
            raise DomainError(
                f"{case.reference} is within its retention period until {until:%Y-%m-%d}"
                f" ({settings.CASE_RETENTION_DAYS} days after closing); it cannot be erased before then.",
                field="case",
                code="within_retention",
            )
        data = case_data(case=case)
        summary: dict = {"scrubbed": {}, "removed": {}, "kept": {}, "files_deleted": 0}
        files: list[str] = []
        patient = case.patient
        others_open = Case.objects.filter(patient=patient, erasure__isnull=True).exclude(pk=case.pk).exists()

        for model in data.rows:
            if model in (Case, Patient, FamilyContact):
                continue
            _scrub_rows(model, data.queryset(model), summary, files)

        contact_users = list(
            FamilyContact.objects.filter(patient=patient, user__isnull=False).values_list("user_id", flat=True)
        )
        if not others_open:
            Patient.objects.filter(pk=patient.pk).update(
                given_name="Erased",
                family_name=case.reference,
                native_name="",
                date_of_birth=dt.date(patient.date_of_birth.year, 1, 1),
                home_haematologist="",
                home_centre="",
            )
            Patient.history.filter(id=patient.pk).delete()
            contacts = FamilyContact.objects.filter(patient=patient)
            contact_ids = list(contacts.values_list("pk", flat=True))
            contacts.update(name="Erased contact", native_name="", email="", phone="", user=None)
            FamilyContact.history.filter(id__in=contact_ids).delete()
            from accounts.models import User

            for user in User.objects.filter(pk__in=contact_users, role=User.Role.FAMILY):
                _scrub_user(user, summary)
        else:
            summary["patient_kept_for_other_cases"] = True
        Case.objects.filter(pk=case.pk).update(summary="")
        Case.history.filter(id=case.pk).delete()
        StatusChange.objects.filter(case=case).update(reason="")

        try:
            erasure = Erasure.objects.create(
                case=case,
                case_reference=case.reference,
                erased_at=now,
                erased_by=_actor_label(actor),
                summary=summary,
            )
        except IntegrityError:  # erased concurrently
            return Erasure.objects.get(case=case)
        # Files last: if deleting one fails the whole erasure rolls back and is retried;
        # deleting a file that is already gone is harmless.
        for name in files:
            default_storage.delete(name)
        summary["files_deleted"] = len(files)
        Erasure.objects.filter(pk=erasure.pk).update(summary=summary)
        erasure.summary = summary
        audit_record(actor=actor, action="erase", obj=case, case=case, detail=summary)
    return erasure


def _actor_label(actor) -> str:
    if actor is not None and getattr(actor, "is_authenticated", False):
        return actor.get_username()
    return str(actor or "system")
