"""The CD19 CAR-T pre-screen for relapsed/refractory B-ALL, as plain functions over plain data.

This module is the table "Eligibility pre-screen" of the pathway document, written so a
clinician can review it line by line. It imports nothing from Django: the inputs are frozen
dataclasses built from the clinical profile, the output is an ``EligibilityResult``.

One function per row of the table::

    criterion          function                  met when
    diagnosis          check_diagnosis           B-cell precursor ALL, lineage confirmed by flow / immunophenotyping
    cd19               check_cd19                CD19+ by flow on marrow or blood, from the most recent sample
    age                check_age                 >= 1 year; adults no upper limit (fitness decides from 60)
    disease_status     check_disease_status      relapsed or refractory (>= 2 lines, primary refractory, post-allo relapse)
    post_transplant    check_post_transplant     no allo-SCT, or off immunosuppression with no active GvHD
    cns                check_cns                 CNS1 (CNS2: review; CNS3: excluded)
    philadelphia       check_philadelphia        Ph status known (Ph+ is eligible; the TKI continues)

VERDICT RULE (one sentence): any criterion not met -> not eligible; else any criterion with
missing information -> incomplete; else any criterion needing review -> needs specialist review;
else likely eligible.

Nothing here is medical advice: the pre-screen tells a coordinator what is plausible and what
is missing. The treating haematologist at the centre decides.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

RULESET_VERSION = "b-all-cd19-2025.1"

# --- Outcomes and verdicts --------------------------------------------------------------

MET = "met"
NOT_MET = "not_met"
NEEDS_REVIEW = "needs_review"
MISSING = "missing"
OUTCOMES = (MET, NOT_MET, NEEDS_REVIEW, MISSING)

LIKELY_ELIGIBLE = "likely_eligible"
NEEDS_SPECIALIST_REVIEW = "needs_specialist_review"
NOT_ELIGIBLE = "not_eligible"
INCOMPLETE = "incomplete"
VERDICTS = (LIKELY_ELIGIBLE, NEEDS_SPECIALIST_REVIEW, NOT_ELIGIBLE, INCOMPLETE)

CRITERIA = ("diagnosis", "cd19", "age", "disease_status", "post_transplant", "cns", "philadelphia")

# --- Vocabulary of the input data -------------------------------------------------------

LINEAGES = ("b_all", "t_all", "aml", "other", "unknown")
# Methods that establish B lineage; anything else (morphology alone) leaves lineage unconfirmed.
LINEAGE_CONFIRMING_METHODS = ("flow_cytometry", "immunophenotyping")
LINEAGE_METHODS = ("flow_cytometry", "immunophenotyping", "immunohistochemistry", "morphology", "unknown")

CD19_STATUSES = ("positive", "dim", "negative")
CD19_SAMPLE_TYPES = ("bone_marrow", "peripheral_blood", "csf", "tissue", "other")
CD19_QUALIFYING_SAMPLES = ("bone_marrow", "peripheral_blood")
CD19_METHODS = ("flow_cytometry", "immunohistochemistry", "other")

DONOR_TYPES = ("matched_sibling", "matched_unrelated", "haploidentical", "mismatched_unrelated", "cord", "autologous")
CNS_STATUSES = ("cns1", "cns2", "cns3")
PH_STATUSES = ("positive", "negative")
FITNESS_SCALES = {"ecog": (0, 5), "karnofsky": (0, 100), "lansky": (0, 100)}

CNS2_POLICIES = ("accept", "review", "exclude")

ADULT_REVIEW_AGE_YEARS = 60  # "adults into their 60s-70s have been treated": fitness assessment, not exclusion
PAEDIATRIC_MIN_AGE_MONTHS = 12  # "paediatric >= 1 year (weight-based dosing)"
RR_MIN_PRIOR_LINES = 2  # ">= 2 prior chemotherapy lines" (one of three ways to be r/r)


# --- Input data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnosis:
    lineage: str = "unknown"
    confirmation_method: str = "unknown"
    date: dt.date | None = None


@dataclass(frozen=True)
class Cd19Result:
    status: str
    sample_type: str
    sample_date: dt.date
    method: str = "flow_cytometry"


@dataclass(frozen=True)
class Relapse:
    date: dt.date
    site: str = ""


@dataclass(frozen=True)
class TherapyLine:
    regimen: str
    start: dt.date
    end: dt.date | None = None
    best_response: str = ""
    cd19_directed: bool = False


@dataclass(frozen=True)
class Transplant:
    date: dt.date
    donor_type: str
    on_immunosuppression: bool | None = None
    active_gvhd: bool | None = None

    @property
    def is_allogeneic(self) -> bool:
        return self.donor_type != "autologous"


@dataclass(frozen=True)
class CnsAssessment:
    status: str
    date: dt.date


@dataclass(frozen=True)
class Philadelphia:
    status: str | None = None  # positive / negative / None = not known
    date: dt.date | None = None
    current_tki: str = ""


@dataclass(frozen=True)
class Fitness:
    scale: str
    score: int
    date: dt.date


@dataclass(frozen=True)
class Profile:
    """Everything the pre-screen reads. Empty tuples mean "none recorded"; ``None`` means unknown."""

    assessed_on: dt.date
    date_of_birth: dt.date | None = None
    diagnosis: Diagnosis = field(default_factory=Diagnosis)
    cd19_results: tuple[Cd19Result, ...] = ()
    relapses: tuple[Relapse, ...] = ()
    therapy_lines: tuple[TherapyLine, ...] = ()
    # Lines reported in a referral letter when the detailed history is not in yet.
    reported_prior_lines: int | None = None
    primary_refractory: bool | None = None
    # Has the patient ever had a stem-cell transplant? None = not asked / not known.
    prior_transplant: bool | None = None
    transplants: tuple[Transplant, ...] = ()
    cns_assessments: tuple[CnsAssessment, ...] = ()
    philadelphia: Philadelphia = field(default_factory=Philadelphia)
    fitness: tuple[Fitness, ...] = ()


@dataclass(frozen=True)
class RuleVariation:
    """A centre's own variations applied on top of the base rules (``None`` = base rule)."""

    centre: str = ""
    min_age_months: int | None = None
    max_age_years: int | None = None
    cns2_policy: str = "review"
    min_prior_lines: int | None = None

    def describe(self) -> list[str]:
        parts = []
        if self.min_age_months is not None:
            parts.append(f"minimum age {self.min_age_months} months")
        if self.max_age_years is not None:
            parts.append(f"maximum age {self.max_age_years} years")
        if self.cns2_policy != "review":
            parts.append(f"CNS2 {'accepted' if self.cns2_policy == 'accept' else 'excluded'}")
        if self.min_prior_lines is not None:
            parts.append(f"at least {self.min_prior_lines} prior lines unless primary refractory or post-allo relapse")
        return parts


