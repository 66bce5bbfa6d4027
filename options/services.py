"""Writes of the options register and of a case's shortlist.

Importing ClinicalTrials.gov records is all or nothing: every record is checked before any is
written, and the writes share one transaction. An option is matched on its NCT number; a
changed record adds a version and refreshes the registry's fields (title, status, ages,
criteria, interventions, locations, contacts); what a coordinator curates (kind, setting,
target antigens, prior CAR-T and CNS policies, plain summary, trial team) is set from the
record only when the option is first created.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.roles import is_coordinator
from audit.actor import Actor
from audit.services import audit_record
from cases.models import Case
from hospitals.models import Hospital, Referral
from hospitals.services.referrals import referral_create, referral_send
from navigator.errors import DomainError

from . import ctgov
from .models import Option, OptionVersion, ShortlistEntry

REGISTRY_FIELDS = (
    "title",
    "status",
    "b_all",
    "min_age_months",
    "max_age_months",
    "eligibility_criteria",
    "interventions",
    "countries",
    "locations",
    "contacts",
    "source_url",
)


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _check_coordinator(actor) -> None:
    if not is_coordinator(actor) and Actor.of(actor).is_user:
        raise DomainError("Only a coordinator can change the options register.", code="permission_denied")


def studies_import(*, documents: list[dict], actor, source: str = "") -> ImportResult:
    """Import ClinicalTrials.gov API v2 study records; all of them or, on any problem, none.

    Raises ``DomainError`` naming the record (``studies[2]``) and the field path.
    """
    _check_coordinator(actor)
    parsed = []
    seen: dict[str, int] = {}
    for index, document in enumerate(documents):
        try:
            study = ctgov.parse_study(document)
        except ctgov.StudyError as error:
            raise DomainError(f"studies[{index}].{error.field}: {error.message}", field=error.field) from None
        if study.nct_id in seen:
            raise DomainError(
                f"studies[{index}]: {study.nct_id} appears twice (also studies[{seen[study.nct_id]}]).",
                field="protocolSection.identificationModule.nctId",
            )
        seen[study.nct_id] = index
        parsed.append(study)
    result = ImportResult()
    with transaction.atomic():
        for study in parsed:
            outcome = _study_store(study=study, actor=actor, source=source)
            getattr(result, outcome).append(study.nct_id)
    return result


def _study_store(*, study: ctgov.Study, actor, source: str) -> str:
    actor_ = Actor.of(actor)
    option = Option.objects.select_for_update().filter(registry=Option.Registry.CTGOV, registry_id=study.nct_id).first()
    registry_values = {name: getattr(study, name) for name in REGISTRY_FIELDS}
    if option is None:
        option = Option.objects.create(
            registry=Option.Registry.CTGOV,
            registry_id=study.nct_id,
            is_trial=True,
            short_name=study.short_name,
            kind=study.kind,
            setting=study.setting,
            target_antigens=study.target_antigens,
            source="ClinicalTrials.gov",
            **registry_values,
        )
        outcome = "created"
    elif option.versions.filter(digest=study.digest).exists():
        return "unchanged"
    else:
        for name, value in registry_values.items():
            setattr(option, name, value)
        option.save()
        outcome = "updated"
    number = (option.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    OptionVersion.objects.create(
        option=option,
        number=number,
        document=study.document,
        digest=study.digest,
        last_update=study.last_update,
        source_url=source[:500],
        imported_by_label=actor_.label,
    )
    audit_record(
        actor=actor,
        action="create" if outcome == "created" else "update",
        obj=option,
        detail={"via": "ctgov-import", "nct_id": study.nct_id, "version": number, "status": study.status},
    )
    return outcome


# --- the shortlist ---------------------------------------------------------------------------


@transaction.atomic
def shortlist_add(*, case: Case, option: Option, actor, reason: str, screen: dict | None = None) -> ShortlistEntry:
    """Shortlist an option for a case, with the coordinator's reason (recorded in the audit trail)."""
    if not is_coordinator(actor):
        raise DomainError("Only a coordinator can shortlist an option.", code="permission_denied")
    if not reason.strip():
        raise DomainError("Say why this option is shortlisted.", field="reason")
    if ShortlistEntry.objects.current().filter(case=case, option=option).exists():
        raise DomainError(f"{option} is already on this case's shortlist.", field="option")
    entry = ShortlistEntry.objects.create(
        case=case,
        option=option,
        reason=reason.strip(),
        screen=screen or {},
        created_by=Actor.of(actor).user,
        created_by_label=Actor.of(actor).label,
    )
    audit_record(
        actor=actor,
        action="create",
        obj=entry,
        case=case,
        detail={"option": option.pk, "result": (screen or {}).get("result", ""), "reason": entry.reason},
    )
    return entry


