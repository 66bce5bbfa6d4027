"""A treated patient ready to go home: case_b infused at PKUPH 45 days ago, MRD-negative at day
28, transplant planned, Ph+ on ponatinib; their home haematologist in Singapore."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from eligibility.services import profile_update
from followup.services import Discharge, haematologist_save
from hospitals.models import HospitalContact
from scheduling.models import MRDResult
from scheduling.services import event_record, mrd_result_record, transplant_decision_record


@pytest.fixture
def treated(world):
    return make_treated(world)


def make_treated(world):
    case, alice = world.case_b, world.alice
    today = timezone.localdate()
    day0 = today - dt.timedelta(days=45)
    HospitalContact.objects.create(
        hospital=world.pkuph,
        name="International office",
        role="Coordinator",
        email="intl@pkuph.example",
        is_primary=True,
    )
    event_record(
        case=case,
        kind="lymphodepletion",
        occurred_on=day0 - dt.timedelta(days=5),
        actor=alice,
        status="done",
        hospital=world.pkuph,
    )
    event_record(case=case, kind="infusion", occurred_on=day0, actor=alice, status="done", hospital=world.pkuph)
    mrd_result_record(
        case=case,
        actor=alice,
        checkpoint=MRDResult.Checkpoint.DAY_28,
        sample_date=day0 + dt.timedelta(days=28),
        method=MRDResult.Method.FLOW,
        result=MRDResult.Result.NEGATIVE,
        complete_remission=True,
    )
    transplant_decision_record(case=case, actor=alice, decision="planned", decided_on=day0 + dt.timedelta(days=35))
    profile_update(case=case, actor=alice, philadelphia_status="positive", current_tki="ponatinib 30 mg daily")
    haematologist_save(
        case=case,
        actor=alice,
        name="Dr Tan",
        centre="Singapore General",
        email="tan@sgh.example",
        language="zh-hans",
        time_zone="Asia/Singapore",
    )
    return case


def discharge(**changes) -> Discharge:
    today = timezone.localdate()
    values = {
        "product": "CD19 CAR-T (synthetic)",
        "dose": "1.0 x 10^6 CAR+ T cells/kg",
        "response": "CR, MRD-negative at day 28",
        "discharge_date": today - dt.timedelta(days=10),
        "crs": [{"grade": 2, "onset": today - dt.timedelta(days=44), "resolved": today - dt.timedelta(days=40)}],
        "icans": [{"grade": 1, "onset": today - dt.timedelta(days=42), "resolved": today - dt.timedelta(days=41)}],
        "medications": [{"name": "Aciclovir", "dose": "400 mg twice daily"}],
        "watch_for": ["Call the centre for any fever above 38 C in the first month."],
    }
    values.update(changes)
    return Discharge(**values)
