"""The treatment pathway's dates as plain rules a clinician can review.

Source: ../shared/domain/pathway.md, "The treatment pathway and its dates". Nothing here
is medical advice: the treating centre sets the actual dates; these rules derive the
checkpoints Navigator tracks and reminds about from the dates recorded on the case.

Pure functions over plain data: no database, no clock except the ``today`` passed in.

    trigger (recorded)             milestone                          due (days from trigger)   family  pathway.md
    -----------------------------  ---------------------------------  ------------------------  ------  ----------
    apheresis / manufacturing      apheresis                          the day itself            yes     step 2
    apheresis / manufacturing      donor search starts                0 (earliest of the two)   yes     step 2
    lymphodepletion                lymphodepletion (Flu/Cy)           the day itself            yes     step 3
    infusion                       infusion, day 0                    0                         yes     step 3
    infusion                       stay near the centre until         +28 (at least 4 weeks)    yes     step 4
    infusion                       day-28 MRD assessment              +28                       yes     step 5
    infusion                       day-60 MRD assessment              +60                       yes     step 6
    infusion + Ph+ (BCR::ABL1)     TKI maintenance check              +28                       no      step 8
      (Ph+ is an event recorded here, or the Ph status of the eligibility profile)
    MRD-negative CR, MDT undecided transplant planning (MDT, donor)   +7 from the result        no      step 7
      or transplant planned
    MDT: transplant planned        aim to transplant by (target)      infusion +90 (3 months)   yes     step 7
    MDT: transplant planned        transplant by, at the latest       infusion +120 (4 months)  no      step 7
    MDT: no transplant planned     no transplant milestones           -                         -       step 8
    transplant performed           closes the transplant milestones   -                         -       step 7

The transplant steps follow the MDT decision recorded on the case (planned / not planned, with
the reason / undecided): the guide recommends transplant strongly for adults and has it
discussed in MDT for low-risk children, so no family is shown a transplant date the MDT has not
decided on.

MRD results (steps 5-6): the checkpoint is derived from the days since infusion, within
``MRD_TOLERANCE_DAYS`` of day 28 or day 60; any MRD-positive result, and MRD returning after a
negative one (conversion), opens an urgent coordinator task.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Event kinds (TreatmentEvent.Kind values).
APHERESIS = "apheresis"
MANUFACTURING_START = "manufacturing_start"
LYMPHODEPLETION = "lymphodepletion"
INFUSION = "infusion"
PH_POSITIVE = "ph_positive"
TRANSPLANT = "transplant"

# Day counts of the table above.
STAY_NEAR_CENTRE_DAYS = 28  # public: the approved product's label asks for at least 4 weeks
MRD_FIRST_DAY = 28
MRD_SECOND_DAY = 60
TKI_CHECK_DAY = 28
TRANSPLANT_PLANNING_AFTER_RESULT_DAYS = 7
# "Allogeneic SCT planned within 3-4 months" (before CAR-T cell exhaustion and relapse): the
# transplant should take place BY these days, not from them. Keys keep their historic names.
TRANSPLANT_WINDOW_OPENS_DAY = 90  # target: 3 months after infusion
TRANSPLANT_WINDOW_CLOSES_DAY = 120  # latest: 4 months after infusion
# A sample within this many days of day 28 or day 60 is that checkpoint's assessment.
MRD_TOLERANCE_DAYS = {"day28": 7, "day60": 14}
MRD_CHECKPOINT_DAYS = {"day28": MRD_FIRST_DAY, "day60": MRD_SECOND_DAY}

# The MDT's transplant decision (TransplantDecision.Decision values).
TRANSPLANT_PLANNED = "planned"
TRANSPLANT_NOT_PLANNED = "not_planned"
TRANSPLANT_UNDECIDED = "undecided"


@dataclass(frozen=True)
class Event:
    kind: str
    on: dt.date
    done: bool = False  # took place (True) or planned (False)
    hospital_id: int | None = None


@dataclass(frozen=True)
class Mrd:
    checkpoint: str  # "day28", "day60", "other"
    on: dt.date
    negative: bool
    complete_remission: bool


@dataclass(frozen=True)
class PlannedMilestone:
    key: str
    kind: str
    title: str
    on: dt.date
    concerns_family: bool
    hospital_id: int | None = None
    done: bool = False  # the event it stands for has taken place
    trigger: str = ""


def day(infusion: dt.date, n: int) -> dt.date:
    """Day n after infusion; infusion is day 0, so day 28 is 28 calendar days later."""
    return infusion + dt.timedelta(days=n)


# Where a step's date is counted from (the "trigger" column of the table above).
COLLECTION = "collection"  # the earliest of apheresis and manufacturing start
MRD_NEGATIVE_CR = "mrd_negative_cr"  # the first MRD-negative complete remission


@dataclass(frozen=True)
class Step:
    """One row of the table: a milestone, what its date is counted from and when it is done."""

    name: str
    kind: str
    title: str
    anchor: str  # an event kind, COLLECTION or MRD_NEGATIVE_CR
    days: int = 0  # added to the anchor's date
    family: bool = True  # the family sees it and is reminded
    done_when: str = ""  # "anchor": the anchor event took place; "transplanted": the transplant took place
    needs: tuple[str, ...] = ()  # further conditions: an event kind, or MRD_NEGATIVE_CR
    trigger: str = ""  # the label of what derived it; default: the anchor's event kind
    # The MDT transplant decisions under which the step applies (default: whatever the decision).
    decisions: tuple[str, ...] = (TRANSPLANT_PLANNED, TRANSPLANT_NOT_PLANNED, TRANSPLANT_UNDECIDED)


STEPS: tuple[Step, ...] = (
    Step("apheresis", "apheresis", "Apheresis (T-cell collection)", anchor=APHERESIS, done_when="anchor"),
    # Step 2: the donor search starts at the same time as CAR-T manufacturing.
    Step("donor_search", "donor_search", "Start the transplant donor search", anchor=COLLECTION),
    Step(
        "lymphodepletion",
        "lymphodepletion",
        "Lymphodepletion (fludarabine + cyclophosphamide)",
        anchor=LYMPHODEPLETION,
        done_when="anchor",
    ),
    Step("infusion", "infusion", "CAR-T infusion (day 0)", anchor=INFUSION, done_when="anchor"),
    Step(
        "stay_near_centre",
        "stay_near_centre",
        "Stay near the treating centre until at least this day (4 weeks after infusion)",
        anchor=INFUSION,
        days=STAY_NEAR_CENTRE_DAYS,
    ),
    Step("mrd_day28", "mrd_day28", "Day-28 MRD assessment (bone marrow)", anchor=INFUSION, days=MRD_FIRST_DAY),
    Step("mrd_day60", "mrd_day60", "Day-60 MRD assessment (bone marrow)", anchor=INFUSION, days=MRD_SECOND_DAY),
    Step(
        "tki_maintenance",
        "tki_maintenance",
        "Ph+: review TKI maintenance (e.g. ponatinib) with the centre",
        anchor=INFUSION,
        days=TKI_CHECK_DAY,
        family=False,
        needs=(PH_POSITIVE,),
        trigger=PH_POSITIVE,
    ),
    Step(
        "transplant_planning",
        "transplant_planning",
        "MRD-negative CR: plan allogeneic transplant (MDT, donor work-up)",
        anchor=MRD_NEGATIVE_CR,
        days=TRANSPLANT_PLANNING_AFTER_RESULT_DAYS,
        family=False,
        done_when="transplanted",
        needs=(INFUSION,),
        trigger="mrd",
        decisions=(TRANSPLANT_UNDECIDED, TRANSPLANT_PLANNED),
    ),
    Step(
        "transplant_window_opens",
        "transplant_window",
        "Aim to transplant by this day (planning target, 3 months after infusion)",
        anchor=INFUSION,
        days=TRANSPLANT_WINDOW_OPENS_DAY,
        done_when="transplanted",
        trigger="mdt",
        decisions=(TRANSPLANT_PLANNED,),
    ),
    Step(
        "transplant_window_closes",
        "transplant_window",
        "Allogeneic transplant by this day at the latest (4 months after infusion)",
        anchor=INFUSION,
        days=TRANSPLANT_WINDOW_CLOSES_DAY,
        family=False,
        done_when="transplanted",
        trigger="mdt",
        decisions=(TRANSPLANT_PLANNED,),
    ),
)


def _anchors(events: dict[str, Event], mrd_results: list[Mrd]) -> dict[str, Event]:
    """What each step may be counted from, as events (the derived ones included)."""
    anchors = dict(events)
    collection = [events[k] for k in (APHERESIS, MANUFACTURING_START) if k in events]
    if collection:
        first = min(collection, key=lambda e: e.on)
        anchors[COLLECTION] = Event(kind=first.kind, on=first.on, done=False, hospital_id=first.hospital_id)
    negative_cr = sorted((r for r in mrd_results if r.negative and r.complete_remission), key=lambda r: r.on)
    if negative_cr and INFUSION in events:
        # The result is read at the infusing centre.
        anchors[MRD_NEGATIVE_CR] = Event(kind="mrd", on=negative_cr[0].on, hospital_id=events[INFUSION].hospital_id)
    return anchors


def plan(
    *, events: dict[str, Event], mrd_results: list[Mrd], transplant_decision: str = TRANSPLANT_UNDECIDED
) -> list[PlannedMilestone]:
    """Every pathway milestone the recorded events call for, keyed ``pathway:<name>``: the rows of
    ``STEPS`` whose anchor and conditions are recorded and that apply under the MDT's transplant
    decision, in the table's order."""
    anchors = _anchors(events, mrd_results)
    transplanted = TRANSPLANT in events and events[TRANSPLANT].done
    out: list[PlannedMilestone] = []
    for step in STEPS:
        anchor = anchors.get(step.anchor)
        if anchor is None or any(n not in anchors for n in step.needs):
            continue
        if transplant_decision not in step.decisions:
            continue
        done = {"anchor": anchor.done, "transplanted": transplanted}.get(step.done_when, False)
        out.append(
            PlannedMilestone(
                key=f"pathway:{step.name}",
                kind=step.kind,
                title=step.title,
                on=day(anchor.on, step.days),
                concerns_family=step.family,
                hospital_id=anchor.hospital_id,
                done=done,
                trigger=step.trigger or anchor.kind,
            )
        )
    return out


def checkpoint_for(*, sample_date: dt.date, infusion_on: dt.date | None) -> str | None:
    """The checkpoint a sample belongs to by its day after infusion ("day28", "day60", "other");
    None when no infusion is recorded (the recorded label stands)."""
    if infusion_on is None:
        return None
    n = (sample_date - infusion_on).days
    for name, target in MRD_CHECKPOINT_DAYS.items():
        if abs(n - target) <= MRD_TOLERANCE_DAYS[name]:
            return name
    return "other"


def mrd_alarm(result: Mrd, earlier: list[Mrd]) -> str | None:
    """Steps 5-6: any MRD-positive result needs a coordinator at once. "conversion" when MRD
    returns after a negative result, "positive" otherwise; None for a negative result."""
    if result.negative:
        return None
    before = [r for r in earlier if r.on <= result.on]
    if before and max(before, key=lambda r: r.on).negative:
        return "conversion"
    return "positive"
