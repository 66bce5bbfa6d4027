"""Workflows of eligibility coordination: editing the clinical profile, running and overriding
the pre-screen, publishing the family summary.

Every profile change is validated against the whole profile (``rules.validate``) before it is
saved, and re-runs the pre-screen once the transaction commits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.actor import SYSTEM, Actor
from audit.services import audit_record
from cases.models import Case
from navigator.errors import ConflictError, DomainError

from . import rules
from .models import (
    FACT_FIELDS,
    FACT_MODELS,
    FACTS_OUTSIDE_RULES,
    PROFILE_FIELDS,
    PROFILE_SOURCE_FIELDS,
    Assessment,
    CentreCriteria,
    ClinicalProfile,
    CriterionOverride,
    Fact,
    FamilySummary,
)
from .selectors import first_per

logger = logging.getLogger(__name__)


# --- Snapshots: the profile as plain data ------------------------------------------------------


def _iso(value):
    if isinstance(value, Decimal):
        return float(value)
    return value.isoformat() if isinstance(value, dt.date) else value


def _num(value) -> float | None:
    return None if value in (None, "") else float(value)


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _required_date(value) -> dt.date:
    """A date the snapshot always holds (its model field is required)."""
    parsed = _date(value)
    if parsed is None:
        raise ValueError(f"The profile snapshot lacks a required date (got {value!r}).")
    return parsed


def profile_for(case: Case) -> ClinicalProfile:
    """The case's profile, created empty the first time (everything "not known")."""
    profile, _ = ClinicalProfile.objects.get_or_create(case=case)
    return profile


def _fact_rows(profile: ClinicalProfile) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for kind, model in FACT_MODELS.items():
        fields = FACT_FIELDS[kind]
        rows[kind] = [
            {"id": r["id"], "source_document": r["source_document_id"], **{f: _iso(r[f]) for f in fields}}
            for r in model.objects.filter(profile=profile).order_by("id").values("id", "source_document_id", *fields)
        ]
    return rows


def profile_snapshot(profile: ClinicalProfile, *, assessed_on: dt.date | None = None) -> dict[str, Any]:
    """Every fact of the profile as JSON-ready data, with each fact's id and source document: what
    the rules read, and the facts only the packet carries (``FACTS_OUTSIDE_RULES``)."""
    case = profile.case
    snapshot: dict[str, Any] = {
        "assessed_on": (assessed_on or timezone.localdate()).isoformat(),
        "date_of_birth": _iso(case.patient.date_of_birth),
        **{f: _iso(getattr(profile, f)) for f in PROFILE_FIELDS},
        **{f: getattr(profile, f"{f}_id") for f in PROFILE_SOURCE_FIELDS},
    }
    snapshot.update(_fact_rows(profile))
    return snapshot


