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
from collections.abc import Iterator, Set
from dataclasses import dataclass, field
from pathlib import Path

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.db.models import Max, ProtectedError
from django.db.models.functions import TruncYear
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from simple_history.manager import HistoryManager
from zipstream import ZIP_STORED, ZipStream

from accounts.models import User
from audit.actor import Actor
from audit.crypto import shred
from audit.models import AuditEvent
from audit.services import audit_record
from cases import workflow
from cases.models import Case, FamilyContact, Patient, StatusChange
from hospitals.models import PacketImmutable
from navigator.errors import DomainError
from scheduling.models import CoordinatorTask
from scheduling.services import task_complete, task_open

from .models import Erasure, ErasureFailure

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
    r"text|subject|reason|summary|message|contact|mobile|postcode|zip|ticket|booking|seat|label|translator|"
    r"error|filename",
    re.IGNORECASE,
)
CHUNK = 64 * 1024
DEPTH = 4


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
    # Field history (django-simple-history): every earlier value of the case's rows.
    field_history: dict[str, list] = {}
    for model, pks in data.rows.items():
        history = getattr(model, "history", None)
        if isinstance(history, HistoryManager):
            old = history.model._base_manager.filter(**{model._meta.pk.attname + "__in": pks}).order_by("history_id")
            field_history[model._meta.label] = _serialise(old)
    access_log = [
        {
            "at": row["at"].isoformat(),
            "action": row["action"],
            "actor_role": row["actor_role"],
            "object_type": row["object_type"],
            "object_id": row["object_id"],
            # Who outside the team saw it: the centre, for hospital staff.
            "centre": row["actor__hospital__code"] if row["actor_role"] == "hospital" else None,
            "centre_name": row["actor__hospital__name_en"] if row["actor_role"] == "hospital" else None,
        }
        for row in AuditEvent.objects.for_case(case.pk)
        .order_by("at", "id")
        .values(
            "at",
            "action",
            "actor_role",
            "object_type",
            "object_id",
            "actor__hospital__code",
            "actor__hospital__name_en",
        )
        .iterator(chunk_size=2000)
    ]
    seen_by_centres = [row for row in access_log if row["centre"]]
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now(),
        "case_reference": case.reference,
        "case": structured.pop(Case._meta.label),
        "patient": structured.pop(Patient._meta.label),
        "contacts": structured.pop(FamilyContact._meta.label, []),
        "status_history": structured.pop(StatusChange._meta.label, []),
        "related": structured,
        "field_history": field_history,
        "files": files,
        # Who read or changed the case's records, by role (names of staff are not personal data
        # of the family, and are left out).
        "access_log": access_log,
        "seen_by_centres": seen_by_centres,
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
every earlier value of those records ("field_history"), and the access log: when the records
were read or changed, and by whom (by role; for hospital staff, which centre). "seen_by_centres"
lists the reads by centres outside the Navigator team. docs/data-export.md describes the format.
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


# A text field named in a check constraint (a rejected document must say why) gets this
# instead of an empty string, so the erased row still satisfies every constraint.
ERASED_TEXT = "[erased]"


def _constrained_fields(model) -> set[str]:
    names: set[str] = set()

    def walk(node):
        for child in getattr(node, "children", []):
            if isinstance(child, tuple):
                names.add(child[0].split("__")[0])
            else:
                walk(child)

    for constraint in model._meta.constraints:
        if isinstance(constraint, models.CheckConstraint):
            walk(constraint.condition)
    return names


def _blank(model_field: models.Field, constrained: Set[str] = frozenset()):
    if isinstance(model_field, models.JSONField):
        default = model_field.get_default()
        return default if isinstance(default, (dict, list)) else ({} if not model_field.null else None)
    if model_field.null and not isinstance(model_field, (models.CharField, models.TextField)):
        return None
    if model_field.name in constrained and isinstance(model_field, (models.CharField, models.TextField)):
        return ERASED_TEXT[: model_field.max_length or None]
    return ""


def _unique_fields(model) -> set[str]:
    """Fields that are part of a uniqueness rule: blanking them all would collide (they hold keys)."""
    names = {name for together in model._meta.unique_together for name in together}
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            names.update(constraint.fields)
    return names


