"""The CD19 CAR-T pre-screen for relapsed/refractory B-ALL, as plain functions over plain data.

This module is the table "Eligibility pre-screen" of the pathway document, written so a
clinician can review it line by line. It imports nothing from Django: the inputs are frozen
dataclasses built from the clinical profile, the output is an ``EligibilityResult``.

One function per row of the table; every number a rule compares with is a field of
``Thresholds`` (one place; a centre may override any of them, see ``RuleVariation``)::

    criterion        function              met when                                             source
    diagnosis        check_diagnosis       B-cell precursor ALL, lineage by flow/immunophenotype guide: Diagnosis
    cd19             check_cd19            CD19+ by flow on marrow/blood, most recent sample,    guide: CD19 expression;
                                           within cd19_valid_days (90), no same-day conflict,   ELIANA: CD19 within 3 months
                                           no prior CD19-directed therapy (else review)
    age              check_age             >= 1 year (under 1: review); no upper limit           guide: Age
    fitness          check_fitness         Lansky (< 16 y) / Karnofsky (>= 16 y) >= 70, or       guide: "fitness decides";
                                           ECOG (>= 18 y) 0-1; 50-60 / ECOG 2 review;           ELIANA: Karnofsky/Lansky >= 50;
                                           below: not met (can change)                          ZUMA-3: ECOG 0-1
    organ_function   check_organ_function  CrCl/eGFR >= 60, LVEF >= 45 %, bilirubin < 2 x ULN,   ZUMA-3: CrCl >= 60 mL/min;
                                           ALT/AST <= 5 x ULN, SpO2 > 91 % on room air,          ELIANA: EF >= 45 %, bilirubin
                                           each within organ_valid_days (30)                    < 2 x ULN, ALT <= 5 x ULN, SpO2 > 91 %
    infection        check_infection       no active infection; controlled: review;              ELIANA/ZUMA-3: uncontrolled
                                           uncontrolled: not met (can change)                   infection excluded
    disease_status   check_disease_status  disease now (latest marrow after the latest relapse:  ELIANA, ZUMA-3 (see the
                                           >= 5 % blasts, or MRD-positive: review) AND primary  function); guide: Prior
                                           refractory, relapse after allo-SCT, >= 2 relapses,    treatment lines
                                           >= 2 lines, refractory to the last line, or a first
                                           relapse after a first remission <= 12 months
    post_transplant  check_post_transplant no allo-SCT, or off immunosuppression, no active GvHD guide: Post-allo-SCT relapse
    cns              check_cns             CNS1 within cns_valid_days and after the latest       guide: CNS ALL ("variable")
                                           relapse; CNS2 review; CNS3 not met (centre variation)
    philadelphia     check_philadelphia    Ph status known (Ph+ is eligible; the TKI continues)  guide: Ph+ ALL

VERDICT RULE (one sentence): any criterion not met -> not eligible; else any criterion with
missing information -> incomplete; else any criterion needing review -> needs specialist review;
else likely eligible.

Every criterion result names the facts that decided it (``facts``: kind, row id, date, source
document) and a ``code`` that the wording (``eligibility.wording``) turns into coordinator and
family sentences saying whether a blocker is permanent or can change, and what would change it.

Nothing here is medical advice: the pre-screen tells a coordinator what is plausible and what
is missing. The treating haematologist at the centre decides.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

RULESET_VERSION = "b-all-cd19-2026.1"

# --- Outcomes and verdicts --------------------------------------------------------------

MET = "met"
NOT_MET = "not_met"
NEEDS_REVIEW = "needs_review"
MISSING = "missing"
OUTCOMES = (MET, NOT_MET, NEEDS_REVIEW, MISSING)
# How far each outcome is from "met", for the verdict and for "a worse fact never improves".
OUTCOME_RANK = {MET: 0, NEEDS_REVIEW: 1, MISSING: 2, NOT_MET: 3}

LIKELY_ELIGIBLE = "likely_eligible"
NEEDS_SPECIALIST_REVIEW = "needs_specialist_review"
NOT_ELIGIBLE = "not_eligible"
INCOMPLETE = "incomplete"
VERDICTS = (LIKELY_ELIGIBLE, NEEDS_SPECIALIST_REVIEW, NOT_ELIGIBLE, INCOMPLETE)
VERDICT_RANK = {LIKELY_ELIGIBLE: 0, NEEDS_SPECIALIST_REVIEW: 1, INCOMPLETE: 2, NOT_ELIGIBLE: 3}

CRITERIA = (
    "diagnosis",
    "cd19",
    "age",
    "fitness",
    "organ_function",
    "infection",
    "disease_status",
    "post_transplant",
    "cns",
    "philadelphia",
)

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

# CNS policies of a centre, from the most to the least permissive.
CNS_POLICIES = ("accept", "review", "exclude")
CNS2_POLICIES = CNS_POLICIES

# Organ function tests: (label, UCUM units accepted, LOINC code or "" where none fits).
ORGAN_TESTS = {
    "creatinine_clearance": ("creatinine clearance", ("mL/min", "mL/min/{1.73_m2}"), "2164-2"),
    "egfr": ("eGFR", ("mL/min/{1.73_m2}",), "33914-3"),
    "lvef": ("LVEF", ("%",), "10230-1"),
    "bilirubin": ("total bilirubin", ("umol/L", "mg/dL"), "1975-2"),
    "alt": ("ALT", ("U/L",), "1742-6"),
    "ast": ("AST", ("U/L",), "1920-8"),
    "spo2": ("SpO2 on room air", ("%",), "59408-5"),
}
ULN_TESTS = ("bilirubin", "alt", "ast")  # judged as multiples of the laboratory's upper limit of normal
INFECTION_STATUSES = ("uncontrolled", "controlled", "resolved")
MRD_RESULTS = ("negative", "positive", "not_done")
MRD_METHODS = ("flow_cytometry", "pcr", "ngs")
# Responses of a line that mean the disease did not respond to it (refractory).
REFRACTORY_RESPONSES = ("refractory", "nr", "no response", "pd", "progressive disease", "progression")

ADULT_REVIEW_AGE_YEARS = 60  # "adults into their 60s-70s have been treated": fitness decides (note only)
PAEDIATRIC_MIN_AGE_MONTHS = 12  # "paediatric >= 1 year (weight-based dosing)"
RR_MIN_PRIOR_LINES = 2  # ">= 2 prior chemotherapy lines" (guide; ZUMA-3: r/r after >= 2 lines of systemic therapy)


@dataclass(frozen=True)
class Thresholds:
    """Every number the rules compare with, in one place. A centre overrides any of them
    (``CentreCriteria.thresholds``), e.g. ``ecog_met_max=2`` for a centre that accepts ECOG 2."""

    # Performance status. ZUMA-3: ECOG 0-1. ELIANA: Karnofsky (>= 16 y) or Lansky (< 16 y) >= 50.
    ecog_met_max: int = 1
    ecog_review_max: int = 2
    karnofsky_lansky_met_min: int = 70  # the Karnofsky equivalent of ECOG 0-1
    karnofsky_lansky_review_min: int = 50  # ELIANA's minimum
    lansky_below_age_years: int = 16  # ELIANA: Lansky under 16, Karnofsky from 16
    ecog_from_age_years: int = 18  # ECOG is an adult scale
    fitness_valid_days: int = 30  # a screening assessment: about four weeks old at most
    # Organ function. ZUMA-3: creatinine clearance >= 60 mL/min. ELIANA: ejection fraction >= 45 %,
    # total bilirubin < 2 x ULN, ALT <= 5 x ULN, pulse oximetry > 91 % on room air.
    renal_min: float = 60
    lvef_min_percent: float = 45
    bilirubin_max_uln: float = 2  # strictly below
    alt_max_uln: float = 5
    ast_max_uln: float = 5
    spo2_min_percent: float = 92  # "> 91 %"
    organ_valid_days: int = 30
    # Disease now. ELIANA and ZUMA-3: >= 5 % marrow blasts at screening. ZUMA-3: a first relapse
    # qualifies only after a first remission of 12 months or less.
    morphological_blasts_percent: float = 5
    first_remission_max_months: int = 12
    marrow_valid_days: int = 90
    # Recency. ELIANA: CD19 tumour expression documented within 3 months of screening.
    cd19_valid_days: int = 90
    cns_valid_days: int = 90
    infection_review_valid_days: int = 30

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))


DEFAULT_THRESHOLDS = Thresholds()


def thresholds_with(overrides: Mapping | None) -> Thresholds:
    """The default thresholds with a centre's overrides; unknown names or non-numbers raise ValueError."""
    if not overrides:
        return DEFAULT_THRESHOLDS
    unknown = set(overrides) - set(Thresholds.names())
    if unknown:
        raise ValueError(f"Unknown thresholds: {', '.join(sorted(unknown))}.")
    values = {}
    for name, value in overrides.items():
        kind = type(getattr(DEFAULT_THRESHOLDS, name))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name} must be a number, 0 or more.")
        if kind is int and int(value) != value:
            raise ValueError(f"{name} must be a whole number.")
        values[name] = kind(value)
    return dataclasses.replace(DEFAULT_THRESHOLDS, **values)