def snapshot_to_rules(s: dict[str, Any]) -> rules.Profile:
    """Turn a snapshot back into the rules' input (used for new runs and for replays).

    Snapshots stored before a kind of fact existed read as "none recorded"."""

    def rows(kind):
        return s.get(kind) or []

    def ref(r):
        return {"row": r.get("id"), "source": r.get("source_document")}

    return rules.Profile(
        assessed_on=_required_date(s["assessed_on"]),
        date_of_birth=_date(s.get("date_of_birth")),
        diagnosis=rules.Diagnosis(
            s["diagnosis_lineage"], s["diagnosis_method"], _date(s.get("diagnosis_date")), s.get("diagnosis_source")
        ),
        cd19_results=tuple(
            rules.Cd19Result(r["status"], r["sample_type"], _required_date(r["sample_date"]), r["method"], **ref(r))
            for r in rows("cd19_results")
        ),
        relapses=tuple(rules.Relapse(_required_date(r["date"]), r.get("site", ""), **ref(r)) for r in rows("relapses")),
        therapy_lines=tuple(
            rules.TherapyLine(
                r["regimen"],
                _required_date(r["start"]),
                _date(r.get("end")),
                r["best_response"],
                r["cd19_directed"],
                bool(r.get("cd22_directed")),
                **ref(r),
            )
            for r in rows("therapy_lines")
        ),
        reported_prior_lines=s.get("reported_prior_lines"),
        primary_refractory=s.get("primary_refractory"),
        first_remission_date=_date(s.get("first_remission_date")),
        prior_transplant=s.get("prior_transplant"),
        transplants=tuple(
            rules.Transplant(
                _required_date(r["date"]), r["donor_type"], r["on_immunosuppression"], r["active_gvhd"], **ref(r)
            )
            for r in rows("transplants")
        ),
        cns_assessments=tuple(
            rules.CnsAssessment(r["status"], _required_date(r["date"]), **ref(r)) for r in rows("cns_assessments")
        ),
        philadelphia=rules.Philadelphia(
            s.get("philadelphia_status") or None,
            _date(s.get("philadelphia_date")),
            s.get("current_tki", ""),
            s.get("philadelphia_source"),
        ),
        fitness=tuple(
            rules.Fitness(r["scale"], r["score"], _required_date(r["date"]), **ref(r)) for r in rows("fitness")
        ),
        organ_function=tuple(
            rules.OrganFunction(
                r["test"],
                float(r["value"]),
                r["unit"],
                _required_date(r["date"]),
                _num(r.get("upper_limit_normal")),
                **ref(r),
            )
            for r in rows("organ_function")
        ),
        infections=tuple(
            rules.Infection(r["description"], r["status"], _required_date(r["date"]), **ref(r))
            for r in rows("infections")
        ),
        infections_reviewed_on=_date(s.get("infections_reviewed_on")),
        marrow=tuple(
            rules.Marrow(
                _required_date(r["date"]),
                _num(r.get("blasts_percent")),
                r.get("mrd") or "not_done",
                _num(r.get("mrd_level")),
                r.get("mrd_method") or "",
                _num(r.get("mrd_sensitivity")),
                **ref(r),
            )
            for r in rows("marrow")
        ),
    )


# --- Validation of a proposed change ------------------------------------------------------------


def _problems(snapshot: dict) -> list[rules.Problem]:
    try:
        rules.validate(snapshot_to_rules(snapshot))
    except rules.ProfileInvalid as exc:
        return exc.problems
    return []


def validate_change(before: dict, after: dict, *, edited_fields: Iterable[str] = ()) -> None:
    """Refuse a change that makes the profile contradictory, naming the field to fix.

    Only problems the change introduces are reported, so an edit is never blocked by an
    older inconsistency elsewhere (e.g. a date of birth corrected in the case).
    ``edited_fields`` are the field names the caller's form or request uses: a problem
    found on another row is shown on the first edited date field.
    """
    old = {(p.field, p.message) for p in _problems(before)}
    new = [p for p in _problems(after) if (p.field, p.message) not in old]
    if not new:
        return
    edited = list(edited_fields)
    date_fields = [f for f in edited if "date" in f or f in ("start", "end")] or edited or ["non_field_errors"]
    errors: dict[str, list[str]] = {}
    for p in new:
        bare = p.field.split(".")[-1]
        key = bare if bare in edited else date_fields[0]
        errors.setdefault(key, []).append(p.message)
    raise ValidationError(errors)


def _check_source(case: Case, document, field: str = "source_document") -> None:
    if document is None:
        return
    if document.case_id != case.pk:
        raise ValidationError({field: ["The source document must belong to this case."]})
    if document.review_status in ("rejected",):
        raise ValidationError({field: ["A rejected document cannot be the source of a fact; use an accepted one."]})


# --- Editing the profile --------------------------------------------------------------------------


def _rerun_on_commit(case: Case, actor, trigger: str = Assessment.Trigger.PROFILE_CHANGE) -> None:
    case_id = case.pk

    def run():
        try:
            assessment_run(case=Case.objects.get(pk=case_id), actor=actor, trigger=trigger)
        except ValidationError:
            # A profile made inconsistent outside this app (e.g. the date of birth) is refused,
            # not evaluated; the coordinator sees the error on the next manual run.
            logger.warning("Pre-screen of case %s not re-run: the profile is inconsistent", case_id)

    transaction.on_commit(run)


