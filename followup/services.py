"""Writes of the way home: the home haematologist's contact and links, handback versions, the
follow-up plan's milestones, results posted after discharge."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext, gettext_noop

from accounts.roles import is_coordinator
from audit.actor import Actor
from audit.services import audit_record
from cases.models import Case
from eligibility.models import ClinicalProfile
from eligibility.services import profile_record_fact
from hospitals.models import Hospital, Referral
from navigator.errors import DomainError
from scheduling.models import CoordinatorTask, Milestone, MilestoneKind, MRDResult, TransplantDecision, TreatmentEvent
from scheduling.reminders import reminders_sync
from scheduling.services import (
    FOLLOW_UP_PREFIX,
    case_refresh_next_due,
    milestone_centre_day,
    milestone_complete,
    milestone_upsert,
    pathway_due_at,
    task_complete,
    task_open,
)

from . import handback as rendering
from .models import HOME_LANGUAGES, AccessLink, FollowUpResult, Handback, HomeHaematologist, LinkUse, token_hash
from .plan import follow_up_plan, igg_needs_replacement

LANGUAGES = tuple(code for code, _name in HOME_LANGUAGES)
# Stored in English in the handback; marked so the home haematologist's page shows them in their language.
WATCH_FOR = [
    gettext_noop(
        "Fever or signs of infection: B-cell aplasia and low IgG make infections more likely; treat promptly."
    ),
    gettext_noop("New confusion, drowsiness, tremor or trouble speaking (late neurotoxicity is rare but possible)."),
    gettext_noop("Falling blood counts, bruising or bleeding."),
    gettext_noop("Signs of relapse: bone pain, new lumps, blasts on the blood film."),
]


def _coordinator(actor, what: str) -> None:
    if not is_coordinator(actor):
        raise DomainError(f"Only a coordinator can {what}.", code="permission_denied")


# --- the home haematologist and their links -------------------------------------------------------


@transaction.atomic
def haematologist_save(
    *,
    case: Case,
    actor,
    name: str,
    email: str,
    centre: str = "",
    phone: str = "",
    language: str = "en",
    time_zone: str = "UTC",
    receives_reminders: bool = True,
) -> HomeHaematologist:
    """Record (or change) the case's home haematologist; their unsent follow-up reminders follow
    the change (language, zone, address, consent)."""
    _coordinator(actor, "record the home haematologist")
    if not name.strip():
        raise DomainError("Give the home haematologist's name.", field="name")
    if language not in LANGUAGES:
        raise DomainError(f"Choose one of {', '.join(LANGUAGES)}.", field="language")
    contact, created = HomeHaematologist.objects.update_or_create(
        case=case,
        defaults={
            "name": name.strip(),
            "email": email,
            "centre": centre,
            "phone": phone,
            "language": language,
            "time_zone": time_zone,
            "receives_reminders": receives_reminders,
        },
    )
    try:
        contact.full_clean(exclude=["case"])
    except ValidationError as error:  # the transaction rolls back: nothing is half-written
        field, messages = next(iter(error.message_dict.items()))
        raise DomainError(messages[0], field=field) from error
    audit_record(actor=actor, action="create" if created else "update", obj=contact, case=case)
    followup_reminders_sync(case=case)
    return contact


def followup_reminders_sync(*, case: Case) -> None:
    """Re-plan the unsent reminders of the case's open follow-up visits: after the home
    haematologist changed, or a link was issued or revoked (a revoked link stops theirs). The
    home haematologist is reminded only of visits their link still covers; the coordinator is
    asked in time to renew a link that ends before a visit (``link_renewal_plan``)."""
    for milestone in Milestone.objects.open().filter(case=case, key__startswith=FOLLOW_UP_PREFIX).order_by("pk"):
        reminders_sync(milestone=milestone)
    link_renewal_plan(case=case)


def usable_link(contact: HomeHaematologist) -> AccessLink | None:
    """The newest usable link: the one the coordinator last gave them and their reminders carry
    (an older one may have gone to another doctor or a mistyped address)."""
    return AccessLink.objects.usable().filter(haematologist=contact).order_by("-created_at", "-id").first()


# How long before a link ends the coordinator is asked to issue a new one, when a follow-up visit
# falls after it: time to reach the home haematologist and for them to open the new link.
RENEW_DAYS_BEFORE = 14


def link_renewal_plan(*, case: Case) -> CoordinatorTask | None:
    """Ask the coordinator to renew the home haematologist's link before it ends, when an open
    follow-up visit falls after its end: a task due RENEW_DAYS_BEFORE days before (at once if
    that is past), once per link. Tasks about links a newer link replaced, or that no visit
    outlives any more, are closed. Returns the open task, if any."""
    contact = HomeHaematologist.objects.filter(case=case, receives_reminders=True).first()
    link = usable_link(contact) if contact is not None else None
    uncovered = None
    if link is not None:
        uncovered = (
            Milestone.objects.open()
            .filter(case=case, key__startswith=FOLLOW_UP_PREFIX, due_at__gt=link.expires_at)
            .order_by("due_at")
            .first()
        )
    wanted = f"{RENEW_KEY}{link.pk}" if link is not None and uncovered is not None else ""
    for stale in CoordinatorTask.objects.filter(
        case=case, key__startswith=RENEW_KEY, status=CoordinatorTask.Status.OPEN
    ).exclude(key=wanted):
        task_complete(task=stale, actor="followup")
    if contact is None or link is None or uncovered is None:
        return None
    # On the treating centre's calendar, as the visit's date is (pathway_day).
    ends = link.expires_at.astimezone(pathway_due_at(link.expires_at.date()).tzinfo)
    what = {
        "title": f"Issue {contact.name} a new link before {ends:%Y-%m-%d}: a follow-up visit comes after it"[:200],
        "detail": (
            f"The link to their page ends on {ends:%Y-%m-%d %H:%M %Z}; {uncovered.title} is due on "
            f"{pathway_day(uncovered):%Y-%m-%d}. They are reminded only of visits a link covers: issue a new "
            "link (Follow-up > Home haematologists) and its reminders are planned at once."
        ),
        "milestone": uncovered,
        "due_at": max(timezone.now(), link.expires_at - dt.timedelta(days=RENEW_DAYS_BEFORE)),
    }
    task, created = task_open(case=case, key=wanted, priority=CoordinatorTask.Priority.NORMAL, **what)
    if not created:
        # The same link's task again: closed earlier (a longer link came and was revoked, the
        # doctor stopped and resumed reminders, the plan shrank and grew), or its first visit
        # after the end changed. Reopened and brought up to date, as the key is unique.
        reopened = task.status != CoordinatorTask.Status.OPEN
        CoordinatorTask.objects.filter(pk=task.pk).update(
            status=CoordinatorTask.Status.OPEN, completed_at=None, completed_by=None, **what
        )
        task.refresh_from_db()
        if reopened:
            audit_record(actor="followup", action="update", obj=task, case=case, detail={"reopened": True})
    return task


RENEW_KEY = "followup:link-renew:"


def pathway_day(milestone: Milestone) -> dt.date:
    """A follow-up visit's date (a day at the treating centre)."""
    return milestone_centre_day(milestone) or milestone.due_at.date()


