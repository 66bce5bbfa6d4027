"""The pre-filter of the options register against a patient's clinical profile: a shortlist
aid, never a decision. Each criterion says whether an option is in, out, or needs a look at its
own criteria text (which is always shown beside the result); the trial team or treating
haematologist decides.

Pure functions over plain data, one function per row of the table:

| criterion   | in                                          | out                                             | check                                  |
|-------------|---------------------------------------------|-------------------------------------------------|----------------------------------------|
| status      | recruiting, not yet, by invitation, approved| withdrawn, completed, suspended, terminated ... | -                                      |
| disease     | B-ALL (lineage confirmed)                   | option not for B-ALL; T-ALL, AML (guide table)  | lineage not confirmed                  |
| age         | within the option's bounds                  | outside them                                    | no date of birth                       |
| antigen     | targets CD19 and CD19+; targets another     | targets CD19 only and CD19-negative (guide:     | targets CD19 only, no CD19 result      |
|             | antigen (CD22); not antigen-directed        | "CD19-negative: not eligible")                  |                                        |
| prior CAR-T | policy allows it; none and not required     | excluded and had one; required and had none     | not stated and had one                 |
| CNS         | CNS1; option allows CNS disease             | CNS3 where active CNS disease is excluded       | CNS2 (guide: "may be permissible"),    |
|             |                                             | (guide: "excluded from most protocols")         | unknown CNS status, CNS3 not stated    |
| country     | a site in a country the family considers    | no site there                                   | -                                      |
"""

from __future__ import annotations

from dataclasses import dataclass, field

IN, OUT, CHECK = "in", "out", "check"
OPEN_STATUSES = {"AVAILABLE", "RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION"}


@dataclass(frozen=True)
class OptionFacts:
    """What the pre-filter reads of a register entry."""

    status: str
    b_all: bool = True
    min_age_months: int | None = None
    max_age_months: int | None = None
    target_antigens: tuple[str, ...] = ()
    prior_cd19_car_t: str = "unknown"  # allowed | required | excluded | unknown
    cns: str = "unknown"  # active_excluded | allowed | unknown
    countries: tuple[str, ...] = ()
    status_label: str = ""

    @classmethod
    def of(cls, option) -> OptionFacts:
        return cls(
            status=option.status,
            b_all=option.b_all,
            min_age_months=option.min_age_months,
            max_age_months=option.max_age_months,
            target_antigens=tuple(option.target_antigens),
            prior_cd19_car_t=option.prior_cd19_car_t,
            cns=option.cns,
            countries=tuple(option.countries),
            status_label=str(option.get_status_display()),
        )


@dataclass(frozen=True)
class PatientFacts:
    """What the pre-filter reads of a case's clinical profile."""

    age_months: int | None
    lineage: str = "unknown"  # b_all | t_all | aml | other | unknown (eligibility.rules.LINEAGES)
    cd19: str | None = None  # the most recent CD19 result: positive | dim | negative, or None
    prior_cd19_car_t: bool = False
    cns: str | None = None  # cns1 | cns2 | cns3, or None when not assessed
    countries: frozenset[str] | None = None  # where the family would go; None: anywhere


@dataclass(frozen=True)
class Reason:
    criterion: str
    outcome: str
    text: str


@dataclass(frozen=True)
class Screen:
    result: str
    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        return {"result": self.result, "reasons": [r.__dict__ for r in self.reasons]}


def _years(months: int) -> str:
    return f"{months // 12} years" if months % 12 == 0 else f"{months} months"


def status(o: OptionFacts, p: PatientFacts) -> Reason:
    label = o.status_label or o.status.replace("_", " ").lower()
    if o.status in OPEN_STATUSES:
        return Reason("status", IN, f"Open: {label}.")
    return Reason("status", OUT, f"Not open: {label}.")