@transaction.atomic
def profile_update(*, case: Case, actor, **changes) -> ClinicalProfile:
    """Change top-level facts of the profile (diagnosis, refractory status, Ph, ...)."""
    allowed = set(PROFILE_FIELDS) | set(PROFILE_SOURCE_FIELDS)
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({f: ["Not a field of the clinical profile."] for f in sorted(unknown)})
    profile = ClinicalProfile.objects.select_for_update().get(pk=profile_for(case).pk)
    before = profile_snapshot(profile)
    for field in PROFILE_SOURCE_FIELDS:
        if field in changes:
            _check_source(case, changes[field], field)
    for field, value in changes.items():
        setattr(profile, field, value)
    # The database constraints are checked by the rules below, with a message naming the field.
    profile.full_clean(exclude=["case"], validate_constraints=False)
    after = {**before, **{f: _iso(getattr(profile, f)) for f in PROFILE_FIELDS}}
    validate_change(before, after, edited_fields=changes)
    ph_changed = before["philadelphia_status"] != profile.philadelphia_status
    profile.save()
    audit_record(actor=actor, action="update", obj=profile, case=case, detail={"fields": sorted(changes)})
    _rerun_on_commit(case, actor)
    if ph_changed:
        # Ph+ adds (Ph- removes) the TKI maintenance check of the treatment pathway.
        from scheduling.services import pathway_sync

        pathway_sync(case=case, actor=actor, reason="Philadelphia status changed in the clinical profile")
    return profile


def _fact_kind(kind: str) -> type[Fact]:
    try:
        return FACT_MODELS[kind]
    except KeyError:
        raise ValidationError({"kind": [f"Unknown kind of fact; choose one of {', '.join(FACT_MODELS)}."]})


def _replace_row(rows: list[dict], row: dict) -> list[dict]:
    # The edited row goes last, so a conflict between two rows is reported on the edited one.
    return [r for r in rows if r.get("id") != row.get("id")] + [row]


@transaction.atomic
def profile_record_fact(*, case: Case, kind: str, actor, source_document=None, **values) -> Fact:
    """Record one fact (e.g. a CD19 result and its sample date from a flow report), with the
    document that proves it. Refused with field errors if it contradicts the profile."""
    model = _fact_kind(kind)
    profile = ClinicalProfile.objects.select_for_update().get(pk=profile_for(case).pk)
    _check_source(case, source_document)
    unknown = set(values) - set(FACT_FIELDS[kind])
    if unknown:
        raise ValidationError({f: [f"Not a field of {model._meta.verbose_name}."] for f in sorted(unknown)})
    fact = model(profile=profile, source_document=source_document, **values)
    fact.full_clean(exclude=["profile"])
    before = profile_snapshot(profile)
    row = {"id": None, **{f: _iso(getattr(fact, f)) for f in FACT_FIELDS[kind]}}
    after = {**before, kind: _replace_row(before[kind], row)}
    validate_change(before, after, edited_fields=values)
    fact.save()
    audit_record(
        actor=actor,
        action="create",
        obj=fact,
        case=case,
        detail={"kind": kind, "source_document": getattr(source_document, "pk", None)},
    )
    _rerun_on_commit(case, actor)
    return fact


def _kind_of(fact: Fact) -> str:
    return next(k for k, m in FACT_MODELS.items() if isinstance(fact, m))


@transaction.atomic
def profile_update_fact(*, fact: Fact, actor, **values) -> Fact:
    kind = _kind_of(fact)
    case = fact.profile.case
    profile = ClinicalProfile.objects.select_for_update().get(pk=fact.profile_id)
    if "source_document" in values:
        _check_source(case, values["source_document"])
    unknown = set(values) - set(FACT_FIELDS[kind]) - {"source_document"}
    if unknown:
        raise ValidationError({f: ["Not a field of this fact."] for f in sorted(unknown)})
    for field, value in values.items():
        setattr(fact, field, value)
    fact.full_clean(exclude=["profile"])
    before = profile_snapshot(profile)
    row = {"id": fact.pk, **{f: _iso(getattr(fact, f)) for f in FACT_FIELDS[kind]}}
    after = {**before, kind: _replace_row(before[kind], row)}
    validate_change(before, after, edited_fields=values)
    fact.save()
    audit_record(actor=actor, action="update", obj=fact, case=case, detail={"kind": kind, "fields": sorted(values)})
    _rerun_on_commit(case, actor)
    return fact