LINK_SALT = "navigator.followup.home-link"


def _token_from(nonce: str, secret) -> str:
    return salted_hmac(LINK_SALT, nonce, secret=secret, algorithm="sha256").hexdigest()


def link_token(link: AccessLink) -> str | None:
    """The link's token again (for a reminder), from its nonce and the site's secret key; a key
    rotated out of ``SECRET_KEY_FALLBACKS``, or a link issued before tokens were derived, gives
    None."""
    if not link.nonce:
        return None
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])):
        token = _token_from(link.nonce, secret)
        if token_hash(token) == link.token_hash:
            return token
    return None


@transaction.atomic
def link_issue(*, haematologist: HomeHaematologist, actor, days: int | None = None) -> tuple[AccessLink, str]:
    """A new signed link for the home haematologist; the token is returned once, only its hash kept."""
    _coordinator(actor, "issue a link")
    days = days or settings.HOME_LINK_DAYS
    if not 1 <= days <= 366:
        raise DomainError("A link lasts between 1 and 366 days.", field="days")
    nonce = secrets.token_urlsafe(32)
    token = _token_from(nonce, settings.SECRET_KEY)
    now = timezone.now()
    link = AccessLink.objects.create(
        haematologist=haematologist,
        case=haematologist.case,
        token_hash=token_hash(token),
        nonce=nonce,
        created_at=now,
        created_by_label=Actor.of(actor).label,
        expires_at=now + dt.timedelta(days=days),
    )
    audit_record(
        actor=actor, action="create", obj=link, case=link.case, detail={"expires_at": link.expires_at.isoformat()}
    )
    followup_reminders_sync(case=link.case)
    return link, token