@transaction.atomic
def shortlist_remove(*, entry: ShortlistEntry, actor, reason: str) -> ShortlistEntry:
    """Take an option off the shortlist (the row stays, with why)."""
    if not is_coordinator(actor):
        raise DomainError("Only a coordinator can change the shortlist.", code="permission_denied")
    if not reason.strip():
        raise DomainError("Say why this option is taken off the shortlist.", field="reason")
    locked = ShortlistEntry.objects.select_for_update().get(pk=entry.pk)
    if locked.removed_at is not None:
        raise DomainError("This option is already off the shortlist.", field="entry")
    locked.removed_at = timezone.now()
    locked.removed_reason = reason.strip()
    locked.save(update_fields=["removed_at", "removed_reason"])
    audit_record(actor=actor, action="update", obj=locked, case=locked.case, detail={"removed": locked.removed_reason})
    return locked


@transaction.atomic
def shortlist_share(*, entry: ShortlistEntry, actor, shared: bool = True) -> ShortlistEntry:
    """Show (or stop showing) a shortlisted option to the family in the portal."""
    if not is_coordinator(actor):
        raise DomainError("Only a coordinator can share an option with the family.", code="permission_denied")
    locked = ShortlistEntry.objects.select_for_update().get(pk=entry.pk)
    if locked.removed_at is not None:
        raise DomainError("This option is off the shortlist; add it again first.", field="entry")
    if locked.shared_with_family != shared:
        locked.shared_with_family = shared
        locked.save(update_fields=["shared_with_family"])
        audit_record(actor=actor, action="update", obj=locked, case=locked.case, detail={"shared_with_family": shared})
    return locked


@transaction.atomic
def screening_request_send(*, entry: ShortlistEntry, actor, cover_note: str = "") -> Referral:
    """Ask the option's trial team to screen the patient: a referral to the team, sent with a
    frozen packet like any referral (the team answers, asks for more, or declines through the
    hospital API or its webhooks, within the deadline), and linked to the shortlist entry."""
    if not is_coordinator(actor):
        raise DomainError("Only a coordinator can send a screening request.", code="permission_denied")
    locked = (
        ShortlistEntry.objects.select_for_update(of=("self",))
        .select_related("option__trial_team", "case")
        .get(pk=entry.pk)
    )
    if locked.removed_at is not None:
        raise DomainError("This option is off the shortlist.", field="entry")
    team = locked.option.trial_team
    if team is None:
        raise DomainError(f"{locked.option} has no trial team to send a screening request to.", field="option")
    if team.kind != Hospital.Kind.TRIAL_TEAM:
        raise DomainError(f"{team} is a treating centre: refer the case to it from the referrals.", field="option")
    referral = Referral.objects.filter(case=locked.case, hospital=team).first()
    note = cover_note.strip() or f"Screening request for {locked.option}."
    if referral is None:
        referral = referral_create(case=locked.case, hospital=team, actor=actor, cover_note=note)
    if referral.status in (Referral.Status.DRAFT, Referral.Status.DECLINED, Referral.Status.WITHDRAWN):
        referral_send(referral=referral, actor=actor, reason="Screening request" if referral.first_sent_at else "")
        referral.refresh_from_db()
    if locked.screening_referral_id != referral.pk:
        locked.screening_referral = referral
        locked.save(update_fields=["screening_referral"])
    return referral