def _personal_fields(model) -> list[models.Field]:
    out: list[models.Field] = []
    unique = _unique_fields(model)
    for f in model._meta.concrete_fields:
        if f.primary_key or f.is_relation or f.choices or f.name in unique:
            continue
        if isinstance(f, (models.TextField, models.JSONField, models.EmailField, models.FileField)):
            out.append(f)
        elif isinstance(f, models.CharField) and not f.unique and PERSONAL_CHAR_FIELD.search(f.name):
            out.append(f)
    return out


# Models whose rows refuse any change (a sent packet, a pre-screen run): erasure removes them.
IMMUTABLE_REFUSALS = (PermissionError, PacketImmutable)


def _remove(model, pks: list, data: CaseData, summary: dict) -> None:
    """Delete these rows; rows of the same case that protect them (an override that cites an
    assessment) go first. A protecting row outside the case is a real conflict and is raised."""
    for _ in range(10):
        try:
            with transaction.atomic():
                deleted, per_model = model._base_manager.filter(pk__in=pks).delete()
        except ProtectedError as exc:
            blockers: dict[type[models.Model], list] = defaultdict(list)
            for obj in exc.protected_objects:
                if obj.pk not in data.rows.get(type(obj), []):
                    raise
                blockers[type(obj)].append(obj.pk)
            for blocker, blocker_pks in blockers.items():
                _remove(blocker, blocker_pks, data, summary)
            continue
        for label, count in per_model.items():
            if count:
                summary["removed"][label] = summary["removed"].get(label, 0) + count
        return
    raise RuntimeError(f"could not remove {model._meta.label} rows of case {data.case.pk}: protection cycle")


def _scrub_rows(model, data: CaseData, summary: dict, files: list[str]) -> None:
    """Blank personal fields of these rows; a model that refuses changes (an immutable
    snapshot) has its rows removed instead. File names are collected for deletion."""
    queryset = data.queryset(model)
    fields = _personal_fields(model)
    for f in _file_fields(model):
        files.extend(n for n in queryset.exclude(**{f.name: ""}).values_list(f.name, flat=True) if n)
    history = getattr(model, "history", None)
    pks = list(queryset.values_list("pk", flat=True))
    if not pks:
        return
    if not fields:
        summary["kept"][model._meta.label] = len(pks)
    else:
        constrained = _constrained_fields(model)
        values = {f.name: _blank(f, constrained) for f in fields}
        for f in model._meta.concrete_fields:
            if isinstance(f, models.DateField) and not isinstance(f, models.DateTimeField) and "birth" in f.name:
                values[f.name] = TruncYear(f.name)  # keep the year only
        # The model's own queryset class (without any manager filtering): an append-only model
        # refuses the update there, before a database trigger would.
        own_queryset = type(model._default_manager.get_queryset())(model=model)
        try:
            with transaction.atomic():
                own_queryset.filter(pk__in=pks).update(**values)
            summary["scrubbed"][model._meta.label] = len(pks)
        except IMMUTABLE_REFUSALS:
            logger.info("erasure removes immutable rows", extra={"model": model._meta.label})
            _remove(model, pks, data, summary)
    # simple_history keeps old values of every change: those copies go too.
    if isinstance(history, HistoryManager):
        history.model._base_manager.filter(**{model._meta.pk.attname + "__in": pks}).delete()


def _scrub_user(user, summary: dict) -> None:
    from accounts.models import User

    # Sign-in logs name the account by its user name: they go with it.
    for log_model in (AccessAttempt, AccessLog, AccessFailureLog):
        log_model.objects.filter(username__iexact=user.username).delete()
    User.objects.filter(pk=user.pk).update(
        is_active=False,
        username=f"erased-{user.pk}",
        email="",
        first_name="",
        last_name="",
        password="!erased",
    )
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    Token.objects.filter(user=user).delete()
    summary["portal_users_deactivated"] = summary.get("portal_users_deactivated", 0) + 1