@transaction.atomic
def link_revoke(*, link: AccessLink, actor) -> AccessLink:
    _coordinator(actor, "revoke a link")
    updated = AccessLink.objects.filter(pk=link.pk, revoked_at=None).update(
        revoked_at=timezone.now(), revoked_by_label=Actor.of(actor).label
    )
    link.refresh_from_db()
    if updated:
        audit_record(actor=actor, action="update", obj=link, case=link.case, detail={"revoked": True})
        followup_reminders_sync(case=link.case)
    return link


class LinkRefused(Exception):
    def __init__(self, outcome: str):
        super().__init__(outcome)
        self.outcome = outcome


def link_actor(link: AccessLink) -> str:
    """How the audit trail names the home haematologist (a contact, not an account)."""
    return f"home-haematologist:{link.haematologist_id}"


def link_open(*, token: str, page: str, ip: str | None = None) -> AccessLink | None:
    """The link for ``token`` if it may be used now, recording the use. A revoked or expired link
    raises ``LinkRefused`` after recording the refusal (in the link's log and the audit trail);
    an unknown token answers ``None``."""
    link = AccessLink.objects.select_related("haematologist", "case").filter(token_hash=token_hash(token)).first()
    if link is None:
        return None
    now = timezone.now()
    outcome = LinkUse.Outcome.ALLOWED
    if link.revoked_at is not None:
        outcome = LinkUse.Outcome.REVOKED
    elif link.expires_at <= now:
        outcome = LinkUse.Outcome.EXPIRED
    with transaction.atomic():
        LinkUse.objects.create(link=link, case=link.case, at=now, page=page[:40], outcome=outcome, ip=ip)
        if outcome != LinkUse.Outcome.ALLOWED:
            audit_record(
                actor=link_actor(link),
                action="login",
                obj=link,
                case=link.case,
                detail={"via": "home-link", "page": page, "refused": str(outcome)},
                ip=ip,
            )
        else:
            AccessLink.objects.filter(pk=link.pk).update(last_used_at=now)
    if outcome != LinkUse.Outcome.ALLOWED:
        raise LinkRefused(outcome)
    return link


# --- the follow-up plan -----------------------------------------------------------------------------


def _infusion(case: Case) -> TreatmentEvent:
    event = (
        TreatmentEvent.objects.filter(case=case, kind=TreatmentEvent.Kind.INFUSION, status=TreatmentEvent.Status.DONE)
        .select_related("hospital")
        .first()
    )
    if event is None:
        raise DomainError("Record the CAR-T infusion as done before the way home.", field="infusion")
    return event


