"""The long-term follow-up plan after CAR-T, derived from the infusion date and the decisions
taken (transplant, Ph+ TKI maintenance): pure functions over plain data, one row per visit, each
citing its source, so a clinician can review the table.

Sources:
- the service's guide (``b-all-car-t-guide.txt``): "ALL CAR-T may cause more pronounced B cell
  aplasia and hypogammaglobulinaemia due to deeper and more sustained B cell depletion"; MRD at
  day 28 and day 60 (the centre's checkpoints, tracked by the pathway); "allogeneic stem cell
  transplant should be planned within 3-4 months"; Ph+: "TKI should be continued as maintenance
  post-CAR-T"; follow-up "coordination with your home haematologist";
- pathway.md step 9 (public): "B-cell aplasia and hypogammaglobulinaemia monitoring continue after
  CAR-T";
- (public) EBMT/JACIE recommendations for CAR-T management, Hayden et al., Ann Oncol 2022
  (and Yakoub-Agha et al., Haematologica 2020): blood counts and IgG monthly for the first months,
  then every 3 months in the first year; immunoglobulin replacement when IgG is below 4 g/L
  (with recurrent infections); inactivated vaccines not before 6 months after infusion and only
  once B cells recover and immunoglobulin replacement has stopped; yearly review long term;
- (public) FDA guidance on long-term follow-up after gene therapy (2020): CAR-T patients are
  followed for up to 15 years; the plan here lists the first five yearly reviews.

MRD after day 60 follows the treating centre's protocol: ``mrd_months`` (default 3, 6, 9, 12).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext_noop

# The checks and sources are stored in English in the handback; each is marked (gettext_noop) so the
# home haematologist's page and reminders can show it in their language.

IGG_LOW_G_PER_L = 4  # EBMT/JACIE: consider immunoglobulin replacement below this level
COUNTS_AND_IGG_MONTHS = (1, 2, 3, 4, 5, 6, 9, 12)
DEFAULT_MRD_MONTHS = (3, 6, 9, 12)
VACCINATION_REVIEW_MONTHS = (6, 12)
YEARLY_REVIEWS = (2, 3, 4, 5)

SOURCE_GUIDE = gettext_noop("Guide: B-cell aplasia and hypogammaglobulinaemia after ALL CAR-T")
SOURCE_EBMT = gettext_noop("EBMT/JACIE CAR-T recommendations (Hayden et al., Ann Oncol 2022)")
SOURCE_PROTOCOL = gettext_noop("Treating centre's MRD protocol")
SOURCE_FDA = gettext_noop("FDA long-term follow-up guidance for gene therapy (2020)")
SOURCE_TKI = gettext_noop("Guide: Ph+ TKI maintenance post-CAR-T")
SOURCE_TRANSPLANT = gettext_noop("Guide: allo-SCT timing")

CHECK_COUNTS = gettext_noop("Blood counts")
# Written out (not formatted from IGG_LOW_G_PER_L) so that it is one translatable text.
CHECK_IGG = gettext_noop("IgG (immunoglobulin replacement if below 4 g/L)")
CHECK_APLASIA = gettext_noop("B-cell aplasia / CAR-T persistence (CD19+ B cells)")
CHECK_RELAPSE = gettext_noop("Relapse surveillance: examination, blood film")
CHECK_MRD = gettext_noop("MRD (bone marrow)")
CHECK_VACCINATION = gettext_noop("Vaccination review: only after B-cell recovery and off immunoglobulin replacement")
CHECK_TKI = gettext_noop("TKI maintenance: adherence, BCR::ABL1 transcript")
CHECK_TRANSPLANT = gettext_noop("Transplant work-up with the transplant centre (within 3-4 months of CAR-T)")
CHECK_YEARLY = gettext_noop("Yearly review: counts, IgG, relapse, late effects")


@dataclass(frozen=True)
class Visit:
    key: str  # stable within the case: followup:<what>:m<months>
    due: dt.date
    title: str
    checks: tuple[str, ...]
    source: str


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def follow_up_plan(
    *,
    infusion: dt.date,
    transplant_planned: bool = False,
    ph_positive: bool = False,
    mrd_months: tuple[int, ...] = DEFAULT_MRD_MONTHS,
) -> list[Visit]:
    """The visits after discharge, by due date."""
    visits: dict[int, dict] = {}

    def visit(months: int, check: str, source: str) -> None:
        row = visits.setdefault(months, {"checks": [], "sources": []})
        if check not in row["checks"]:
            row["checks"].append(check)
        if source not in row["sources"]:
            row["sources"].append(source)

    for months in COUNTS_AND_IGG_MONTHS:
        visit(months, CHECK_COUNTS, SOURCE_EBMT)
        visit(months, CHECK_IGG, SOURCE_GUIDE)
        visit(months, CHECK_APLASIA, SOURCE_GUIDE)
        visit(months, CHECK_RELAPSE, SOURCE_GUIDE)
    for months in mrd_months:
        visit(months, CHECK_MRD, SOURCE_PROTOCOL)
    for months in VACCINATION_REVIEW_MONTHS:
        visit(months, CHECK_VACCINATION, SOURCE_EBMT)
    if ph_positive:
        for months in COUNTS_AND_IGG_MONTHS:
            visit(months, CHECK_TKI, SOURCE_TKI)
    if transplant_planned:
        visit(3, CHECK_TRANSPLANT, SOURCE_TRANSPLANT)
    for years in YEARLY_REVIEWS:
        visit(12 * years, CHECK_YEARLY, SOURCE_FDA)
    return [
        Visit(
            key=f"followup:m{months}",
            due=add_months(infusion, months),
            title=f"Follow-up at home: month {months} after CAR-T",
            checks=tuple(row["checks"]),
            source="; ".join(row["sources"]),
        )
        for months, row in sorted(visits.items())
    ]


def igg_needs_replacement(value_g_per_l) -> bool:
    """IgG below the EBMT/JACIE threshold: the coordinator asks the home haematologist about IVIG."""
    return value_g_per_l is not None and float(value_g_per_l) < IGG_LOW_G_PER_L