BASE_RULES = RuleVariation()


# --- Output -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionResult:
    criterion: str
    outcome: str
    explanation: str
    # Set when a coordinator overrode the computed outcome: {"from", "reason", "by"}.
    override: Mapping | None = None

    def as_dict(self) -> dict:
        return {
            "criterion": self.criterion,
            "outcome": self.outcome,
            "explanation": self.explanation,
            "override": dict(self.override) if self.override else None,
        }


@dataclass(frozen=True)
class Note:
    """Something the team must know that is not a verdict (e.g. the TKI continues)."""

    code: str
    text: str

    def as_dict(self) -> dict:
        return {"code": self.code, "text": self.text}


@dataclass(frozen=True)
class EligibilityResult:
    ruleset_version: str
    verdict: str
    criteria: tuple[CriterionResult, ...]
    notes: tuple[Note, ...]
    variation: RuleVariation = BASE_RULES

    def criterion(self, name: str) -> CriterionResult:
        return next(c for c in self.criteria if c.criterion == name)

    def as_dict(self) -> dict:
        return {
            "ruleset_version": self.ruleset_version,
            "verdict": self.verdict,
            "criteria": [c.as_dict() for c in self.criteria],
            "notes": [n.as_dict() for n in self.notes],
            "variation": dataclasses.asdict(self.variation),
        }


# --- Validation: contradictory or impossible data is refused, never evaluated -------------


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