def followup_plan_apply(*, case: Case, actor, mrd_months: tuple[int, ...] | None = None) -> list[Milestone]:
    """Derive the follow-up visits from the infusion and the decisions and keep them as the case's
    milestones (family reminders follow the milestones' rules, in the family's language and zone)."""
    infusion = _infusion(case)
    decision = TransplantDecision.objects.filter(case=case).first()
    profile = ClinicalProfile.objects.filter(case=case).first()
    visits = follow_up_plan(
        infusion=infusion.occurred_on,
        transplant_planned=decision is not None and decision.decision == TransplantDecision.Decision.PLANNED,
        ph_positive=profile is not None and profile.philadelphia_status == "positive",
        **({"mrd_months": mrd_months} if mrd_months else {}),
    )
    milestones = []
    with transaction.atomic():
        for visit in visits:
            change = milestone_upsert(
                case=case,
                key=visit.key,
                kind=MilestoneKind.OTHER,
                due_at=pathway_due_at(visit.due),
                title=visit.title,
                concerns_family=True,
                refresh_case=False,
            )
            milestones.append(change.milestone)
        case_refresh_next_due(case=case)
        audit_record(actor=actor, action="update", obj=case, detail={"followup_plan": [v.key for v in visits]})
        link_renewal_plan(case=case)  # the visits may now outlive the home haematologist's link
    return milestones


# --- the handback ------------------------------------------------------------------------------------


@dataclass
class Discharge:
    """What the coordinator writes from the centre's discharge letter."""

    product: str
    dose: str
    response: str
    discharge_date: dt.date
    crs: list[dict]
    icans: list[dict]
    medications: list[dict]
    watch_for: list[str]


def _check_events(events: list[dict], field: str) -> list[dict]:
    out = []
    for n, event in enumerate(events):
        grade = event.get("grade")
        if not isinstance(grade, int) or not 1 <= grade <= 4:
            raise DomainError(f"Grade {n + 1}: give an ASTCT grade from 1 to 4.", field=field)
        onset, resolved = event.get("onset"), event.get("resolved")
        if not isinstance(onset, dt.date):
            raise DomainError(f"Grade {n + 1}: give the onset date.", field=field)
        if resolved is not None and resolved < onset:
            raise DomainError(f"Grade {n + 1}: resolved before it began.", field=field)
        out.append({"grade": grade, "onset": onset.isoformat(), "resolved": resolved.isoformat() if resolved else None})
    return out


def handback_content(*, case: Case, discharge: Discharge, version: int, created_at: dt.datetime) -> dict:
    """Everything the handback says, from the case's records and the discharge letter."""
    if not discharge.product.strip() or not discharge.dose.strip():
        raise DomainError(
            "Give the CAR-T product and its dose.", field="product" if not discharge.product.strip() else "dose"
        )
    if not discharge.response.strip():
        raise DomainError("Give the response (e.g. CR, MRD-negative at day 28).", field="response")
    home = HomeHaematologist.objects.filter(case=case).first()
    if home is None:
        raise DomainError("Record the home haematologist first.", field="home_haematologist")
    infusion = _infusion(case)
    centre = infusion.hospital or _accepted_centre(case)
    if centre is None:
        raise DomainError("Say at which centre the infusion took place.", field="infusion")
    lymphodepletion = TreatmentEvent.objects.filter(case=case, kind=TreatmentEvent.Kind.LYMPHODEPLETION).first()
    decision = TransplantDecision.objects.filter(case=case).first()
    profile = ClinicalProfile.objects.filter(case=case).first()
    visits = follow_up_plan(
        infusion=infusion.occurred_on,
        transplant_planned=decision is not None and decision.decision == TransplantDecision.Decision.PLANNED,
        ph_positive=profile is not None and profile.philadelphia_status == "positive",
    )
    patient = case.patient
    return {
        "version": version,
        "created_at": created_at.isoformat(),
        "case": {"reference": case.reference},
        "patient": {
            "given_name": patient.given_name,
            "family_name": patient.family_name,
            "date_of_birth": patient.date_of_birth.isoformat(),
            "sex": patient.sex,
        },
        "home": {"name": home.name, "centre": home.centre, "language": home.language},
        "centre": {
            "code": centre.code,
            "name_en": centre.name_en,
            "name_zh": centre.name_zh,
            "contacts": [
                {"name": c.name, "role": c.role, "email": c.email, "phone": str(c.phone or "")}
                for c in centre.contacts.order_by("-is_primary", "name")
            ],
        },
        "product": discharge.product.strip(),
        "dose": discharge.dose.strip(),
        "lymphodepletion": lymphodepletion.occurred_on.isoformat() if lymphodepletion else None,
        "infusion_date": infusion.occurred_on.isoformat(),
        "discharge_date": discharge.discharge_date.isoformat(),
        "crs": _check_events(discharge.crs, "crs"),
        "icans": _check_events(discharge.icans, "icans"),
        "response": discharge.response.strip(),
        "mrd": [
            {
                "date": m.sample_date.isoformat(),
                "checkpoint": m.get_checkpoint_display(),
                "method": m.get_method_display(),
                "result": m.result,
                "value": str(m.value) if m.value is not None else "",
            }
            for m in MRDResult.objects.filter(case=case).order_by("sample_date", "id")
        ],
        "medications": [
            {"name": m["name"].strip(), "dose": m.get("dose", "").strip()}
            for m in discharge.medications
            if m.get("name", "").strip()
        ],
        "tki": profile.current_tki if profile else "",
        "transplant": {
            "decision": decision.get_decision_display() if decision else "Not decided yet",
            "reason": decision.reason if decision else "",
            "decided_on": decision.decided_on.isoformat() if decision and decision.decided_on else None,
        },
        "watch_for": [*WATCH_FOR, *(w.strip() for w in discharge.watch_for if w.strip())],
        "schedule": [
            {"due": v.due.isoformat(), "title": v.title, "checks": list(v.checks), "source": v.source} for v in visits
        ],
    }