@transaction.atomic
def profile_delete_fact(*, fact: Fact, actor) -> None:
    kind = _kind_of(fact)
    case = fact.profile.case
    profile = ClinicalProfile.objects.select_for_update().get(pk=fact.profile_id)
    before = profile_snapshot(profile)
    after = {**before, kind: [r for r in before[kind] if r["id"] != fact.pk]}
    validate_change(before, after, edited_fields=["non_field_errors"])
    audit_record(actor=actor, action="delete", obj=fact, case=case, detail={"kind": kind})
    fact.delete()
    _rerun_on_commit(case, actor)


# --- Running the pre-screen --------------------------------------------------------------------------


def _actor_fields(actor) -> dict:
    who = Actor.of(actor)
    return {"run_by": who.user, "run_by_label": who.label}


def _rules_input(snapshot: dict) -> dict:
    """The part of a snapshot the result depends on (not row ids, not provenance, not the facts
    the rules do not read)."""
    drop = {"id", "source_document"}
    out = {}
    for key, value in snapshot.items():
        if key in PROFILE_SOURCE_FIELDS or key in FACTS_OUTSIDE_RULES:
            continue
        if isinstance(value, list):
            out[key] = sorted(json.dumps({k: v for k, v in r.items() if k not in drop}, sort_keys=True) for r in value)
        else:
            out[key] = value
    return out


