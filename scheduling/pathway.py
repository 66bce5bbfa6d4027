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
    MRD-negative CR                transplant planning (MDT, donor)   +7 from the result        no      step 7
    MRD-negative CR                transplant target (aim by)         infusion +90 (3 months)   yes     step 7
    MRD-negative CR                transplant by, at the latest       infusion +120 (4 months)  yes     step 7
    transplant performed           closes the transplant milestones   -                         -       step 7
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


def plan(*, events: dict[str, Event], mrd_results: list[Mrd]) -> list[PlannedMilestone]:
    """Every pathway milestone the recorded events call for, keyed ``pathway:<name>``."""
    out: list[PlannedMilestone] = []

    collection = [events[k] for k in (APHERESIS, MANUFACTURING_START) if k in events]
    if APHERESIS in events:
        e = events[APHERESIS]
        out.append(
            PlannedMilestone(
                "pathway:apheresis",
                "apheresis",
                "Apheresis (T-cell collection)",
                e.on,
                True,
                e.hospital_id,
                e.done,
                APHERESIS,
            )
        )
    if collection:
        # Step 2: the donor search starts at the same time as CAR-T manufacturing.
        first = min(collection, key=lambda e: e.on)
        out.append(
            PlannedMilestone(
                "pathway:donor_search",
                "donor_search",
                "Start the transplant donor search",
                first.on,
                True,
                first.hospital_id,
                False,
                first.kind,
            )
        )

    if LYMPHODEPLETION in events:
        e = events[LYMPHODEPLETION]
        out.append(
            PlannedMilestone(
                "pathway:lymphodepletion",
                "lymphodepletion",
                "Lymphodepletion (fludarabine + cyclophosphamide)",
                e.on,
                True,
                e.hospital_id,
                e.done,
                LYMPHODEPLETION,
            )
        )

    infusion = events.get(INFUSION)
    if infusion is not None:
        d0, h = infusion.on, infusion.hospital_id
        out += [
            PlannedMilestone(
                "pathway:infusion", "infusion", "CAR-T infusion (day 0)", d0, True, h, infusion.done, INFUSION
            ),
            PlannedMilestone(
                "pathway:stay_near_centre",
                "stay_near_centre",
                "Stay near the treating centre until at least this day (4 weeks after infusion)",
                day(d0, STAY_NEAR_CENTRE_DAYS),
                True,
                h,
                False,
                INFUSION,
            ),
            PlannedMilestone(
                "pathway:mrd_day28",
                "mrd_day28",
                "Day-28 MRD assessment (bone marrow)",
                day(d0, MRD_FIRST_DAY),
                True,
                h,
                False,
                INFUSION,
            ),
            PlannedMilestone(
                "pathway:mrd_day60",
                "mrd_day60",
                "Day-60 MRD assessment (bone marrow)",
                day(d0, MRD_SECOND_DAY),
                True,
                h,
                False,
                INFUSION,
            ),
        ]
        if PH_POSITIVE in events:
            out.append(
                PlannedMilestone(
                    "pathway:tki_maintenance",
                    "tki_maintenance",
                    "Ph+: review TKI maintenance (e.g. ponatinib) with the centre",
                    day(d0, TKI_CHECK_DAY),
                    False,
                    h,
                    False,
                    PH_POSITIVE,
                )
            )

        negative_cr = sorted((r for r in mrd_results if r.negative and r.complete_remission), key=lambda r: r.on)
        if negative_cr:
            first = negative_cr[0]
            transplanted = TRANSPLANT in events and events[TRANSPLANT].done
            out += [
                PlannedMilestone(
                    "pathway:transplant_planning",
                    "transplant_planning",
                    "MRD-negative CR: plan allogeneic transplant (MDT, donor work-up)",
                    first.on + dt.timedelta(days=TRANSPLANT_PLANNING_AFTER_RESULT_DAYS),
                    False,
                    h,
                    transplanted,
                    "mrd",
                ),
                PlannedMilestone(
                    "pathway:transplant_window_opens",
                    "transplant_window",
                    "Aim for the allogeneic transplant by this day (3 months after infusion)",
                    day(d0, TRANSPLANT_WINDOW_OPENS_DAY),
                    True,
                    h,
                    transplanted,
                    "mrd",
                ),
                PlannedMilestone(
                    "pathway:transplant_window_closes",
                    "transplant_window",
                    "Allogeneic transplant by this day at the latest (4 months after infusion)",
                    day(d0, TRANSPLANT_WINDOW_CLOSES_DAY),
                    True,
                    h,
                    transplanted,
                    "mrd",
                ),
            ]
    return out


def is_positive_at_day_28(result: Mrd) -> bool:
    """Step 5: MRD-positive at day 28 warrants additional assessment and a transplant-timing talk, at once."""
    return result.checkpoint == "day28" and not result.negative