def _scrub_admin_log(data: CaseData) -> int:
    """The admin's change log repeats each object's name ("Petrova, Sofia"): blank it for the case's rows."""
    scrubbed = 0
    for model, pks in data.rows.items():
        ct = ContentType.objects.get_for_model(model, for_concrete_model=False)
        scrubbed += LogEntry.objects.filter(content_type=ct, object_id__in=[str(pk) for pk in pks]).update(
            object_repr=f"{model._meta.verbose_name} (erased)"[:200], change_message=""
        )
    return scrubbed


def _outbox_files_naming(needles: list[str]) -> list[Path]:
    """Mail, SMS and WhatsApp outbox files (file backends) that carry one of these addresses."""
    needles = [n for n in needles if n and len(n) >= 5]
    found = []
    for folder in (settings.EMAIL_FILE_PATH, settings.SMS_FILE_PATH, settings.WHATSAPP_FILE_PATH):
        root = Path(folder)
        if not needles or not root.is_dir():
            continue
        for path in root.iterdir():
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            if any(n in text for n in needles):
                found.append(path)
    return found


def case_erase(*, case_id: int, actor, now: dt.datetime | None = None) -> Erasure:
    """Anonymise a closed case whose retention period is over; idempotent.

    Names, contacts and free text are replaced, the date of birth keeps only its year, every
    stored file is deleted, portal logins are deactivated and scrubbed together with their
    sign-in logs, and outbox files addressed to the family go. The audit trail stays (case id
    and reference as plain columns, people as pseudonyms); its sealed free text becomes
    unreadable as the case's key is destroyed. The erasure itself is audited. Refuses, with the
    reason, a case that is not closed or still within retention.

    Order matters: rows are blanked in place (text named in a check constraint gets
    ``[erased]``), so the protected links between versions and translations of documents stay
    valid; only rows that refuse any change (packets, pre-screen runs) are deleted, after the
    case's rows that protect them.
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
        contacts = list(FamilyContact.objects.filter(patient=patient).values("user_id", "email", "phone"))
        summary["admin_log_scrubbed"] = _scrub_admin_log(data)

        for model in data.rows:
            if model in (Case, Patient, FamilyContact):
                continue
            _scrub_rows(model, data, summary, files)

        outbox: list[Path] = []
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
            contact_rows = FamilyContact.objects.filter(patient=patient)
            contact_ids = list(contact_rows.values_list("pk", flat=True))
            contact_rows.update(name="Erased contact", native_name="", email="", phone="", user=None)
            FamilyContact.history.filter(id__in=contact_ids).delete()
            users = User.objects.filter(pk__in=[c["user_id"] for c in contacts if c["user_id"]], role=User.Role.FAMILY)
            needles = [str(c["email"] or "") for c in contacts] + [str(c["phone"] or "") for c in contacts]
            for user in users:
                needles.append(user.email)
                _scrub_user(user, summary)
            outbox = _outbox_files_naming(needles)
        else:
            summary["patient_kept_for_other_cases"] = True
        Case.objects.filter(pk=case.pk).update(summary="")
        Case.history.filter(id=case.pk).delete()
        StatusChange.objects.filter(case=case).update(reason="")
        summary["key_destroyed"] = shred(case_id=case.pk)

        try:
            with transaction.atomic():
                erasure = Erasure.objects.create(
                    case=case,
                    case_reference=case.reference,
                    erased_at=now,
                    erased_by=Actor.of(actor).label,
                    summary=summary,
                )
        except IntegrityError:  # erased concurrently
            return Erasure.objects.get(case=case)
        # Files last: if deleting one fails the whole erasure rolls back and is retried;
        # deleting a file that is already gone is harmless.
        for name in files:
            default_storage.delete(name)
        for path in outbox:
            path.unlink(missing_ok=True)
        summary["files_deleted"] = len(files)
        summary["outbox_files_deleted"] = len(outbox)
        Erasure.objects.filter(pk=erasure.pk).update(summary=summary)
        erasure.summary = summary
        if ErasureFailure.objects.filter(case=case, resolved_at__isnull=True).update(resolved_at=now):
            for task in CoordinatorTask.objects.filter(case=case, key=f"erasure-failed:{case.pk}"):
                task_complete(task=task, actor=actor)
        audit_record(actor=actor, action="erase", obj=case, case=case, detail=summary)
    return erasure


# --- Failures -------------------------------------------------------------------------------


def erasure_retry_countdown(attempt: int) -> int:
    """Seconds before the next attempt: the base, doubled after each failure, up to the maximum."""
    return min(settings.ERASURE_RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0), settings.ERASURE_RETRY_MAX_SECONDS)


def erasure_failure_record(*, case_id: int, error: str, final: bool) -> ErasureFailure:
    """Count one failed attempt; after the last one, open a task for a supervisor (once per case
    until it succeeds). Counted in its own transaction: the erasure's own rolled back."""
    now = timezone.now()
    with transaction.atomic():
        failure, _ = ErasureFailure.objects.select_for_update().get_or_create(
            case_id=case_id, defaults={"first_failed_at": now}
        )
        if failure.resolved_at is not None:  # failing again after an earlier success cannot happen; a new run
            failure.first_failed_at, failure.resolved_at, failure.reported_at = now, None, None
        failure.attempts += 1
        failure.last_error = error[:2000]
        failure.last_failed_at = now
        failure.save()
        logger.error(
            "erasure failed",
            extra={"case_id": case_id, "attempts": failure.attempts, "final": final, "error": error[:300]},
        )
        if final and failure.reported_at is None:
            case = Case.objects.get(pk=case_id)
            supervisor = User.objects.filter(role=User.Role.SUPERVISOR, is_active=True).order_by("pk").first()
            task_open(
                case=case,
                key=f"erasure-failed:{case_id}",
                title=f"Erasure failed: {case.reference} is past retention and still holds personal data",
                detail=(
                    f"The erasure of {case.reference} failed {failure.attempts} times; last error: {error[:300]}. "
                    "It is tried again every night. Fix the cause, then erase it from "
                    "Privacy > Case data (action 'Erase personal data')."
                ),
                priority=CoordinatorTask.Priority.URGENT,
                assignee=supervisor,
                due_at=now,
            )
            failure.reported_at = now
            failure.save(update_fields=["reported_at"])
    return failure