# --- Input data ---------------------------------------------------------------------------
# Each fact may carry the id of its row and the document that proves it (``row``, ``source``):
# they are named in the results, never read by a rule.


@dataclass(frozen=True)
class Diagnosis:
    lineage: str = "unknown"
    confirmation_method: str = "unknown"
    date: dt.date | None = None
    source: int | None = None


@dataclass(frozen=True)
class Cd19Result:
    status: str
    sample_type: str
    sample_date: dt.date
    method: str = "flow_cytometry"
    row: int | None = None
    source: int | None = None


@dataclass(frozen=True)
class Relapse:
    date: dt.date
    site: str = ""
    row: int | None = None
    source: int | None = None


@dataclass(frozen=True)
class TherapyLine:
    regimen: str
    start: dt.date
    end: dt.date | None = None
    best_response: str = ""
    cd19_directed: bool = False
    cd22_directed: bool = False
    row: int | None = None
    source: int | None = None

    @property
    def refractory(self) -> bool:
        return self.best_response.strip().lower() in REFRACTORY_RESPONSES or "refractory" in self.best_response.lower()


@dataclass(frozen=True)
class Transplant:
    date: dt.date
    donor_type: str
    on_immunosuppression: bool | None = None
    active_gvhd: bool | None = None
    row: int | None = None
    source: int | None = None

    @property
    def is_allogeneic(self) -> bool:
        return self.donor_type != "autologous"


@dataclass(frozen=True)
class CnsAssessment:
    status: str
    date: dt.date
    row: int | None = None
    source: int | None = None


@dataclass(frozen=True)
class Philadelphia:
    status: str | None = None  # positive / negative / None = not known
    date: dt.date | None = None
    current_tki: str = ""
    source: int | None = None


@dataclass(frozen=True)
class Fitness:
    scale: str
    score: int
    date: dt.date
    row: int | None = None
    source: int | None = None


@dataclass(frozen=True)
class OrganFunction:
    """One laboratory or imaging value: ``test`` is a key of ORGAN_TESTS, ``unit`` UCUM."""

    test: str
    value: float
    unit: str
    date: dt.date
    upper_limit_normal: float | None = None
    row: int | None = None
    source: int | None = None


@dataclass(frozen=True)
class Infection:
    description: str
    status: str  # uncontrolled / controlled / resolved
    date: dt.date
    row: int | None = None
    source: int | None = None


@dataclass(frozen=True)
class Marrow:
    """A bone marrow aspirate: blasts and MRD (method and sensitivity, e.g. 0.0001 for 10^-4)."""

    date: dt.date
    blasts_percent: float | None = None
    mrd: str = "not_done"
    mrd_level: float | None = None
    mrd_method: str = ""
    mrd_sensitivity: float | None = None
    row: int | None = None
    source: int | None = None


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
    # The date the first complete remission was reached (for an early vs late first relapse).
    first_remission_date: dt.date | None = None
    # Has the patient ever had a stem-cell transplant? None = not asked / not known.
    prior_transplant: bool | None = None
    transplants: tuple[Transplant, ...] = ()
    cns_assessments: tuple[CnsAssessment, ...] = ()
    philadelphia: Philadelphia = field(default_factory=Philadelphia)
    fitness: tuple[Fitness, ...] = ()
    organ_function: tuple[OrganFunction, ...] = ()
    infections: tuple[Infection, ...] = ()
    # The date the records were last checked for active infection (None = never).
    infections_reviewed_on: dt.date | None = None
    marrow: tuple[Marrow, ...] = ()


