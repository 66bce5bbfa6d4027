"""Each check that protects the patient, over plain data (no database)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from travel import checks
from travel.checks import LegFacts, StayFacts, TravelFacts, TravellerFacts, VisaFacts

UTC = dt.UTC


def leg(id, journey, direction, pos, origin, dest, dep, arr, dep_tz="Asia/Almaty", arr_tz="Asia/Shanghai"):
    return LegFacts(
        id=id,
        journey_id=journey,
        direction=direction,
        position=pos,
        origin=origin,
        destination=dest,
        departure_at=dep.replace(tzinfo=ZoneInfo(dep_tz)).astimezone(UTC),
        arrival_at=arr.replace(tzinfo=ZoneInfo(arr_tz)).astimezone(UTC),
        departure_tz=dep_tz,
        arrival_tz=arr_tz,
        label=f"{origin}→{dest}",
    )


D0 = dt.date(2030, 3, 20)  # infusion day 0
NOW = dt.datetime(2030, 1, 10, 12, tzinfo=UTC)


def codes(warnings):
    return [w.code for w in warnings]


def test_accommodation_ending_before_day_28_is_flagged():
    stays = [StayFacts(1, "Flat", dt.date(2030, 3, 1), D0 + dt.timedelta(days=27))]
    result = checks.check_post_infusion_stay(infusion_day0=D0, is_estimate=False, stays=stays, legs=[])
    assert codes(result) == ["stay_too_short"]
    assert "2030-04-17" in result[0].coordinator_text  # day 0 + 28
    assert "2030-04-17" in result[0].family_text


def test_accommodation_covering_four_weeks_after_infusion_passes():
    stays = [StayFacts(1, "Flat", dt.date(2030, 3, 1), D0 + dt.timedelta(days=28))]
    assert checks.check_post_infusion_stay(infusion_day0=D0, is_estimate=True, stays=stays, legs=[]) == []


def test_the_latest_of_several_stays_counts():
    stays = [
        StayFacts(1, "Hotel", dt.date(2030, 3, 1), dt.date(2030, 3, 10)),
        StayFacts(2, "Flat", dt.date(2030, 3, 10), dt.date(2030, 4, 30)),
    ]
    assert checks.check_post_infusion_stay(infusion_day0=D0, is_estimate=True, stays=stays, legs=[]) == []


def test_no_accommodation_at_all_is_flagged_once_an_infusion_date_is_known():
    assert codes(checks.check_post_infusion_stay(infusion_day0=D0, is_estimate=True, stays=[], legs=[])) == [
        "stay_not_booked"
    ]
    assert checks.check_post_infusion_stay(infusion_day0=None, is_estimate=True, stays=[], legs=[]) == []


def test_a_return_flight_before_day_28_is_flagged_in_the_centres_local_date():
    # Leaves PEK at 00:30 local on day 28, which is still day 27 in UTC: local date counts, so it passes.
    ok = leg(
        1,
        9,
        "return",
        1,
        "PEK",
        "ALA",
        dt.datetime(2030, 4, 17, 0, 30),
        dt.datetime(2030, 4, 17, 4),
        "Asia/Shanghai",
        "Asia/Almaty",
    )
    stays = [StayFacts(1, "Flat", dt.date(2030, 3, 1), dt.date(2030, 4, 30))]
    assert checks.check_post_infusion_stay(infusion_day0=D0, is_estimate=False, stays=stays, legs=[ok]) == []
    early = leg(
        2,
        9,
        "return",
        1,
        "PEK",
        "ALA",
        dt.datetime(2030, 4, 16, 23, 30),
        dt.datetime(2030, 4, 17, 3),
        "Asia/Shanghai",
        "Asia/Almaty",
    )
    result = checks.check_post_infusion_stay(infusion_day0=D0, is_estimate=False, stays=stays, legs=[early])
    assert codes(result) == ["return_too_early"]
    assert result[0].level == "danger"


def test_arrival_after_the_admission_date_is_flagged():
    outbound = [leg(1, 1, "outbound", 1, "ALA", "PEK", dt.datetime(2030, 3, 1, 23), dt.datetime(2030, 3, 2, 6))]
    assert codes(checks.check_arrival_before_admission(legs=outbound, admission_date=dt.date(2030, 3, 1))) == [
        "arrives_after_admission"
    ]
    assert checks.check_arrival_before_admission(legs=outbound, admission_date=dt.date(2030, 3, 2)) == []


def test_legs_out_of_order_are_flagged():
    first = leg(
        1,
        1,
        "outbound",
        1,
        "ALA",
        "URC",
        dt.datetime(2030, 3, 1, 10),
        dt.datetime(2030, 3, 1, 13),
        arr_tz="Asia/Shanghai",
    )
    second = leg(
        2, 1, "outbound", 2, "URC", "PEK", dt.datetime(2030, 3, 1, 12), dt.datetime(2030, 3, 1, 16), "Asia/Shanghai"
    )
    assert "legs_out_of_order" in codes(checks.check_leg_sequence(legs=[first, second]))


def test_legs_that_do_not_connect_are_flagged():
    first = leg(1, 1, "outbound", 1, "ALA", "URC", dt.datetime(2030, 3, 1, 10), dt.datetime(2030, 3, 1, 13))
    second = leg(
        2, 1, "outbound", 2, "PVG", "PEK", dt.datetime(2030, 3, 1, 18), dt.datetime(2030, 3, 1, 20), "Asia/Shanghai"
    )
    assert codes(checks.check_leg_sequence(legs=[first, second])) == ["legs_not_connected"]


def test_a_tight_connection_is_flagged_and_a_comfortable_one_is_not():
    first = leg(1, 1, "outbound", 1, "ALA", "URC", dt.datetime(2030, 3, 1, 10), dt.datetime(2030, 3, 1, 13))
    tight = leg(
        2, 1, "outbound", 2, "URC", "PEK", dt.datetime(2030, 3, 1, 13, 40), dt.datetime(2030, 3, 1, 17), "Asia/Shanghai"
    )
    easy = leg(
        3, 2, "outbound", 2, "URC", "PEK", dt.datetime(2030, 3, 1, 15, 0), dt.datetime(2030, 3, 1, 19), "Asia/Shanghai"
    )
    assert codes(checks.check_leg_sequence(legs=[first, tight])) == ["tight_connection"]
    first_b = leg(4, 2, "outbound", 1, "ALA", "URC", dt.datetime(2030, 3, 1, 10), dt.datetime(2030, 3, 1, 13))
    assert checks.check_leg_sequence(legs=[first_b, easy]) == []


def test_a_connection_that_looks_backwards_in_local_time_but_is_fine_in_absolute_time_passes():
    # Lands in Honolulu "the day before" it left Auckland; the next flight leaves HNL later that local day.
    akl_hnl = leg(
        1,
        1,
        "outbound",
        1,
        "AKL",
        "HNL",
        dt.datetime(2030, 7, 15, 9, 0),
        dt.datetime(2030, 7, 14, 19, 30),
        "Pacific/Auckland",
        "Pacific/Honolulu",
    )
    hnl_lax = leg(
        2,
        1,
        "outbound",
        2,
        "HNL",
        "LAX",
        dt.datetime(2030, 7, 14, 22, 0),
        dt.datetime(2030, 7, 15, 6, 0),
        "Pacific/Honolulu",
        "America/Los_Angeles",
    )
    assert checks.check_leg_sequence(legs=[akl_hnl, hnl_lax]) == []


@pytest.mark.parametrize(
    ("status", "today", "expected"),
    [
        ("submitted", dt.date(2030, 2, 14), []),  # 15 days before: not yet
        ("submitted", dt.date(2030, 2, 15), ["visa_not_granted"]),  # 14 days before
        ("not_started", dt.date(2030, 2, 28), ["visa_not_granted"]),
        ("granted", dt.date(2030, 2, 28), []),
        ("not_required", dt.date(2030, 2, 28), []),
        ("refused", dt.date(2030, 1, 1), ["visa_refused"]),
    ],
)
def test_a_visa_not_granted_n_days_before_departure_is_flagged(status, today, expected):
    outbound = [leg(1, 1, "outbound", 1, "ALA", "PEK", dt.datetime(2030, 3, 1, 23), dt.datetime(2030, 3, 2, 6))]
    now = dt.datetime.combine(today, dt.time(12), tzinfo=UTC)
    visas = [VisaFacts(7, "OLGA IVANOVA", status)]
    assert codes(checks.check_visas(visas=visas, legs=outbound, now=now, lead_days=14)) == expected


def test_the_visa_lead_time_is_configurable():
    outbound = [leg(1, 1, "outbound", 1, "ALA", "PEK", dt.datetime(2030, 3, 1, 23), dt.datetime(2030, 3, 2, 6))]
    now = dt.datetime(2030, 2, 1, 12, tzinfo=UTC)
    visas = [VisaFacts(7, "OLGA IVANOVA", "submitted")]
    assert checks.check_visas(visas=visas, legs=outbound, now=now, lead_days=14) == []
    assert codes(checks.check_visas(visas=visas, legs=outbound, now=now, lead_days=30)) == ["visa_not_granted"]


def test_a_visa_is_not_checked_once_the_flight_has_left():
    outbound = [leg(1, 1, "outbound", 1, "ALA", "PEK", dt.datetime(2030, 3, 1, 23), dt.datetime(2030, 3, 2, 6))]
    later = dt.datetime(2030, 3, 5, tzinfo=UTC)
    assert checks.check_visas(visas=[VisaFacts(7, "X", "submitted")], legs=outbound, now=later) == []


@pytest.mark.parametrize(
    ("expiry", "expected"),
    [
        (dt.date(2029, 12, 31), ["passport_expired"]),
        (dt.date(2030, 4, 1), ["passport_expires_before_return"]),  # return 2030-04-20
        (dt.date(2030, 8, 1), ["passport_six_months"]),  # arrival 2030-03-02 + 6 months = 2030-09-02
        (dt.date(2030, 9, 2), []),
        (None, ["passport_missing"]),
    ],
)
def test_passport_validity(expiry, expected):
    travellers = [TravellerFacts(1, "OLGA IVANOVA", has_passport=expiry is not None, passport_expiry=expiry)]
    result = checks.check_passports(
        travellers=travellers,
        arrival_date=dt.date(2030, 3, 2),
        return_date=dt.date(2030, 4, 20),
        today=dt.date(2030, 1, 10),
    )
    assert codes(result) == expected


def test_six_months_after_the_end_of_a_month_is_the_last_day_of_the_shorter_month():
    assert checks.add_months(dt.date(2030, 8, 31), 6) == dt.date(2031, 2, 28)


def test_run_all_puts_the_most_serious_warnings_first_and_texts_are_translatable():
    facts = TravelFacts(
        today=NOW.date(),
        now=NOW,
        travellers=[TravellerFacts(1, "OLGA IVANOVA", False, None)],
        visas=[VisaFacts(1, "OLGA IVANOVA", "refused")],
        legs=[leg(1, 1, "outbound", 1, "ALA", "PEK", dt.datetime(2030, 3, 1, 23), dt.datetime(2030, 3, 2, 6))],
        stays=[],
        admission_date=dt.date(2030, 3, 1),
        infusion_day0=D0,
    )
    with translation.override("en"):
        result = checks.run_all(facts)
    assert result[0].level == "danger"
    assert {"visa_refused", "arrives_after_admission", "passport_missing", "stay_not_booked"} <= set(codes(result))
    assert all(w.family_text and w.coordinator_text for w in result)