# --- Retention of logs ---------------------------------------------------------------------------


def logs_purge(*, now: dt.datetime | None = None) -> dict:
    """Delete sign-in attempt logs (django-axes) older than ``LOGIN_LOG_RETENTION_DAYS`` and mail
    and SMS outbox files (file backends) older than ``OUTBOX_RETENTION_DAYS``. Returns the counts."""
    now = now or timezone.now()
    login_cutoff = now - dt.timedelta(days=settings.LOGIN_LOG_RETENTION_DAYS)
    counts = {}
    for log_model in (AccessLog, AccessFailureLog, AccessAttempt):
        counts[log_model._meta.label], _ = log_model.objects.filter(attempt_time__lt=login_cutoff).delete()
    outbox_cutoff = (now - dt.timedelta(days=settings.OUTBOX_RETENTION_DAYS)).timestamp()
    removed = 0
    for folder in (settings.EMAIL_FILE_PATH, settings.SMS_FILE_PATH, settings.WHATSAPP_FILE_PATH):
        root = Path(folder)
        if not root.is_dir():
            continue
        for path in root.iterdir():
            if path.is_file() and path.stat().st_mtime < outbox_cutoff:
                path.unlink(missing_ok=True)
                removed += 1
    counts["outbox_files"] = removed
    logger.info("logs purged", extra={"counts": counts})
    return counts


def user_has_history(*, user: User) -> bool:
    """A user named in the audit trail is kept: the trail is append-only and names who acted."""
    return AuditEvent.objects.filter(actor=user).exists()


@transaction.atomic
def user_deactivate(*, user: User, actor) -> bool:
    """Take away a user's sign-in for good while keeping who they were in the audit trail (a user
    with audit history is deactivated, never deleted). Their API tokens go too. Returns False
    when the user was already inactive."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not locked.is_active:
        return False
    locked.is_active = False
    locked.save(update_fields=["is_active"])
    Token.objects.filter(user=locked).delete()
    audit_record(actor=actor, action="update", obj=locked, detail={"deactivated": True})
    return True