@dataclass(frozen=True)
class RuleVariation:
    """A centre's own variations applied on top of the base rules (``None`` = base rule)."""

    centre: str = ""
    min_age_months: int | None = None
    max_age_years: int | None = None
    cns2_policy: str = "review"
    min_prior_lines: int | None = None
    cns3_policy: str = "exclude"
    thresholds: Thresholds = DEFAULT_THRESHOLDS

    def describe(self) -> list[str]:
        parts = []
        if self.min_age_months is not None:
            parts.append(f"minimum age {self.min_age_months} months")
        if self.max_age_years is not None:
            parts.append(f"maximum age {self.max_age_years} years")
        if self.cns2_policy != "review":
            parts.append(f"CNS2 {'accepted' if self.cns2_policy == 'accept' else 'excluded'}")
        if self.cns3_policy != "exclude":
            parts.append(f"CNS3 {'accepted' if self.cns3_policy == 'accept' else 'reviewed'}")
        if self.min_prior_lines is not None:
            parts.append(f"at least {self.min_prior_lines} prior lines unless primary refractory or post-allo relapse")
        for f in dataclasses.fields(Thresholds):
            value = getattr(self.thresholds, f.name)
            if value != getattr(DEFAULT_THRESHOLDS, f.name):
                parts.append(f"{f.name.replace('_', ' ')} {value}")
        return parts

    def check(self) -> None:
        """A centre's CNS3 policy may not be more permissive than its CNS2 policy."""
        for name in ("cns2_policy", "cns3_policy"):
            if getattr(self, name) not in CNS_POLICIES:
                raise ValueError(f"Unknown {name.replace('_', ' ')} {getattr(self, name)!r}")
        if CNS_POLICIES.index(self.cns3_policy) < CNS_POLICIES.index(self.cns2_policy):
            raise ValueError("CNS3 (active CNS disease) cannot be treated more permissively than CNS2.")


BASE_RULES = RuleVariation()


# --- Output -------------------------------------------------------------------------------


def fact_ref(kind: str, fact, when: dt.date | None = None) -> dict:
    """A fact named in a result: its kind, row, date and the document that proves it."""
    return {
        "kind": kind,
        "id": getattr(fact, "row", None),
        "date": when.isoformat() if when else None,
        "source_document": getattr(fact, "source", None),
    }