class ProfileInvalid(ValueError):
    """The profile contradicts itself; ``problems`` names each field and what is wrong."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(" ".join(f"{p.field}: {p.message}" for p in problems))

    def as_field_errors(self) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for p in self.problems:
            errors.setdefault(p.field, []).append(p.message)
        return errors


def _d(value: dt.date) -> str:
    return value.isoformat()


def validate(profile: Profile) -> None:
    """Raise ``ProfileInvalid`` listing every impossible or contradictory fact (all at once)."""
    p = profile
    problems: list[Problem] = []
    today = p.assessed_on
    dob = p.date_of_birth
    dx = p.diagnosis.date

    def check_date(name: str, value: dt.date | None, what: str) -> None:
        if value is None:
            return
        if value > today:
            problems.append(Problem(name, f"The {what} ({_d(value)}) is in the future; check the date."))
        if dob and value < dob:
            problems.append(Problem(name, f"The {what} ({_d(value)}) is before the date of birth ({_d(dob)})."))

    if dob and dob > today:
        problems.append(Problem("date_of_birth", f"The date of birth ({_d(dob)}) is in the future."))
    check_date("diagnosis_date", dx, "diagnosis date")

    for i, r in enumerate(p.cd19_results):
        check_date(f"cd19_results[{i}].sample_date", r.sample_date, "CD19 sample date")
    seen: dict[tuple, str] = {}
    for i, r in enumerate(p.cd19_results):
        key = (r.sample_date, r.sample_type)
        if key in seen and seen[key] != r.status:
            problems.append(
                Problem(
                    f"cd19_results[{i}].status",
                    f"Two CD19 results on the same {r.sample_type.replace('_', ' ')} sample of {_d(r.sample_date)} "
                    f"disagree ({seen[key]} and {r.status}); keep the one from the final report.",
                )
            )
        seen.setdefault(key, r.status)

    for i, r in enumerate(p.relapses):
        check_date(f"relapses[{i}].date", r.date, "relapse date")
        if dx and r.date < dx:
            problems.append(
                Problem(f"relapses[{i}].date", f"The relapse ({_d(r.date)}) is before the diagnosis ({_d(dx)}).")
            )

    for i, line in enumerate(p.therapy_lines):
        check_date(f"therapy_lines[{i}].start", line.start, "therapy start date")
        check_date(f"therapy_lines[{i}].end", line.end, "therapy end date")
        if line.end and line.end < line.start:
            problems.append(
                Problem(
                    f"therapy_lines[{i}].end",
                    f"The line '{line.regimen}' ends ({_d(line.end)}) before it starts ({_d(line.start)}).",
                )
            )
        if dx and line.start < dx:
            problems.append(
                Problem(
                    f"therapy_lines[{i}].start",
                    f"The line '{line.regimen}' starts ({_d(line.start)}) before the diagnosis ({_d(dx)}).",
                )
            )

    if p.reported_prior_lines is not None and p.reported_prior_lines < 0:
        problems.append(Problem("reported_prior_lines", "The number of prior lines cannot be negative."))

    for i, t in enumerate(p.transplants):
        check_date(f"transplants[{i}].date", t.date, "transplant date")
        if dx and t.date < dx:
            problems.append(
                Problem(f"transplants[{i}].date", f"The transplant ({_d(t.date)}) is before the diagnosis ({_d(dx)}).")
            )
    if p.prior_transplant is False and p.transplants:
        problems.append(
            Problem("prior_transplant", "The profile says no prior transplant, but transplants are recorded.")
        )

    by_date: dict[dt.date, set[str]] = {}
    for i, c in enumerate(p.cns_assessments):
        check_date(f"cns_assessments[{i}].date", c.date, "CNS assessment date")
        statuses = by_date.setdefault(c.date, set())
        if statuses and c.status not in statuses:
            problems.append(
                Problem(
                    f"cns_assessments[{i}].status",
                    f"CNS status {c.status.upper()} and {'/'.join(sorted(s.upper() for s in statuses))} are both "
                    f"recorded for {_d(c.date)}; one CSF result per date.",
                )
            )
        statuses.add(c.status)

    check_date("philadelphia_date", p.philadelphia.date, "Philadelphia test date")

    for i, f in enumerate(p.fitness):
        check_date(f"fitness[{i}].date", f.date, "fitness assessment date")
        low, high = FITNESS_SCALES.get(f.scale, (0, 100))
        if not low <= f.score <= high or (f.scale != "ecog" and f.score % 10):
            step = "" if f.scale == "ecog" else " in steps of 10"
            problems.append(
                Problem(f"fitness[{i}].score", f"A {f.scale.title()} score is {low} to {high}{step}; got {f.score}.")
            )

    if problems:
        raise ProfileInvalid(problems)


# --- Helpers ------------------------------------------------------------------------------


def age_in_months(dob: dt.date, on: dt.date) -> int:
    """Completed months of age on a date (a first birthday is exactly 12 months)."""
    months = (on.year - dob.year) * 12 + (on.month - dob.month)
    if on.day < dob.day:
        # Not yet the day of the month of birth: the month is not complete, except when the
        # month is too short to have that day (born 31 Jan, 28 Feb counts as a full month).
        next_month_first = (on.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        last_day = (next_month_first - dt.timedelta(days=1)).day
        if not (on.day == last_day and dob.day > last_day):
            months -= 1
    return months


def _latest_allo(profile: Profile) -> Transplant | None:
    allo = [t for t in profile.transplants if t.is_allogeneic]
    return max(allo, key=lambda t: t.date) if allo else None


def prior_line_count(profile: Profile) -> int | None:
    """Lines of therapy: the detailed history, or the reported count if larger. None = unknown."""
    counts = [len(profile.therapy_lines)] if profile.therapy_lines else []
    if profile.reported_prior_lines is not None:
        counts.append(profile.reported_prior_lines)
    return max(counts) if counts else None


# --- One function per row of the table -----------------------------------------------------


def check_diagnosis(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """B-cell precursor ALL with lineage confirmed by flow cytometry / immunophenotyping.
    T-ALL, AML, other: not eligible (T-ALL does not express CD19). Lineage unconfirmed: missing."""
    dx = p.diagnosis
    name = "diagnosis"
    if dx.lineage in ("t_all", "aml", "other"):
        label = {"t_all": "T-ALL", "aml": "AML", "other": "a leukaemia other than B-ALL"}[dx.lineage]
        return CriterionResult(
            name, NOT_MET, f"The recorded diagnosis is {label}, which is not a CD19 CAR-T indication for B-ALL."
        )
    if dx.lineage != "b_all":
        return CriterionResult(name, MISSING, "No diagnosis with a confirmed lineage is recorded yet.")
    if dx.confirmation_method not in LINEAGE_CONFIRMING_METHODS:
        method = dx.confirmation_method.replace("_", " ")
        return CriterionResult(
            name,
            MISSING,
            f"B-ALL is recorded but the lineage is confirmed only by {method}; "
            "flow cytometry or immunophenotyping is needed.",
        )
    return CriterionResult(name, MET, f"B-cell precursor ALL confirmed by {dx.confirmation_method.replace('_', ' ')}.")


def check_cd19(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """CD19+ by flow cytometry on bone marrow or peripheral blood blasts, from the most recent sample.
    CD19-negative: not eligible. A result older than a later relapse or a later CD19-directed
    therapy (blinatumomab, prior CAR-T) needs a new sample (missing). Rituximab (anti-CD20) does not count."""
    name = "cd19"
    if not p.cd19_results:
        return CriterionResult(name, MISSING, "No CD19 result is recorded.")
    latest = max(p.cd19_results, key=lambda r: (r.sample_date, r.status != "negative"))
    sample = f"{latest.sample_type.replace('_', ' ')} sample of {_d(latest.sample_date)}"

    # A relapse on the sample date is the relapse work-up itself: only a strictly later relapse makes it old.
    later_relapses = [r.date for r in p.relapses if r.date > latest.sample_date]
    # A sample taken the day a CD19-directed therapy starts is the pre-treatment baseline: it is old.
    later_cd19_therapy = [t for t in p.therapy_lines if t.cd19_directed and t.start >= latest.sample_date]
    if later_relapses:
        return CriterionResult(
            name,
            MISSING,
            f"The latest CD19 result ({sample}) predates the relapse of {_d(max(later_relapses))}; "
            "a new sample is needed.",
        )
    if later_cd19_therapy:
        t = max(later_cd19_therapy, key=lambda t: t.start)
        return CriterionResult(
            name,
            MISSING,
            f"The latest CD19 result ({sample}) predates the CD19-directed therapy {t.regimen} started "
            f"{_d(t.start)}; a new sample is needed.",
        )
    if latest.status == "negative":
        return CriterionResult(name, NOT_MET, f"The most recent CD19 result ({sample}) is CD19-negative.")
    if latest.status == "dim":
        return CriterionResult(
            name, NEEDS_REVIEW, f"The most recent CD19 result ({sample}) shows dim or partial CD19 expression."
        )
    if latest.method != "flow_cytometry" or latest.sample_type not in CD19_QUALIFYING_SAMPLES:
        return CriterionResult(
            name,
            NEEDS_REVIEW,
            f"CD19+ on the {sample} by {latest.method.replace('_', ' ')}; centres expect flow cytometry "
            "on bone marrow or peripheral blood.",
        )
    return CriterionResult(name, MET, f"CD19+ by flow cytometry on the most recent {sample}.")


def check_age(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """Paediatric >= 1 year; under 1 year: individual assessment (review). Adults: no upper limit,
    fitness decides: from 60 a fitness assessment is needed (review, not exclusion).
    A centre may set its own minimum (months) and maximum (years): outside them, not met there."""
    name = "age"
    if p.date_of_birth is None:
        return CriterionResult(name, MISSING, "The date of birth is not recorded.")
    months = age_in_months(p.date_of_birth, p.assessed_on)
    years = months // 12
    shown = f"{years} years" if years >= 1 else f"{months} months"
    on = f"on {_d(p.assessed_on)}"
    if v.min_age_months is not None and months < v.min_age_months:
        return CriterionResult(
            name,
            NOT_MET,
            f"Aged {shown} {on}, below {v.centre or 'the centre'}'s minimum of {v.min_age_months} months.",
        )
    if v.max_age_years is not None and years > v.max_age_years:
        return CriterionResult(
            name, NOT_MET, f"Aged {shown} {on}, above {v.centre or 'the centre'}'s maximum of {v.max_age_years} years."
        )
    if months < PAEDIATRIC_MIN_AGE_MONTHS:
        return CriterionResult(
            name, NEEDS_REVIEW, f"Aged {months} months {on}: under 1 year needs an individual assessment."
        )
    if years >= ADULT_REVIEW_AGE_YEARS:
        fit = _latest_fitness(p)
        seen = f"latest {fit.scale.title()} {fit.score} of {_d(fit.date)}" if fit else "no fitness score recorded"
        return CriterionResult(name, NEEDS_REVIEW, f"Aged {years} years {on}: a fitness assessment decides ({seen}).")
    return CriterionResult(name, MET, f"Aged {shown} {on}, within the age range.")


def check_disease_status(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """Relapsed or refractory: >= 2 prior lines, OR primary refractory, OR relapse after allo-SCT.
    Base (Chinese protocols): no strict minimum line count, r/r status decides (any relapse counts).
    Not r/r: not eligible for this pathway. A centre may require a minimum number of prior lines."""
    name = "disease_status"
    lines = prior_line_count(p)
    allo = _latest_allo(p)
    post_allo_relapse = bool(allo and any(r.date > allo.date for r in p.relapses))
    lines_text = "no therapy lines recorded" if lines is None else f"{lines} prior line{'s' if lines != 1 else ''}"

    if post_allo_relapse:
        return CriterionResult(name, MET, f"Relapse after allogeneic transplant of {_d(allo.date)} ({lines_text}).")
    if p.primary_refractory:
        return CriterionResult(name, MET, f"Primary refractory disease ({lines_text}).")
    if v.min_prior_lines is not None:
        if lines is None:
            return CriterionResult(
                name, MISSING, f"{v.centre or 'The centre'} requires {v.min_prior_lines} prior lines; {lines_text}."
            )
        if lines < v.min_prior_lines:
            return CriterionResult(
                name,
                NOT_MET,
                f"{lines_text.capitalize()}; {v.centre or 'the centre'} requires at least {v.min_prior_lines} "
                "unless primary refractory or relapsed after allogeneic transplant.",
            )
        return CriterionResult(
            name, MET, f"{lines_text.capitalize()}, meeting the centre's minimum of {v.min_prior_lines}."
        )
    if p.relapses:
        latest = max(r.date for r in p.relapses)
        return CriterionResult(name, MET, f"Relapsed disease, latest relapse {_d(latest)} ({lines_text}).")
    if lines is not None and lines >= RR_MIN_PRIOR_LINES:
        return CriterionResult(name, MET, f"{lines_text.capitalize()}: relapsed/refractory by treatment history.")
    if p.primary_refractory is False and lines is not None:
        return CriterionResult(
            name,
            NOT_MET,
            f"No relapse recorded, not primary refractory, {lines_text}: not relapsed/refractory.",
        )
    return CriterionResult(
        name,
        MISSING,
        f"No relapse recorded, {lines_text}, and whether the disease was primary refractory is not recorded.",
    )


def check_post_transplant(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """After allo-SCT: eligible (particularly valuable) when off immunosuppression and with no
    active GvHD; otherwise not yet eligible, a blocker that can resolve."""
    name = "post_transplant"
    allo = _latest_allo(p)
    if allo is None:
        if p.prior_transplant is None and not p.transplants:
            return CriterionResult(name, MISSING, "Whether the patient has had a stem-cell transplant is not recorded.")
        if p.transplants:
            return CriterionResult(name, MET, "Only an autologous transplant is recorded; no allogeneic restrictions.")
        if p.prior_transplant:
            # A transplant is known to have happened but its record is not in: immunosuppression
            # and GvHD cannot have been checked, so this must not pass as "nothing to wait for".
            return CriterionResult(
                name,
                MISSING,
                "A prior stem-cell transplant is reported but not recorded (date, donor type, "
                "immunosuppression, GvHD).",
            )
        return CriterionResult(name, MET, "No prior stem-cell transplant; nothing to wait for.")
    when = f"allogeneic ({allo.donor_type.replace('_', ' ')}) transplant of {_d(allo.date)}"
    if allo.on_immunosuppression or allo.active_gvhd:
        blockers = [
            b
            for b, on in (("on immunosuppression", allo.on_immunosuppression), ("active GvHD", allo.active_gvhd))
            if on
        ]
        return CriterionResult(
            name,
            NOT_MET,
            f"After the {when}: {' and '.join(blockers)}; not yet eligible until this resolves.",
        )
    unknown = [
        b
        for b, value in (("immunosuppression", allo.on_immunosuppression), ("GvHD", allo.active_gvhd))
        if value is None
    ]
    if unknown:
        return CriterionResult(name, MISSING, f"After the {when}: current {' and '.join(unknown)} status not recorded.")
    return CriterionResult(name, MET, f"After the {when}: off immunosuppression with no active GvHD.")


def check_cns(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """CNS1: met. CNS2: may be permissible with intrathecal prophylaxis (review; a centre may
    accept or exclude it). CNS3 (active CNS disease): excluded from most standard protocols."""
    name = "cns"
    if not p.cns_assessments:
        return CriterionResult(name, MISSING, "No CNS (CSF) assessment is recorded.")
    latest = max(p.cns_assessments, key=lambda c: c.date)
    on = f"on {_d(latest.date)}"
    if latest.status == "cns1":
        return CriterionResult(name, MET, f"CNS1 (no blasts in CSF) {on}.")
    if latest.status == "cns3":
        return CriterionResult(name, NOT_MET, f"CNS3 (active CNS disease) {on} is excluded from standard protocols.")
    if v.cns2_policy == "accept":
        return CriterionResult(
            name, MET, f"CNS2 {on}; {v.centre or 'the centre'} accepts CNS2 with intrathecal prophylaxis."
        )
    if v.cns2_policy == "exclude":
        return CriterionResult(name, NOT_MET, f"CNS2 {on}; {v.centre or 'the centre'} excludes CNS2.")
    return CriterionResult(name, NEEDS_REVIEW, f"CNS2 {on} may be permissible with intrathecal prophylaxis.")


def check_philadelphia(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """Ph+ (BCR::ABL1) is eligible, with the TKI continuing; Ph- is eligible. Unknown: missing."""
    name = "philadelphia"
    ph = p.philadelphia
    when = f" ({_d(ph.date)})" if ph.date else ""
    if ph.status == "positive":
        tki = f"current TKI {ph.current_tki}" if ph.current_tki else "no current TKI recorded"
        return CriterionResult(name, MET, f"Ph+ (BCR::ABL1){when} is eligible; {tki}.")
    if ph.status == "negative":
        return CriterionResult(name, MET, f"Philadelphia-negative (BCR::ABL1 not detected){when}.")
    return CriterionResult(name, MISSING, "Philadelphia status (BCR::ABL1) is not recorded.")


# The table, in the order the pathway document lists it.
CHECKS = (
    check_diagnosis,
    check_cd19,
    check_age,
    check_disease_status,
    check_post_transplant,
    check_cns,
    check_philadelphia,
)


def _latest_fitness(p: Profile) -> Fitness | None:
    return max(p.fitness, key=lambda f: f.date) if p.fitness else None


# --- Notes that are not verdicts ---------------------------------------------------------------


def notes_for(p: Profile) -> tuple[Note, ...]:
    notes: list[Note] = []
    if p.philadelphia.status == "positive":
        notes.append(
            Note(
                "ph_tki_continues",
                "Ph+: the TKI (ponatinib preferred for resistance mutations) continues alongside or after "
                "CAR-T as maintenance.",
            )
        )
    if _latest_allo(p):
        notes.append(
            Note(
                "post_transplant_gvhd_risk",
                "After allogeneic transplant: GvHD risk when the CAR-T cells are made from the original donor's cells.",
            )
        )
    cns = max(p.cns_assessments, key=lambda c: c.date) if p.cns_assessments else None
    if cns and cns.status == "cns2":
        notes.append(Note("cns2_intrathecal", "CNS2: intrathecal prophylaxis continues."))
    if p.date_of_birth and age_in_months(p.date_of_birth, p.assessed_on) // 12 >= ADULT_REVIEW_AGE_YEARS:
        notes.append(
            Note(
                "older_adult_fitness",
                "Adults in their 60s and 70s have been treated at Chinese centres; fitness "
                "(ECOG / Karnofsky) decides, not age.",
            )
        )
    if any("rituximab" in t.regimen.lower() for t in p.therapy_lines):
        notes.append(Note("rituximab_no_effect", "Prior rituximab (anti-CD20) does not affect CD19 expression."))
    return tuple(notes)


# --- The verdict ----------------------------------------------------------------------------------


def verdict_for(outcomes) -> str:
    """Any not met -> not eligible; else any missing -> incomplete; else any needs review ->
    needs specialist review; else likely eligible."""
    outcomes = list(outcomes)
    if NOT_MET in outcomes:
        return NOT_ELIGIBLE
    if MISSING in outcomes:
        return INCOMPLETE
    if NEEDS_REVIEW in outcomes:
        return NEEDS_SPECIALIST_REVIEW
    return LIKELY_ELIGIBLE


def evaluate(profile: Profile, variation: RuleVariation = BASE_RULES) -> EligibilityResult:
    """Validate the profile, then run every row of the table and derive the verdict.

    Raises ``ProfileInvalid`` for contradictory or impossible data: it is refused, not evaluated.
    """
    validate(profile)
    if variation.cns2_policy not in CNS2_POLICIES:
        raise ValueError(f"Unknown CNS2 policy {variation.cns2_policy!r}")
    criteria = tuple(check(profile, variation) for check in CHECKS)
    return EligibilityResult(
        ruleset_version=RULESET_VERSION,
        verdict=verdict_for(c.outcome for c in criteria),
        criteria=criteria,
        notes=notes_for(profile),
        variation=variation,
    )


def with_overrides(result: EligibilityResult, overrides: Mapping[str, Mapping]) -> EligibilityResult:
    """Apply coordinator overrides ({criterion: {"outcome", "reason", "by"}}) and recompute the verdict.

    The computed outcome stays visible in ``override["from"]``.
    """
    if not overrides:
        return result
    criteria = []
    for c in result.criteria:
        o = overrides.get(c.criterion)
        if o is None or o["outcome"] == c.outcome:
            criteria.append(c)
            continue
        criteria.append(
            dataclasses.replace(
                c,
                outcome=o["outcome"],
                override={"from": c.outcome, "reason": o["reason"], "by": o.get("by", "")},
            )
        )
    return dataclasses.replace(result, criteria=tuple(criteria), verdict=verdict_for(c.outcome for c in criteria))
