import datetime as dt

import pytest

from scheduling import pathway
from scheduling.pathway import Event, Mrd, plan

D0 = dt.date(2026, 3, 2)


def _by_key(items):
    return {p.key: p for p in items}


def test_day_28_is_counted_from_infusion_as_day_0():
    assert pathway.day(D0, 0) == D0
    assert pathway.day(D0, 28) == dt.date(2026, 3, 30)
    assert pathway.day(D0, 60) == dt.date(2026, 5, 1)


def test_infusion_gives_both_mrd_checkpoints_and_the_four_week_stay():
    out = _by_key(plan(events={"infusion": Event("infusion", D0)}, mrd_results=[]))
    assert out["pathway:mrd_day28"].on == dt.date(2026, 3, 30)
    assert out["pathway:mrd_day60"].on == dt.date(2026, 5, 1)
    assert (out["pathway:stay_near_centre"].on - D0).days >= 28
    assert out["pathway:infusion"].on == D0
    assert "pathway:transplant_planning" not in out


def test_donor_search_starts_with_the_earliest_of_apheresis_and_manufacturing():
    out = _by_key(
        plan(
            events={
                "apheresis": Event("apheresis", dt.date(2026, 2, 10)),
                "manufacturing_start": Event("manufacturing_start", dt.date(2026, 2, 8)),
            },
            mrd_results=[],
        )
    )
    assert out["pathway:donor_search"].on == dt.date(2026, 2, 8)


def test_ph_positive_cases_get_a_tki_maintenance_check():
    events = {"infusion": Event("infusion", D0), "ph_positive": Event("ph_positive", dt.date(2025, 12, 1), True)}
    assert "pathway:tki_maintenance" in _by_key(plan(events=events, mrd_results=[]))
    assert "pathway:tki_maintenance" not in _by_key(plan(events={"infusion": Event("infusion", D0)}, mrd_results=[]))


def test_mrd_negative_cr_plans_transplant_within_three_to_four_months_of_infusion():
    out = _by_key(
        plan(
            events={"infusion": Event("infusion", D0)},
            mrd_results=[Mrd("day28", dt.date(2026, 3, 30), True, True)],
            transplant_decision="planned",
        )
    )
    assert (out["pathway:transplant_window_opens"].on - D0).days == 90
    assert (out["pathway:transplant_window_closes"].on - D0).days == 120
    # "Within 3-4 months": both dates are deadlines to transplant by, never a wait until.
    for key in ("pathway:transplant_window_opens", "pathway:transplant_window_closes"):
        assert " by this day" in out[key].title and "opens" not in out[key].title
    assert out["pathway:transplant_planning"].on == dt.date(2026, 4, 6)


def test_mrd_negative_without_complete_remission_does_not_start_transplant_planning():
    out = _by_key(
        plan(events={"infusion": Event("infusion", D0)}, mrd_results=[Mrd("day28", dt.date(2026, 3, 30), True, False)])
    )
    assert "pathway:transplant_planning" not in out


def test_any_mrd_positive_result_is_flagged_and_a_return_after_negative_is_a_conversion():
    assert pathway.mrd_alarm(Mrd("day28", D0, negative=False, complete_remission=True), []) == "positive"
    assert pathway.mrd_alarm(Mrd("day60", D0, negative=False, complete_remission=True), []) == "positive"
    assert pathway.mrd_alarm(Mrd("day28", D0, negative=True, complete_remission=True), []) is None
    earlier = [Mrd("day28", D0 - dt.timedelta(days=30), negative=True, complete_remission=True)]
    assert pathway.mrd_alarm(Mrd("day60", D0, negative=False, complete_remission=True), earlier) == "conversion"


@pytest.mark.parametrize(
    "day, checkpoint",
    [
        (20, "other"),
        (21, "day28"),
        (28, "day28"),
        (35, "day28"),
        (36, "other"),
        (46, "day60"),
        (74, "day60"),
        (75, "other"),
    ],
)
def test_the_checkpoint_follows_the_days_since_infusion_with_a_tolerance(day, checkpoint):
    assert pathway.checkpoint_for(sample_date=D0 + dt.timedelta(days=day), infusion_on=D0) == checkpoint
    assert pathway.checkpoint_for(sample_date=D0, infusion_on=None) is None


@pytest.mark.parametrize("decision", ["undecided", "not_planned"])
def test_no_family_transplant_date_without_an_mdt_decision_to_transplant(decision):
    out = _by_key(
        plan(
            events={"infusion": Event("infusion", D0)},
            mrd_results=[Mrd("day28", dt.date(2026, 3, 30), True, True)],
            transplant_decision=decision,
        )
    )
    assert not any(k.startswith("pathway:transplant_window") for k in out)
    assert ("pathway:transplant_planning" in out) == (decision == "undecided")
