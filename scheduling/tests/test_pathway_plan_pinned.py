"""The whole output of ``pathway.plan`` for a case with every kind of event, pinned field by field.

Written before ``plan`` became a table, so the table is known to say exactly what the code said.
Since then only the transplant rows changed, on purpose: they follow the MDT's decision (here:
transplant planned), the target reads as a planning target and the latest date is for coordinators.
"""

import dataclasses
import datetime as dt

from scheduling.pathway import Event, Mrd, plan

D0 = dt.date(2026, 3, 2)

EVENTS = {
    "apheresis": Event("apheresis", dt.date(2026, 2, 10), True, 7),
    "manufacturing_start": Event("manufacturing_start", dt.date(2026, 2, 8), False, 8),
    "lymphodepletion": Event("lymphodepletion", dt.date(2026, 2, 26), True, 7),
    "infusion": Event("infusion", D0, True, 7),
    "ph_positive": Event("ph_positive", dt.date(2025, 12, 1), True),
    "transplant": Event("transplant", dt.date(2026, 6, 1), True, 9),
}
MRD = [Mrd("day60", dt.date(2026, 5, 1), True, True), Mrd("day28", dt.date(2026, 3, 30), True, True)]

# (key, kind, title, on, concerns_family, hospital_id, done, trigger)
EVERYTHING = [
    (
        "pathway:apheresis",
        "apheresis",
        "Apheresis (T-cell collection)",
        dt.date(2026, 2, 10),
        True,
        7,
        True,
        "apheresis",
    ),
    (
        "pathway:donor_search",
        "donor_search",
        "Start the transplant donor search",
        dt.date(2026, 2, 8),
        True,
        8,
        False,
        "manufacturing_start",
    ),
    (
        "pathway:lymphodepletion",
        "lymphodepletion",
        "Lymphodepletion (fludarabine + cyclophosphamide)",
        dt.date(2026, 2, 26),
        True,
        7,
        True,
        "lymphodepletion",
    ),
    ("pathway:infusion", "infusion", "CAR-T infusion (day 0)", D0, True, 7, True, "infusion"),
    (
        "pathway:stay_near_centre",
        "stay_near_centre",
        "Stay near the treating centre until at least this day (4 weeks after infusion)",
        dt.date(2026, 3, 30),
        True,
        7,
        False,
        "infusion",
    ),
    (
        "pathway:mrd_day28",
        "mrd_day28",
        "Day-28 MRD assessment (bone marrow)",
        dt.date(2026, 3, 30),
        True,
        7,
        False,
        "infusion",
    ),
    (
        "pathway:mrd_day60",
        "mrd_day60",
        "Day-60 MRD assessment (bone marrow)",
        dt.date(2026, 5, 1),
        True,
        7,
        False,
        "infusion",
    ),
    (
        "pathway:tki_maintenance",
        "tki_maintenance",
        "Ph+: review TKI maintenance (e.g. ponatinib) with the centre",
        dt.date(2026, 3, 30),
        False,
        7,
        False,
        "ph_positive",
    ),
    (
        "pathway:transplant_planning",
        "transplant_planning",
        "MRD-negative CR: plan allogeneic transplant (MDT, donor work-up)",
        dt.date(2026, 4, 6),
        False,
        7,
        True,
        "mrd",
    ),
    (
        "pathway:transplant_window_opens",
        "transplant_window",
        "Aim to transplant by this day (planning target, 3 months after infusion)",
        dt.date(2026, 5, 31),
        True,
        7,
        True,
        "mdt",
    ),
    (
        "pathway:transplant_window_closes",
        "transplant_window",
        "Allogeneic transplant by this day at the latest (4 months after infusion)",
        dt.date(2026, 6, 30),
        False,
        7,
        True,
        "mdt",
    ),
]


def _rows(planned):
    return [dataclasses.astuple(p) for p in planned]


def test_every_event_recorded_gives_exactly_these_milestones_in_this_order():
    assert _rows(plan(events=EVENTS, mrd_results=MRD, transplant_decision="planned")) == EVERYTHING


def test_a_planned_transplant_leaves_the_transplant_milestones_open():
    events = {**EVENTS, "transplant": Event("transplant", dt.date(2026, 6, 1), False, 9)}
    rows = _rows(plan(events=events, mrd_results=MRD, transplant_decision="planned"))
    assert [r[6] for r in rows[-3:]] == [False, False, False]
    assert rows[:-3] == EVERYTHING[:-3]


def test_without_infusion_only_collection_and_lymphodepletion_milestones():
    events = {k: v for k, v in EVENTS.items() if k not in ("infusion",)}
    assert _rows(plan(events=events, mrd_results=MRD, transplant_decision="planned")) == EVERYTHING[:3]


def test_only_manufacturing_starts_the_donor_search_without_an_apheresis_milestone():
    events = {"manufacturing_start": EVENTS["manufacturing_start"]}
    assert _rows(plan(events=events, mrd_results=[])) == [EVERYTHING[1]]


def test_mrd_positive_or_without_complete_remission_plans_no_transplant_planning():
    results = [Mrd("day28", dt.date(2026, 3, 30), False, True), Mrd("day60", dt.date(2026, 5, 1), True, False)]
    assert _rows(plan(events=EVENTS, mrd_results=results)) == EVERYTHING[:-3]
    # The MDT planned a transplant anyway: the target dates follow the decision.
    rows = _rows(plan(events=EVENTS, mrd_results=results, transplant_decision="planned"))
    assert rows == EVERYTHING[:-3] + EVERYTHING[-2:]