def _input_hash(snapshot: dict, variation: rules.RuleVariation, overrides: list[CriterionOverride]) -> str:
    payload = {
        "ruleset": rules.RULESET_VERSION,
        "profile": _rules_input(snapshot),
        "variation": [
            variation.min_age_months,
            variation.max_age_years,
            variation.cns2_policy,
            variation.min_prior_lines,
            variation.cns3_policy,
            dataclasses.asdict(variation.thresholds),
        ],
        "overrides": sorted(o.pk for o in overrides),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _variation_for(centre) -> rules.RuleVariation:
    if centre is None:
        return rules.BASE_RULES
    try:
        return centre.eligibility_criteria.variation()
    except CentreCriteria.DoesNotExist:
        return rules.RuleVariation(centre=centre.name_en)


def _latest_by_centre(case: Case) -> dict[int | None, Assessment]:
    latest = first_per(Assessment.objects.filter(case=case).order_by("centre_id", "-created_at", "-id"), "centre_id")
    return {a.centre_id: a for a in latest}


def assessment_run(
    *, case: Case, actor, trigger: str = Assessment.Trigger.MANUAL, assessed_on: dt.date | None = None
) -> list[Assessment]:
    """Run the pre-screen for the base rules and for each target centre of the case.

    A new assessment is stored only when something it depends on changed (profile data,
    assessment date, centre variation, overrides, rule-set version); otherwise the latest
    one stands. Runs of one case are serialised by locking the case row.

    Raises ``ValidationError`` (field errors) if the profile is contradictory: refused, not evaluated.
    """
    with transaction.atomic():
        Case.objects.select_for_update().filter(pk=case.pk).first()
        profile = profile_for(case)
        snapshot = profile_snapshot(profile, assessed_on=assessed_on)
        try:
            profile_input = snapshot_to_rules(snapshot)
            rules.validate(profile_input)
        except rules.ProfileInvalid as exc:
            raise ValidationError(exc.as_field_errors())
        centres = [None, *case.target_centres.select_related("eligibility_criteria").order_by("pk")]
        latest = _latest_by_centre(case)
        active = list(CriterionOverride.objects.active().filter(case=case).select_related("created_by"))
        now = timezone.now()
        results = []
        for centre in centres:
            centre_id = getattr(centre, "pk", None)
            variation = _variation_for(centre)
            result = rules.evaluate(profile_input, variation)
            applied = []
            for o in (o for o in active if o.centre_id == centre_id):
                if result.criterion(o.criterion).outcome != o.base_outcome:
                    # The data changed under the override: it was a decision about other facts.
                    CriterionOverride.objects.filter(pk=o.pk, lapsed_at=None).update(lapsed_at=now)
                else:
                    applied.append(o)
            final = rules.with_overrides(
                result,
                {
                    o.criterion: {
                        "outcome": o.outcome,
                        "reason": o.reason,
                        "by": o.created_by.get_username() if o.created_by else "",
                    }
                    for o in applied
                },
            )
            digest = _input_hash(snapshot, variation, applied)
            previous = latest.get(centre_id)
            if previous is not None and previous.input_hash == digest:
                results.append(previous)
                continue
            data = final.as_dict()
            assessment = Assessment(
                case=case,
                centre=centre,
                ruleset_version=final.ruleset_version,
                assessed_on=profile_input.assessed_on,
                profile_snapshot=snapshot,
                variation=data["variation"],
                criteria=data["criteria"],
                notes=data["notes"],
                verdict=final.verdict,
                overridden=bool(applied),
                input_hash=digest,
                trigger=trigger,
                created_at=now,
                **_actor_fields(actor),
            )
            assessment.save(force_insert=True)
            audit_record(
                actor=actor or SYSTEM,
                action="create",
                obj=assessment,
                case=case,
                detail={"verdict": final.verdict, "centre": centre_id, "trigger": trigger},
            )
            results.append(assessment)
    return results


def _signature(ruleset: str, criteria: list[dict], notes: list[dict]) -> tuple:
    """What a day can change in a result: each criterion's computed outcome and code, the notes."""
    return (
        ruleset,
        sorted(
            (c["criterion"], (c.get("override") or {}).get("from") or c["outcome"], c.get("code", "")) for c in criteria
        ),
        sorted(n["code"] for n in notes),
    )


def assessments_rerun_for_time(*, today: dt.date | None = None) -> list[int]:
    """Re-assess, as of ``today``, every open case whose result the passing of time has changed
    (a birthday crossing 1 year or 60, a result ageing past its validity window, a new rule-set
    version). The rules run in memory first; a case whose outcomes stay the same gets no new row.
    A changed case is assessed through ``assessment_run`` like any other run, with the trigger
    "time passed". Returns the ids of the cases re-assessed."""
    from cases import workflow

    today = today or timezone.localdate()
    changed = []
    cases = (
        Case.objects.filter(status__in=workflow.ACTIVE, clinical_profile__isnull=False)
        .select_related("patient", "clinical_profile")
        .order_by("pk")
    )
    for case in cases.iterator(chunk_size=200):
        latest = _latest_by_centre(case)
        if not latest:
            continue
        try:
            profile_input = snapshot_to_rules(profile_snapshot(case.clinical_profile, assessed_on=today))
            rules.validate(profile_input)
        except rules.ProfileInvalid:
            logger.warning("Daily re-assessment of case %s skipped: the profile is inconsistent", case.pk)
            continue
        for assessment in latest.values():
            result = rules.evaluate(profile_input, _variation_for(assessment.centre)).as_dict()
            if _signature(result["ruleset_version"], result["criteria"], result["notes"]) != _signature(
                assessment.ruleset_version, assessment.criteria, assessment.notes
            ):
                assessment_run(
                    case=case,
                    actor="system: daily re-assessment",
                    trigger=Assessment.Trigger.TIME_PASSED,
                    assessed_on=today,
                )
                changed.append(case.pk)
                break
    return changed


@transaction.atomic
def assessment_override(*, assessment: Assessment, criterion: str, outcome: str, reason: str, actor) -> Assessment:
    """Override one criterion of the latest assessment with a reason; the verdict is recomputed
    in a new assessment that shows the override and the computed outcome it replaced."""
    if criterion not in rules.CRITERIA:
        raise DomainError(f"Choose a criterion: {', '.join(rules.CRITERIA)}.", field="criterion")
    if outcome not in rules.OUTCOMES:
        raise DomainError(f"Choose an outcome: {', '.join(rules.OUTCOMES)}.", field="outcome")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise DomainError("Give the reason for the override (at least 10 characters).", field="reason")
    case = Case.objects.select_for_update().get(pk=assessment.case_id)
    latest = _latest_by_centre(case).get(assessment.centre_id)
    if latest is None or latest.pk != assessment.pk:
        raise ConflictError(
            "This assessment has been replaced by a newer one; override the latest.", field="assessment"
        )
    current = assessment.criterion(criterion)
    base = (current.get("override") or {}).get("from") or current["outcome"]
    if outcome == base:
        # Back to the computed outcome: the override is revoked.
        CriterionOverride.objects.active().filter(
            case=case, centre_id=assessment.centre_id, criterion=criterion
        ).update(revoked_at=timezone.now())
    else:
        CriterionOverride.objects.active().filter(
            case=case, centre_id=assessment.centre_id, criterion=criterion
        ).update(revoked_at=timezone.now())
        override = CriterionOverride.objects.create(
            case=case,
            centre_id=assessment.centre_id,
            criterion=criterion,
            outcome=outcome,
            base_outcome=base,
            reason=reason,
            assessment=assessment,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action="update",
            obj=override,
            case=case,
            detail={"criterion": criterion, "from": base, "to": outcome, "reason": reason},
        )
    runs = assessment_run(case=case, actor=actor, trigger=Assessment.Trigger.OVERRIDE)
    return next(a for a in runs if a.centre_id == assessment.centre_id)


# --- Comparing two assessments ----------------------------------------------------------------------


def _flatten(snapshot: dict) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in snapshot.items():
        if isinstance(value, list):
            for row in value:
                label = f"{key}#{row.get('id')}"
                for f, v in row.items():
                    if f != "id":
                        flat[f"{label}.{f}"] = v
        else:
            flat[key] = value
    return flat


def assessment_diff(older: Assessment, newer: Assessment) -> dict[str, list[dict]]:
    """What changed between two assessments: criteria outcomes, verdict, and profile fields."""
    old_c = {c["criterion"]: c for c in older.criteria}
    criteria = []
    for c in newer.criteria:
        o = old_c.get(c["criterion"], {})
        if (
            o.get("outcome") != c["outcome"]
            or o.get("explanation") != c["explanation"]
            or o.get("override") != c.get("override")
        ):
            criteria.append(
                {
                    "criterion": c["criterion"],
                    "from": o.get("outcome"),
                    "to": c["outcome"],
                    "from_explanation": o.get("explanation"),
                    "to_explanation": c["explanation"],
                    "override": c.get("override"),
                }
            )
    a, b = _flatten(older.profile_snapshot), _flatten(newer.profile_snapshot)
    profile = [{"field": k, "from": a.get(k), "to": b.get(k)} for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    other = []
    for attr in ("verdict", "ruleset_version", "variation"):
        if getattr(older, attr) != getattr(newer, attr):
            other.append({"field": attr, "from": getattr(older, attr), "to": getattr(newer, attr)})
    return {"criteria": criteria, "profile": profile, "assessment": other}


# --- Family summary ------------------------------------------------------------------------------------


def family_summary_render(*, assessment: Assessment, language: str) -> str:
    from .summary import render

    return render(assessment, language)


@transaction.atomic
def family_summary_publish(*, assessment: Assessment, language: str, actor, text: str | None = None) -> FamilySummary:
    """Publish, on purpose, the plain-language summary of an assessment in one language.

    The coordinator may edit the generated text; the statement that the treating
    haematologist decides and nothing is guaranteed is always kept. The previous summary in
    that language is withdrawn.
    """
    from django.conf import settings

    from .summary import disclaimer

    languages = dict(settings.LANGUAGES)
    if language not in languages:
        raise DomainError(f"Choose a language: {', '.join(languages)}.", field="language")
    if assessment.centre_id is not None:
        raise DomainError("Publish a summary of the base pre-screen, not a centre's.", field="assessment")
    generated = family_summary_render(assessment=assessment, language=language)
    body = (text or "").strip() or generated
    statement = disclaimer(language)
    if statement not in body:
        body = f"{body}\n\n{statement}"
    case = Case.objects.select_for_update().get(pk=assessment.case_id)
    now = timezone.now()
    FamilySummary.objects.published().filter(case=case, language=language).update(withdrawn_at=now)
    summary = FamilySummary.objects.create(
        case=case, assessment=assessment, language=language, text=body, published_by=actor, published_at=now
    )
    audit_record(actor=actor, action="send", obj=summary, case=case, detail={"language": language})
    return summary


@transaction.atomic
def family_summary_withdraw(*, summary: FamilySummary, actor) -> bool:
    """Take a published summary off the family's portal (nothing replaces it). Returns False when
    it was not published (already withdrawn)."""
    locked = FamilySummary.objects.select_for_update().get(pk=summary.pk)
    if locked.published_at is None or locked.withdrawn_at is not None:
        return False
    locked.withdrawn_at = timezone.now()
    locked.save(update_fields=["withdrawn_at"])
    audit_record(actor=actor, action="update", obj=locked, case=locked.case, detail={"withdrawn": True})
    return True