def _accepted_centre(case: Case) -> Hospital | None:
    referral = Referral.objects.filter(case=case, status=Referral.Status.ACCEPTED).select_related("hospital").first()
    return referral.hospital if referral else None


def _digest(content: dict) -> str:
    stable = {k: v for k, v in content.items() if k not in ("version", "created_at")}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@transaction.atomic
def handback_create(*, case: Case, actor, discharge: Discharge) -> tuple[Handback, bool]:
    """Freeze a new handback version (content, FHIR Bundle, PDF) and derive the follow-up plan.
    Unchanged content gives back the latest version (``created`` False)."""
    _coordinator(actor, "hand a patient back")
    Case.objects.select_for_update().get(pk=case.pk)
    latest = Handback.objects.filter(case=case).order_by("-version").first()
    version = (latest.version if latest else 0) + 1
    # Frozen in English whatever language the coordinator works in (labels such as the transplant
    # decision are translatable); the home haematologist's page translates what it can.
    with translation.override("en"):
        content = handback_content(case=case, discharge=discharge, version=version, created_at=timezone.now())
    digest = _digest(content)
    if latest is not None and latest.digest == digest:
        return latest, False
    bundle = rendering.build_bundle(content)
    problems = rendering.bundle_problems(bundle)
    if problems:
        raise DomainError(f"The handback Bundle is not a valid document: {problems[0]}", field="bundle")
    handback = Handback(
        case=case,
        version=version,
        content=content,
        bundle=bundle,
        pdf=rendering.render_pdf(content),
        digest=digest,
        created_by_label=Actor.of(actor).label,
    )
    handback.save(force_insert=True)
    audit_record(actor=actor, action="create", obj=handback, case=case, detail={"version": version})
    followup_plan_apply(case=case, actor=actor)
    return handback, True


# --- results after discharge ------------------------------------------------------------------------

MATCH_DAYS = 21  # a result within three weeks of a planned visit counts for that visit
FINDINGS: dict[str, tuple[str, ...]] = {
    FollowUpResult.Kind.MRD.value: ("negative", "positive"),
    FollowUpResult.Kind.CAR_T_PERSISTENCE.value: ("present", "lost"),
    FollowUpResult.Kind.RELAPSE.value: ("", "marrow", "cns", "extramedullary"),
}