@dataclass(frozen=True)
class CriterionResult:
    criterion: str
    outcome: str
    explanation: str
    # Set when a coordinator overrode the computed outcome: {"from", "reason", "by"}.
    override: Mapping | None = None
    # What decided it: a code the wording reads, and the facts (kind, id, date, source document).
    code: str = ""
    facts: tuple[Mapping, ...] = ()

    def as_dict(self) -> dict:
        return {
            "criterion": self.criterion,
            "outcome": self.outcome,
            "explanation": self.explanation,
            "override": dict(self.override) if self.override else None,
            "code": self.code,
            "facts": [dict(f) for f in self.facts],
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

    check_date("first_remission_date", p.first_remission_date, "date of first remission")
    if p.first_remission_date and dx and p.first_remission_date < dx:
        problems.append(
            Problem(
                "first_remission_date",
                f"The first remission ({_d(p.first_remission_date)}) is before the diagnosis ({_d(dx)}).",
            )
        )
    first_relapse = min((r.date for r in p.relapses), default=None)
    if p.first_remission_date and first_relapse and p.first_remission_date > first_relapse:
        problems.append(
            Problem(
                "first_remission_date",
                f"The first remission ({_d(p.first_remission_date)}) is after the first relapse ({_d(first_relapse)}).",
            )
        )

    for i, o in enumerate(p.organ_function):
        check_date(f"organ_function[{i}].date", o.date, "test date")
        if o.test not in ORGAN_TESTS:
            problems.append(Problem(f"organ_function[{i}].test", f"Unknown test {o.test!r}."))
            continue
        label, units, _loinc = ORGAN_TESTS[o.test]
        if o.unit not in units:
            problems.append(
                Problem(
                    f"organ_function[{i}].unit", f"Give the {label} in {' or '.join(units)} (UCUM); got {o.unit!r}."
                )
            )
        if o.value < 0 or (o.unit == "%" and o.value > 100):
            problems.append(Problem(f"organ_function[{i}].value", f"A {label} of {o.value} {o.unit} is impossible."))
        if o.test in ULN_TESTS and o.upper_limit_normal is not None and o.upper_limit_normal <= 0:
            problems.append(
                Problem(f"organ_function[{i}].upper_limit_normal", "The upper limit of normal must be above 0.")
            )

    for i, inf in enumerate(p.infections):
        check_date(f"infections[{i}].date", inf.date, "infection date")
        if inf.status not in INFECTION_STATUSES:
            problems.append(
                Problem(f"infections[{i}].status", f"Infection status is one of {', '.join(INFECTION_STATUSES)}.")
            )
    check_date("infections_reviewed_on", p.infections_reviewed_on, "infection review date")

    for i, m in enumerate(p.marrow):
        check_date(f"marrow[{i}].date", m.date, "marrow date")
        if m.blasts_percent is not None and not 0 <= m.blasts_percent <= 100:
            problems.append(Problem(f"marrow[{i}].blasts_percent", "Blasts are a percentage from 0 to 100."))
        if m.mrd not in MRD_RESULTS:
            problems.append(Problem(f"marrow[{i}].mrd", f"MRD is one of {', '.join(MRD_RESULTS)}."))
        elif m.mrd != "not_done" and (m.mrd_method not in MRD_METHODS or not m.mrd_sensitivity):
            problems.append(
                Problem(
                    f"marrow[{i}].mrd_method",
                    "An MRD result needs its method (flow cytometry, PCR or NGS) and sensitivity (e.g. 0.0001).",
                )
            )
        if m.mrd == "negative" and m.mrd_level and m.mrd_sensitivity and m.mrd_level >= m.mrd_sensitivity:
            problems.append(
                Problem(
                    f"marrow[{i}].mrd_level",
                    f"A level of {m.mrd_level} is at or above the sensitivity ({m.mrd_sensitivity}): MRD-positive.",
                )
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
    return max(allo, key=lambda t: (t.date, t.row or 0)) if allo else None


def prior_line_count(profile: Profile) -> int | None:
    """Lines of therapy: the detailed history, or the reported count if larger. None = unknown."""
    counts = [len(profile.therapy_lines)] if profile.therapy_lines else []
    if profile.reported_prior_lines is not None:
        counts.append(profile.reported_prior_lines)
    return max(counts) if counts else None


def _age_days(p: Profile, when: dt.date) -> int:
    return (p.assessed_on - when).days


def _result(name, outcome, explanation, code, *facts) -> CriterionResult:
    return CriterionResult(name, outcome, explanation, code=code, facts=tuple(f for f in facts if f))


# --- One function per row of the table -----------------------------------------------------


def check_diagnosis(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """B-cell precursor ALL with lineage confirmed by flow cytometry / immunophenotyping.
    T-ALL, AML, other: not eligible (T-ALL does not express CD19). Lineage unconfirmed: missing."""
    dx = p.diagnosis
    name = "diagnosis"
    ref = fact_ref("diagnosis", dx, dx.date) if dx.lineage != "unknown" else None
    if dx.lineage in ("t_all", "aml", "other"):
        label = {"t_all": "T-ALL", "aml": "AML", "other": "a leukaemia other than B-ALL"}[dx.lineage]
        return _result(
            name,
            NOT_MET,
            f"The recorded diagnosis is {label}, which is not a CD19 CAR-T indication for B-ALL.",
            "not_b_all",
            ref,
        )
    if dx.lineage != "b_all":
        return _result(name, MISSING, "No diagnosis with a confirmed lineage is recorded yet.", "diagnosis_missing")
    if dx.confirmation_method not in LINEAGE_CONFIRMING_METHODS:
        method = dx.confirmation_method.replace("_", " ")
        return _result(
            name,
            MISSING,
            f"B-ALL is recorded but the lineage is confirmed only by {method}; "
            "flow cytometry or immunophenotyping is needed.",
            "lineage_unconfirmed",
            ref,
        )
    return _result(
        name, MET, f"B-cell precursor ALL confirmed by {dx.confirmation_method.replace('_', ' ')}.", "met", ref
    )


def check_cd19(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """CD19+ by flow cytometry on bone marrow or peripheral blood blasts, from the most recent sample
    (guide). Results of that date that disagree (e.g. a CD19-negative marrow beside a CD19+ blood
    sample): review, CD19-negative escape is possible. A result older than a later relapse, a later
    CD19-directed therapy (blinatumomab, prior CAR-T) or ``cd19_valid_days`` (ELIANA: CD19 documented
    within 3 months) needs a new sample (missing). CD19-negative: not met. Prior CD19-directed therapy
    before a CD19+ sample: review. Rituximab (anti-CD20) does not count (guide)."""
    name = "cd19"
    t = v.thresholds
    if not p.cd19_results:
        return _result(name, MISSING, "No CD19 result is recorded.", "cd19_missing")
    latest_date = max(r.sample_date for r in p.cd19_results)
    same_day = sorted(
        (r for r in p.cd19_results if r.sample_date == latest_date),
        key=lambda r: (CD19_STATUSES.index(r.status), r.sample_type),
    )
    latest = same_day[-1]  # the least favourable result of the most recent date
    refs = [fact_ref("cd19_results", r, r.sample_date) for r in same_day]
    sample = f"{latest.sample_type.replace('_', ' ')} sample of {_d(latest.sample_date)}"

    # A relapse on the sample date is the relapse work-up itself: only a strictly later relapse makes it old.
    later_relapses = [r for r in p.relapses if r.date > latest_date]
    # A sample taken the day a CD19-directed therapy starts is the pre-treatment baseline: it is old.
    later_cd19_therapy = [line for line in p.therapy_lines if line.cd19_directed and line.start >= latest_date]
    if later_relapses:
        r = max(later_relapses, key=lambda r: r.date)
        return _result(
            name,
            MISSING,
            f"The latest CD19 result ({sample}) predates the relapse of {_d(r.date)}; a new sample is needed.",
            "cd19_before_relapse",
            *refs,
            fact_ref("relapses", r, r.date),
        )
    if later_cd19_therapy:
        line = max(later_cd19_therapy, key=lambda line: line.start)
        return _result(
            name,
            MISSING,
            f"The latest CD19 result ({sample}) predates the CD19-directed therapy {line.regimen} started "
            f"{_d(line.start)}; a new sample is needed.",
            "cd19_before_therapy",
            *refs,
            fact_ref("therapy_lines", line, line.start),
        )
    if _age_days(p, latest_date) > t.cd19_valid_days:
        return _result(
            name,
            MISSING,
            f"The latest CD19 result ({sample}) is {_age_days(p, latest_date)} days old, more than "
            f"{t.cd19_valid_days} (ELIANA: CD19 within 3 months); a new sample is needed.",
            "cd19_stale",
            *refs,
        )
    statuses = {r.status for r in same_day}
    if len(statuses) > 1:
        seen = ", ".join(f"{r.status} on {r.sample_type.replace('_', ' ')}" for r in same_day)
        if latest.status == "negative":
            return _result(
                name,
                NEEDS_REVIEW,
                f"The CD19 results of {_d(latest_date)} disagree ({seen}); CD19-negative escape must be ruled out.",
                "cd19_conflict",
                *refs,
            )
        return _result(
            name, NEEDS_REVIEW, f"The CD19 results of {_d(latest_date)} disagree ({seen}).", "cd19_conflict", *refs
        )
    if latest.status == "negative":
        return _result(
            name, NOT_MET, f"The most recent CD19 result ({sample}) is CD19-negative.", "cd19_negative", *refs
        )
    if latest.status == "dim":
        return _result(
            name,
            NEEDS_REVIEW,
            f"The most recent CD19 result ({sample}) shows dim or partial CD19 expression.",
            "cd19_dim",
            *refs,
        )
    if latest.method != "flow_cytometry" or latest.sample_type not in CD19_QUALIFYING_SAMPLES:
        return _result(
            name,
            NEEDS_REVIEW,
            f"CD19+ on the {sample} by {latest.method.replace('_', ' ')}; centres expect flow cytometry "
            "on bone marrow or peripheral blood.",
            "cd19_sample_method",
            *refs,
        )
    prior = [line for line in p.therapy_lines if line.cd19_directed]
    if prior:
        line = max(prior, key=lambda line: line.start)
        return _result(
            name,
            NEEDS_REVIEW,
            f"CD19+ on the most recent {sample}, after the CD19-directed therapy {line.regimen} of "
            f"{_d(line.start)}; a specialist reviews prior CD19-directed treatment.",
            "cd19_prior_directed_therapy",
            *refs,
            fact_ref("therapy_lines", line, line.start),
        )
    return _result(name, MET, f"CD19+ by flow cytometry on the most recent {sample}.", "met", *refs)


def check_age(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """Paediatric >= 1 year; under 1 year: individual assessment (review). Adults: no upper limit,
    fitness decides (the fitness row, for every age). A centre may set its own minimum (months)
    and maximum (years): outside them, not met there."""
    name = "age"
    if p.date_of_birth is None:
        return _result(name, MISSING, "The date of birth is not recorded.", "age_missing")
    ref = {"kind": "date_of_birth", "id": None, "date": _d(p.date_of_birth), "source_document": None}
    months = age_in_months(p.date_of_birth, p.assessed_on)
    years = months // 12
    shown = f"{years} years" if years >= 1 else f"{months} months"
    on = f"on {_d(p.assessed_on)}"
    if v.min_age_months is not None and months < v.min_age_months:
        return _result(
            name,
            NOT_MET,
            f"Aged {shown} {on}, below {v.centre or 'the centre'}'s minimum of {v.min_age_months} months.",
            "age_below_centre_minimum",
            ref,
        )
    if v.max_age_years is not None and years > v.max_age_years:
        return _result(
            name,
            NOT_MET,
            f"Aged {shown} {on}, above {v.centre or 'the centre'}'s maximum of {v.max_age_years} years.",
            "age_above_centre_maximum",
            ref,
        )
    if months < PAEDIATRIC_MIN_AGE_MONTHS:
        return _result(
            name,
            NEEDS_REVIEW,
            f"Aged {months} months {on}: under 1 year needs an individual assessment.",
            "age_under_one",
            ref,
        )
    return _result(name, MET, f"Aged {shown} {on}: no upper age limit, fitness decides.", "met", ref)


def fitness_scales_for(years: int, t: Thresholds = DEFAULT_THRESHOLDS) -> tuple[str, ...]:
    """The performance scales that belong to an age: Lansky under 16, Karnofsky from 16 (ELIANA),
    ECOG for adults."""
    if years < t.lansky_below_age_years:
        return ("lansky",)
    if years < t.ecog_from_age_years:
        return ("karnofsky",)
    return ("ecog", "karnofsky")


def check_fitness(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """Performance status for every age, on the scale that belongs to the age, no older than
    ``fitness_valid_days``. ECOG <= 1 (ZUMA-3) or Karnofsky/Lansky >= 70: met; ECOG 2 or
    Karnofsky/Lansky 50-60 (ELIANA's minimum 50): review; worse: not met, which can change."""
    name = "fitness"
    t = v.thresholds
    if p.date_of_birth is None:
        return _result(name, MISSING, "The date of birth is needed to choose the performance scale.", "age_missing")
    years = age_in_months(p.date_of_birth, p.assessed_on) // 12
    scales = fitness_scales_for(years, t)
    wanted = " or ".join(s.title() if s != "ecog" else "ECOG" for s in scales)
    fitting = [f for f in p.fitness if f.scale in scales]
    if not fitting:
        other = " (a score on another scale is recorded)" if p.fitness else ""
        return _result(
            name, MISSING, f"No {wanted} performance score is recorded for age {years}{other}.", "fitness_missing"
        )
    latest_date = max(f.date for f in fitting)

    def badness(f: Fitness) -> float:
        return f.score / 5 if f.scale == "ecog" else (100 - f.score) / 100

    latest = max((f for f in fitting if f.date == latest_date), key=badness)
    ref = fact_ref("fitness", latest, latest.date)
    label = "ECOG" if latest.scale == "ecog" else latest.scale.title()
    seen = f"{label} {latest.score} of {_d(latest.date)}"
    if _age_days(p, latest.date) > t.fitness_valid_days:
        return _result(
            name,
            MISSING,
            f"The latest performance score ({seen}) is older than {t.fitness_valid_days} days; a current one is needed.",
            "fitness_stale",
            ref,
        )
    if latest.scale == "ecog":
        if latest.score <= t.ecog_met_max:
            return _result(name, MET, f"{seen}: fit enough by the usual standard (ZUMA-3: ECOG 0-1).", "met", ref)
        if latest.score <= t.ecog_review_max:
            return _result(name, NEEDS_REVIEW, f"{seen}: a specialist judges fitness.", "fitness_borderline", ref)
        return _result(name, NOT_MET, f"{seen}: below the fitness the protocols require.", "fitness_poor", ref)
    if latest.score >= t.karnofsky_lansky_met_min:
        return _result(name, MET, f"{seen}: fit enough by the usual standard.", "met", ref)
    if latest.score >= t.karnofsky_lansky_review_min:
        return _result(
            name,
            NEEDS_REVIEW,
            f"{seen}: at or above ELIANA's minimum of {t.karnofsky_lansky_review_min}; a specialist judges fitness.",
            "fitness_borderline",
            ref,
        )
    return _result(
        name,
        NOT_MET,
        f"{seen}: below ELIANA's minimum of {t.karnofsky_lansky_review_min}.",
        "fitness_poor",
        ref,
    )


def _organ_limit(test: str, t: Thresholds) -> tuple[str, float]:
    """(comparison, limit) for one test; values judged as multiples of ULN where the test has one."""
    return {
        "creatinine_clearance": (">=", t.renal_min),
        "egfr": (">=", t.renal_min),
        "lvef": (">=", t.lvef_min_percent),
        "bilirubin": ("<", t.bilirubin_max_uln),
        "alt": ("<=", t.alt_max_uln),
        "ast": ("<=", t.ast_max_uln),
        "spo2": (">=", t.spo2_min_percent),
    }[test]


ORGAN_GROUPS = (
    ("renal", ("creatinine_clearance", "egfr")),
    ("cardiac", ("lvef",)),
    ("bilirubin", ("bilirubin",)),
    ("alt", ("alt",)),
    ("ast", ("ast",)),
    ("respiratory", ("spo2",)),
)


def check_organ_function(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """Renal (creatinine clearance or eGFR >= 60: ZUMA-3), cardiac (LVEF >= 45 %: ELIANA), hepatic
    (bilirubin < 2 x ULN, ALT and AST <= 5 x ULN: ELIANA) and respiratory (SpO2 > 91 % on room air:
    ELIANA), each from its latest value no older than ``organ_valid_days``. Any outside: not met
    (can change when it recovers); any missing or old: missing."""
    name = "organ_function"
    t = v.thresholds
    outside, missing, refs = [], [], []
    for _group, tests in ORGAN_GROUPS:
        values = [o for o in p.organ_function if o.test in tests]
        label = ORGAN_TESTS[tests[0]][0] if len(tests) == 1 else "creatinine clearance or eGFR"
        if not values:
            missing.append(label)
            continue
        latest_date = max(o.date for o in values)
        same_day = [o for o in values if o.date == latest_date]
        if _age_days(p, latest_date) > t.organ_valid_days:
            missing.append(f"a current {label} (latest {_d(latest_date)})")
            refs += [fact_ref("organ_function", o, o.date) for o in same_day]
            continue
        for o in same_day:
            refs.append(fact_ref("organ_function", o, o.date))
            comparison, limit = _organ_limit(o.test, t)
            test_label = ORGAN_TESTS[o.test][0]
            if o.test in ULN_TESTS:
                if not o.upper_limit_normal:
                    missing.append(f"the laboratory's upper limit of normal for {test_label}")
                    continue
                value = o.value / o.upper_limit_normal
                shown = f"{test_label} {o.value:g} {o.unit} ({value:.1f} x ULN)"
                limit_text = f"{comparison} {limit:g} x ULN"
            else:
                value = o.value
                shown = f"{test_label} {o.value:g} {o.unit}"
                limit_text = f"{comparison} {limit:g}"
            ok = {">=": value >= limit, "<": value < limit, "<=": value <= limit}[comparison]
            if not ok:
                outside.append(f"{shown} on {_d(o.date)}, needed {limit_text}")
    if outside:
        return _result(
            name, NOT_MET, f"Outside the usual limits: {'; '.join(outside)}.", "organ_function_outside", *refs
        )
    if missing:
        return _result(
            name, MISSING, f"Organ function not recorded or not current: {', '.join(missing)}.", "organ_missing", *refs
        )
    return _result(name, MET, "Renal, cardiac, hepatic and respiratory function within the usual limits.", "met", *refs)


def check_infection(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """No active infection: met (the records checked within ``infection_review_valid_days``).
    A controlled active infection: review. An uncontrolled one: not met, which can change once it
    is controlled (ELIANA and ZUMA-3 exclude uncontrolled infection)."""
    name = "infection"
    t = v.thresholds
    active = [i for i in p.infections if i.status != "resolved"]
    uncontrolled = [i for i in active if i.status == "uncontrolled"]
    if uncontrolled:
        names = ", ".join(f"{i.description} (since {_d(i.date)})" for i in uncontrolled)
        return _result(
            name,
            NOT_MET,
            f"Uncontrolled infection: {names}.",
            "infection_uncontrolled",
            *(fact_ref("infections", i, i.date) for i in uncontrolled),
        )
    if active:
        names = ", ".join(f"{i.description} (since {_d(i.date)})" for i in active)
        return _result(
            name,
            NEEDS_REVIEW,
            f"Active infection under control: {names}.",
            "infection_controlled",
            *(fact_ref("infections", i, i.date) for i in active),
        )
    reviewed = p.infections_reviewed_on
    if reviewed is None or _age_days(p, reviewed) > t.infection_review_valid_days:
        when = f"last checked {_d(reviewed)}" if reviewed else "never checked"
        return _result(
            name, MISSING, f"Whether there is an active infection is not known ({when}).", "infection_unknown"
        )
    ref = {"kind": "infections_reviewed_on", "id": None, "date": _d(reviewed), "source_document": None}
    return _result(name, MET, f"No active infection (records checked {_d(reviewed)}).", "met", ref)


def _months_between(start: dt.date, end: dt.date) -> int:
    return age_in_months(start, end)


def check_disease_status(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """Relapsed or refractory is the disease as it is now: disease in the latest marrow (after the
    latest relapse, no older than ``marrow_valid_days``) and a history that qualifies.

    Disease now: >= 5 % marrow blasts (ELIANA, ZUMA-3 screening); MRD-positive below 5 %:
    molecular disease, review (the trials enrolled morphological disease). MRD-negative with
    < 5 % blasts: in remission now, not r/r (not met; it changes only if the disease returns).
    History that qualifies: primary refractory (ELIANA, ZUMA-3); relapse after allo-SCT (ELIANA,
    ZUMA-3); a second or later relapse (ELIANA); >= 2 prior lines (guide; ZUMA-3); refractory to
    the last line (ELIANA: chemorefractory relapse); a first relapse after a first remission of
    <= 12 months (ZUMA-3). A later first relapse: review ("no specific minimum prior line" in
    Chinese protocols does not make it a standard candidate). A centre may require a minimum
    number of lines."""
    name = "disease_status"
    t = v.thresholds
    lines = prior_line_count(p)
    allo = _latest_allo(p)
    relapses = sorted(p.relapses, key=lambda r: r.date)
    latest_relapse = relapses[-1] if relapses else None
    lines_text = "no therapy lines recorded" if lines is None else f"{lines} prior line{'s' if lines != 1 else ''}"
    refs = [fact_ref("relapses", r, r.date) for r in relapses]

    if not relapses and p.primary_refractory is False and not (lines is not None and lines >= RR_MIN_PRIOR_LINES):
        if lines is None:
            return _result(
                name,
                MISSING,
                "No relapse recorded, not primary refractory, and no treatment history.",
                "history_missing",
            )
        return _result(
            name,
            NOT_MET,
            f"No relapse recorded, not primary refractory, {lines_text}: not relapsed/refractory.",
            "not_relapsed_refractory",
        )
    if not relapses and p.primary_refractory is None and not (lines is not None and lines >= RR_MIN_PRIOR_LINES):
        return _result(
            name,
            MISSING,
            f"No relapse recorded, {lines_text}, and whether the disease was primary refractory is not recorded.",
            "history_missing",
        )

    # The disease now, from the latest marrow.
    marrows = sorted(p.marrow, key=lambda m: (m.date, m.blasts_percent or 0, m.mrd == "positive"))
    marrow = marrows[-1] if marrows else None
    if marrow is None:
        return _result(
            name,
            MISSING,
            "No bone marrow result (blasts, MRD) shows the disease as it is now.",
            "marrow_missing",
            *refs,
        )
    mref = fact_ref("marrow", marrow, marrow.date)
    if latest_relapse and marrow.date < latest_relapse.date:
        return _result(
            name,
            MISSING,
            f"The latest bone marrow ({_d(marrow.date)}) predates the relapse of {_d(latest_relapse.date)}; "
            "a current marrow is needed.",
            "marrow_before_relapse",
            mref,
            *refs,
        )
    if _age_days(p, marrow.date) > t.marrow_valid_days:
        return _result(
            name,
            MISSING,
            f"The latest bone marrow ({_d(marrow.date)}) is older than {t.marrow_valid_days} days; "
            "a current marrow is needed.",
            "marrow_stale",
            mref,
            *refs,
        )
    blasts = marrow.blasts_percent
    morphological = blasts is not None and blasts >= t.morphological_blasts_percent
    molecular = not morphological and marrow.mrd == "positive"
    state = f"bone marrow of {_d(marrow.date)}: " + (
        f"{blasts:g} % blasts" if blasts is not None else "blasts not given"
    )
    if marrow.mrd != "not_done":
        sens = f", sensitivity {marrow.mrd_sensitivity:g}" if marrow.mrd_sensitivity else ""
        state += f", MRD {marrow.mrd} by {marrow.mrd_method.replace('_', ' ')}{sens}"
    if not morphological and not molecular:
        if blasts is None or marrow.mrd == "not_done":
            return _result(
                name,
                MISSING,
                f"The {state}; blasts and MRD are both needed to tell active disease from remission.",
                "marrow_incomplete",
                mref,
                *refs,
            )
        return _result(
            name,
            NOT_MET,
            f"In remission now ({state}): not relapsed/refractory at the moment.",
            "in_remission",
            mref,
            *refs,
        )

    # History that qualifies.
    post_allo = bool(allo and any(r.date > allo.date for r in relapses))
    last_line = max(p.therapy_lines, key=lambda line: line.start) if p.therapy_lines else None
    if post_allo:
        why, code = f"relapse after the allogeneic transplant of {_d(allo.date)} (ELIANA, ZUMA-3)", "met"
        refs.append(fact_ref("transplants", allo, allo.date))
    elif p.primary_refractory:
        why, code = "primary refractory disease (ELIANA, ZUMA-3)", "met"
        refs.append({"kind": "primary_refractory", "id": None, "date": None, "source_document": None})
    elif v.min_prior_lines is not None and (lines is None or lines < v.min_prior_lines):
        if lines is None:
            return _result(
                name,
                MISSING,
                f"{v.centre or 'The centre'} requires {v.min_prior_lines} prior lines; {lines_text}.",
                "history_missing",
                mref,
                *refs,
            )
        return _result(
            name,
            NOT_MET,
            f"{lines_text.capitalize()}; {v.centre or 'the centre'} requires at least {v.min_prior_lines} "
            "unless primary refractory or relapsed after allogeneic transplant.",
            "centre_minimum_lines",
            mref,
            *refs,
        )
    elif len(relapses) >= 2:
        why, code = f"second or later relapse ({len(relapses)} relapses; ELIANA)", "met"
    elif lines is not None and lines >= RR_MIN_PRIOR_LINES:
        why, code = f"{lines_text} (guide; ZUMA-3: after 2 or more lines)", "met"
    elif last_line is not None and last_line.refractory and relapses and last_line.start >= relapses[0].date:
        why, code = f"refractory to {last_line.regimen} after the relapse (ELIANA: chemorefractory relapse)", "met"
        refs.append(fact_ref("therapy_lines", last_line, last_line.start))
    elif relapses:
        first = relapses[0]
        if p.first_remission_date is not None:
            months = _months_between(p.first_remission_date, first.date)
            basis = f"first remission {_d(p.first_remission_date)} to relapse {_d(first.date)}"
        elif p.diagnosis.date is not None and _months_between(p.diagnosis.date, first.date) < (
            t.first_remission_max_months
        ):
            # The remission began after the diagnosis, so it lasted less than this.
            months = _months_between(p.diagnosis.date, first.date)
            basis = f"relapse {_d(first.date)} within {months} months of the diagnosis"
        else:
            return _result(
                name,
                MISSING,
                f"First relapse of {_d(first.date)} with {lines_text}: the date of the first remission is needed "
                "to tell an early from a late first relapse (ZUMA-3).",
                "first_remission_missing",
                mref,
                *refs,
            )
        # Longer than N months: N full months had passed by the day before the relapse.
        late = age_in_months(p.first_remission_date or p.diagnosis.date, first.date - dt.timedelta(days=1)) >= (
            t.first_remission_max_months
        )
        if not late:
            why, code = f"first relapse after a first remission of {months} months ({basis}; ZUMA-3: 12 or less)", "met"
        else:
            return _result(
                name,
                NEEDS_REVIEW,
                f"Late first relapse ({basis}, {months} months; ZUMA-3 admits 12 or less) with the {state}; "
                "not a standard candidate without specialist review.",
                "late_first_relapse",
                mref,
                *refs,
            )
    else:
        return _result(
            name,
            MISSING,
            f"Disease in the {state}, but no relapse is recorded and {lines_text}; the treatment history is needed.",
            "history_missing",
            mref,
        )
    if molecular:
        return _result(
            name,
            NEEDS_REVIEW,
            f"{why[0].upper()}{why[1:]}, with molecular disease only ({state}); the pivotal trials enrolled "
            f"{t.morphological_blasts_percent:g} % blasts or more.",
            "molecular_disease_only",
            mref,
            *refs,
        )
    return _result(name, MET, f"Relapsed/refractory now: {why}, {state}.", code, mref, *refs)


def check_post_transplant(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """After allo-SCT: eligible (particularly valuable) when off immunosuppression and with no
    active GvHD; otherwise not yet eligible, a blocker that can resolve."""
    name = "post_transplant"
    allo = _latest_allo(p)
    if allo is None:
        if p.prior_transplant is None and not p.transplants:
            return _result(
                name,
                MISSING,
                "Whether the patient has had a stem-cell transplant is not recorded.",
                "transplant_unknown",
            )
        if p.transplants:
            return _result(
                name,
                MET,
                "Only an autologous transplant is recorded; no allogeneic restrictions.",
                "met",
                *(fact_ref("transplants", t, t.date) for t in p.transplants),
            )
        if p.prior_transplant:
            # A transplant is known to have happened but its record is not in: immunosuppression
            # and GvHD cannot have been checked, so this must not pass as "nothing to wait for".
            return _result(
                name,
                MISSING,
                "A prior stem-cell transplant is reported but not recorded (date, donor type, "
                "immunosuppression, GvHD).",
                "transplant_record_missing",
            )
        return _result(name, MET, "No prior stem-cell transplant; nothing to wait for.", "met")
    ref = fact_ref("transplants", allo, allo.date)
    when = f"allogeneic ({allo.donor_type.replace('_', ' ')}) transplant of {_d(allo.date)}"
    if allo.on_immunosuppression or allo.active_gvhd:
        blockers = [
            b
            for b, on in (("on immunosuppression", allo.on_immunosuppression), ("active GvHD", allo.active_gvhd))
            if on
        ]
        return _result(
            name,
            NOT_MET,
            f"After the {when}: {' and '.join(blockers)}; not yet eligible until this resolves.",
            "immunosuppression_or_gvhd",
            ref,
        )
    unknown = [
        b
        for b, value in (("immunosuppression", allo.on_immunosuppression), ("GvHD", allo.active_gvhd))
        if value is None
    ]
    if unknown:
        return _result(
            name,
            MISSING,
            f"After the {when}: current {' and '.join(unknown)} status not recorded.",
            "transplant_status_missing",
            ref,
        )
    return _result(name, MET, f"After the {when}: off immunosuppression with no active GvHD.", "met", ref)


def check_cns(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """From the latest CSF result, taken after the latest relapse and no older than
    ``cns_valid_days`` (else a new one is needed). CNS1: met. CNS2: may be permissible with
    intrathecal prophylaxis (review; a centre may accept or exclude it). CNS3 (active CNS disease):
    excluded from most standard protocols (not met, can change when it clears); the guide calls CNS
    disease "variable", so a centre may review or accept it."""
    name = "cns"
    t = v.thresholds
    if not p.cns_assessments:
        return _result(name, MISSING, "No CNS (CSF) assessment is recorded.", "cns_missing")
    latest = max(p.cns_assessments, key=lambda c: (c.date, c.status))
    ref = fact_ref("cns_assessments", latest, latest.date)
    on = f"on {_d(latest.date)}"
    later = [r for r in p.relapses if r.date > latest.date]
    if later:
        r = max(later, key=lambda r: r.date)
        return _result(
            name,
            MISSING,
            f"The latest CSF result ({latest.status.upper()} {on}) predates the relapse of {_d(r.date)}; "
            "a new one is needed.",
            "cns_before_relapse",
            ref,
            fact_ref("relapses", r, r.date),
        )
    if _age_days(p, latest.date) > t.cns_valid_days:
        return _result(
            name,
            MISSING,
            f"The latest CSF result ({latest.status.upper()} {on}) is older than {t.cns_valid_days} days; "
            "a new one is needed.",
            "cns_stale",
            ref,
        )
    if latest.status == "cns1":
        return _result(name, MET, f"CNS1 (no blasts in CSF) {on}.", "met", ref)
    status, policy = ("CNS3", v.cns3_policy) if latest.status == "cns3" else ("CNS2", v.cns2_policy)
    centre = v.centre or "the centre"
    if policy == "accept":
        return _result(name, MET, f"{status} {on}; {centre} accepts {status} with CNS-directed therapy.", "met", ref)
    if policy == "exclude":
        if latest.status == "cns3":
            return _result(
                name,
                NOT_MET,
                f"CNS3 (active CNS disease) {on} is excluded from standard protocols.",
                "cns3",
                ref,
            )
        return _result(name, NOT_MET, f"CNS2 {on}; {centre} excludes CNS2.", "cns2_excluded", ref)
    if latest.status == "cns3":
        return _result(
            name, NEEDS_REVIEW, f"CNS3 (active CNS disease) {on}; {centre} reviews CNS3.", "cns3_review", ref
        )
    return _result(
        name, NEEDS_REVIEW, f"CNS2 {on} may be permissible with intrathecal prophylaxis.", "cns2_review", ref
    )


def check_philadelphia(p: Profile, v: RuleVariation = BASE_RULES) -> CriterionResult:
    """Ph+ (BCR::ABL1) is eligible, with the TKI continuing; Ph- is eligible. Unknown: missing."""
    name = "philadelphia"
    ph = p.philadelphia
    when = f" ({_d(ph.date)})" if ph.date else ""
    ref = fact_ref("philadelphia", ph, ph.date) if ph.status else None
    if ph.status == "positive":
        tki = f"current TKI {ph.current_tki}" if ph.current_tki else "no current TKI recorded"
        return _result(name, MET, f"Ph+ (BCR::ABL1){when} is eligible; {tki}.", "met", ref)
    if ph.status == "negative":
        return _result(name, MET, f"Philadelphia-negative (BCR::ABL1 not detected){when}.", "met", ref)
    return _result(name, MISSING, "Philadelphia status (BCR::ABL1) is not recorded.", "philadelphia_missing")


# The table, in the order the pathway document lists it.
CHECKS = (
    check_diagnosis,
    check_cd19,
    check_age,
    check_fitness,
    check_organ_function,
    check_infection,
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
    cns = max(p.cns_assessments, key=lambda c: (c.date, c.status)) if p.cns_assessments else None
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
    if any(t.cd22_directed for t in p.therapy_lines):
        notes.append(
            Note(
                "prior_cd22_directed",
                "Prior CD22-directed therapy (e.g. inotuzumab ozogamicin) is recorded; it does not affect CD19 "
                "but the centre will want its dates and response.",
            )
        )
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
    variation.check()
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