def disease(o: OptionFacts, p: PatientFacts) -> Reason:
    if not o.b_all:
        return Reason("disease", OUT, "Not for B-cell ALL.")
    if p.lineage == "b_all":
        return Reason("disease", IN, "B-cell ALL, lineage confirmed.")
    if p.lineage == "unknown":
        return Reason("disease", CHECK, "B-cell lineage not confirmed yet.")
    return Reason("disease", OUT, f"The diagnosis is {p.lineage.replace('_', '-').upper()}, not B-cell ALL.")


def age(o: OptionFacts, p: PatientFacts) -> Reason:
    if p.age_months is None:
        return Reason("age", CHECK, "Age not known.")
    if o.min_age_months is not None and p.age_months < o.min_age_months:
        return Reason("age", OUT, f"Younger than the minimum age ({_years(o.min_age_months)}).")
    if o.max_age_months is not None and p.age_months > o.max_age_months:
        return Reason("age", OUT, f"Older than the maximum age ({_years(o.max_age_months)}).")
    return Reason("age", IN, "Within the age bounds.")


def antigen(o: OptionFacts, p: PatientFacts) -> Reason:
    targets = set(o.target_antigens)
    if not targets:
        return Reason("antigen", IN, "Not directed at one antigen.")
    others = sorted(targets - {"CD19"})
    if others:
        also = " as well" if "CD19" in targets else ""
        return Reason("antigen", IN, f"Targets {', '.join(others)}{also}: does not depend on CD19.")
    if p.cd19 is None:
        return Reason("antigen", CHECK, "Targets CD19 only; no CD19 result on file.")
    if p.cd19 == "negative":
        return Reason("antigen", OUT, "Targets CD19 only; the most recent CD19 result is negative.")
    return Reason("antigen", IN, "Targets CD19; the most recent CD19 result is positive.")


def prior_car_t(o: OptionFacts, p: PatientFacts) -> Reason:
    policy = o.prior_cd19_car_t
    if p.prior_cd19_car_t:
        if policy == "excluded":
            return Reason("prior_car_t", OUT, "Excludes patients treated with CAR-T before.")
        if policy == "unknown":
            return Reason("prior_car_t", CHECK, "Had CD19 CAR-T; the entry does not say whether that is allowed.")
        return Reason("prior_car_t", IN, "Accepts patients after CD19 CAR-T.")
    if policy == "required":
        return Reason("prior_car_t", OUT, "Only for relapse after CD19 CAR-T.")
    return Reason("prior_car_t", IN, "No prior CAR-T.")


def cns(o: OptionFacts, p: PatientFacts) -> Reason:
    if o.cns == "allowed":
        return Reason("cns", IN, "CNS disease allowed.")
    if p.cns is None:
        return Reason("cns", CHECK, "CNS status not assessed.")
    if p.cns == "cns1":
        return Reason("cns", IN, "CNS1: no CNS disease.")
    if p.cns == "cns2":
        return Reason("cns", CHECK, "CNS2: may be permissible with intrathecal prophylaxis; read the criteria.")
    if o.cns == "active_excluded":
        return Reason("cns", OUT, "Active CNS disease (CNS3) is excluded.")
    return Reason("cns", CHECK, "Active CNS disease (CNS3); the entry does not say.")


def country(o: OptionFacts, p: PatientFacts) -> Reason:
    if not o.countries:
        return Reason("country", IN, "No locations listed: ask where it is given.")
    if p.countries is None:
        return Reason("country", IN, f"Sites in {', '.join(o.countries)}.")
    shared = sorted(set(o.countries) & p.countries)
    if shared:
        return Reason("country", IN, f"Sites in {', '.join(shared)}.")
    return Reason("country", OUT, f"Sites only in {', '.join(o.countries)}.")


CRITERIA = (status, disease, age, antigen, prior_car_t, cns, country)


def screen(option: OptionFacts, patient: PatientFacts) -> Screen:
    """Every criterion's reason; the option is out if any says out, to check if any says check."""
    reasons = tuple(criterion(option, patient) for criterion in CRITERIA)
    outcomes = {r.outcome for r in reasons}
    result = OUT if OUT in outcomes else CHECK if CHECK in outcomes else IN
    return Screen(result=result, reasons=reasons)