@transaction.atomic
def result_post(
    *,
    case: Case,
    actor,
    kind: str,
    date: dt.date,
    value: Decimal | None = None,
    unit: str = "",
    finding: str = "",
    notes: str = "",
    link: AccessLink | None = None,
) -> FollowUpResult:
    """Record a follow-up result and let it move the case: the planned visit it belongs to is done;
    a relapse is recorded in the clinical profile and opens an urgent task (options are offered
    again); MRD-positive or lost B-cell aplasia opens an urgent task; IgG below the threshold opens
    a task about immunoglobulin replacement."""
    if link is None:
        _coordinator(actor, "record a follow-up result")
    elif link.case_id != case.pk:
        raise DomainError("This link is not for this case.", code="permission_denied")
    if kind not in FollowUpResult.Kind.values:
        raise DomainError(f"Choose one of {', '.join(FollowUpResult.Kind.values)}.", field="kind")
    if date > timezone.localdate():
        raise DomainError(gettext("The date cannot be in the future."), field="date")
    allowed = FINDINGS.get(kind)
    if allowed is not None and finding not in allowed:
        values = ", ".join(a or gettext("(none)") for a in allowed)
        raise DomainError(gettext("Choose one of: %(values)s.") % {"values": values}, field="finding")
    if kind == FollowUpResult.Kind.IGG and value is None:
        raise DomainError(gettext("Give the IgG level in g/L."), field="value")
    if kind == FollowUpResult.Kind.IGG:
        unit = unit or "g/L"
    label = Actor.of(actor).label
    result = FollowUpResult.objects.create(
        case=case,
        kind=kind,
        date=date,
        value=value,
        unit=unit,
        finding=finding,
        notes=notes,
        link=link,
        reported_by_label=label,
    )
    audit_record(
        actor=actor,
        action="create",
        obj=result,
        case=case,
        detail={"kind": kind, "via": "home-link" if link else "admin"},
    )
    _feed_milestones(case=case, date=date)
    who = f"the home haematologist ({link.haematologist})" if link else label
    if kind == FollowUpResult.Kind.RELAPSE:
        profile_record_fact(case=case, kind="relapses", actor=actor, date=date, site=finding or "reported at home")
        task_open(
            case=case,
            key=f"followup:relapse:{result.pk}",
            title="Relapse reported after CAR-T: look at options",
            detail=f"Reported by {who} on {date}. {notes}".strip(),
            priority=CoordinatorTask.Priority.URGENT,
        )
    elif (kind == FollowUpResult.Kind.MRD and finding == "positive") or (
        kind == FollowUpResult.Kind.CAR_T_PERSISTENCE and finding == "lost"
    ):
        task_open(
            case=case,
            key=f"followup:{kind}:{result.pk}",
            title=f"{result.get_kind_display()}: {finding} after CAR-T",
            detail=f"Reported by {who} on {date}. {notes}".strip(),
            priority=CoordinatorTask.Priority.URGENT,
        )
    elif kind == FollowUpResult.Kind.IGG and igg_needs_replacement(value):
        task_open(
            case=case,
            key=f"followup:igg:{result.pk}",
            title="IgG low after CAR-T: ask about immunoglobulin replacement",
            detail=f"IgG {value} {unit} on {date}, reported by {who}.",
        )
    return result


def _feed_milestones(*, case: Case, date: dt.date) -> None:
    """The open follow-up visit nearest the result's date (within ``MATCH_DAYS``) is done."""
    start = pathway_due_at(date - dt.timedelta(days=MATCH_DAYS))
    end = pathway_due_at(date + dt.timedelta(days=MATCH_DAYS))
    visit = (
        Milestone.objects.open()
        .filter(case=case, key__startswith="followup:", due_at__gte=start, due_at__lte=end)
        .order_by("due_at")
        .first()
    )
    if visit is not None:
        milestone_complete(milestone=visit)
