"""Weight and height (with BMI and body surface area), infection screening and lymphocyte counts
in every packet format: packet.json (valid against the published schema), the PDF summary, the
FHIR Bundle (LOINC where verified, UCUM quantities, a Vital signs section, narrative), and the
changes between versions."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from jsonschema import Draft202012Validator
from pypdf import PdfReader

from eligibility.services import profile_record_fact
from hospitals.packets.diff import describe
from hospitals.packets.fhir import build_bundle, bundle_problems
from hospitals.packets.pdf import screening_rows
from hospitals.packets.render import packet_fhir, packet_json, packet_pdf
from hospitals.services.packets import packet_mark_seen
from hospitals.services.referrals import referral_send

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
UCUM = "http://unitsofmeasure.org"


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def record_screening(case, actor):
    profile_record_fact(case=case, kind="body_measurements", actor=actor, date=ago(30), weight_kg="29.0")
    profile_record_fact(
        case=case, kind="body_measurements", actor=actor, date=ago(4), weight_kg="30.5", height_cm="136.0"
    )
    for test, result in (("hbsag", "negative"), ("anti_hbc", "indeterminate"), ("hiv_ag_ab", "negative")):
        profile_record_fact(case=case, kind="serology", actor=actor, test=test, result=result, date=ago(12))
    profile_record_fact(case=case, kind="serology", actor=actor, test="cmv_igg", result="negative", date=ago(60))
    profile_record_fact(case=case, kind="serology", actor=actor, test="cmv_igg", result="positive", date=ago(11))
    profile_record_fact(
        case=case,
        kind="serology",
        actor=actor,
        test="hbv_dna",
        result="positive",
        viral_load="150",
        viral_load_unit="[iU]/mL",
        date=ago(10),
    )
    profile_record_fact(
        case=case, kind="lymphocyte_counts", actor=actor, date=ago(3), absolute_lymphocytes="0.62", cd3_per_ul=380
    )


@pytest.fixture
def screened(packet_world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        record_screening(packet_world.case_a, packet_world.alice)
    return packet_world


def test_packet_json_carries_the_facts_and_the_derived_body_measures_and_validates(screened):
    document = packet_json(referral_send(referral=screened.referral, actor=screened.alice))
    schema = json.loads((Path(settings.BASE_DIR) / "docs" / "schemas" / "packet.schema.json").read_text())
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert [e.message for e in validator.iter_errors(document)] == []
    clinical, summary = document["clinical"], document["summary"]
    assert [(b["weight_kg"], b["height_cm"]) for b in clinical["body_measurements"]] == [(29.0, None), (30.5, 136.0)]
    hbv = next(s for s in clinical["serology"] if s["test"] == "hbv_dna")
    assert (hbv["viral_load"], hbv["viral_load_unit"], hbv["row"] is not None) == (150.0, "[iU]/mL", True)
    assert clinical["lymphocyte_counts"][0]["cd3_per_ul"] == 380
    # Mosteller: sqrt(136 x 30.5 / 3600) = 1.073 m²; BMI 30.5 / 1.36² = 16.5 kg/m².
    assert summary["body"] == {
        "weight_kg": 30.5,
        "weight_date": ago(4).isoformat(),
        "height_cm": 136.0,
        "height_date": ago(4).isoformat(),
        "bmi": 16.5,
        "bsa_m2": round(math.sqrt(136 * 30.5 / 3600), 2),
        "bsa_formula": "mosteller",
    }
    assert summary["body"]["bsa_m2"] == 1.07
    assert summary["serology"]["cmv_igg"]["result"] == "positive"  # the latest of two
    assert summary["serology"]["anti_hbc"]["result"] == "indeterminate"
    assert summary["latest_lymphocytes"] == {
        "date": ago(3).isoformat(),
        "absolute_lymphocytes": 0.62,
        "cd3_per_ul": 380,
    }
    # The schema holds the new members to their vocabulary.
    wrong = {**document, "clinical": {**clinical, "serology": [{**hbv, "result": "reactive"}]}}
    assert list(validator.iter_errors(wrong))


def test_the_pdf_summary_shows_them_in_english_and_names_them_in_chinese(screened):
    pdf = packet_pdf(referral_send(referral=screened.referral, actor=screened.alice))
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for expected in (
        "Weight and height",
        "weight 30.5 kg",
        "height 136 cm",
        "body surface area (Mosteller) 1.07 m²",
        "Infection screening: HBsAg",
        "Infection screening: CMV IgG",
        "positive",
        "indeterminate",
        "viral load 150 IU/mL",
        "Lymphocytes before apheresis",
        "CD3+ cells 380/µL",
    ):
        assert expected in text, expected
    # The Chinese section's rows (their glyphs need the CJK font the PDF tests check separately).
    clinical = packet_json(screened.referral.packets.latest("version"))["clinical"]
    zh = dict(screening_rows(clinical, "zh"))
    assert zh["身高体重"].startswith("体重 30.5 kg")
    assert "体表面积（Mosteller 公式） 1.07 m²" in zh["身高体重"]
    assert zh["感染筛查: 巨细胞病毒 IgG"].startswith("阳性")
    assert zh["感染筛查: 乙肝核心抗体（抗-HBc）"].startswith("不确定")
    assert "病毒载量 150 IU/mL" in zh["感染筛查: 乙肝病毒 DNA"]
    assert "CD3+ 细胞 380/µL" in zh["采集前淋巴细胞"]


def _observations(bundle) -> dict[str, dict]:
    return {
        c["code"]: e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        for c in e["resource"]["code"]["coding"]
    }


def test_the_fhir_bundle_has_them_as_observations_with_loinc_and_ucum_and_validates(screened):
    from fhir.resources.R4B.bundle import Bundle

    bundle = packet_fhir(referral_send(referral=screened.referral, actor=screened.alice))
    Bundle.model_validate(bundle)
    assert bundle_problems(bundle) == []
    obs = _observations(bundle)
    assert obs["29463-7"]["valueQuantity"] == {"value": 30.5, "unit": "kg", "system": UCUM, "code": "kg"}
    assert obs["29463-7"]["category"][0]["coding"][0]["code"] == "vital-signs"
    assert obs["8302-2"]["valueQuantity"]["code"] == "cm"
    assert obs["5195-3"]["valueCodeableConcept"]["coding"][0]["code"] == "260385009"  # HBsAg negative
    assert obs["16933-4"]["interpretation"][0]["coding"][0]["code"] == "IND"
    assert obs["22244-8"]["valueCodeableConcept"]["coding"][0]["code"] == "10828004"  # CMV IgG positive
    assert "56888-1" in obs
    hbv = obs["serology-hbv_dna"]
    assert hbv["valueQuantity"] == {"value": 150.0, "unit": "[iU]/mL", "system": UCUM, "code": "[iU]/mL"}
    assert [c["system"] for c in hbv["code"]["coding"]] == ["https://navigator.health/fhir/CodeSystem/observation"]
    assert obs["731-0"]["valueQuantity"] == {"value": 0.62, "unit": "10*9/L", "system": UCUM, "code": "10*9/L"}
    assert obs["8122-4"]["valueQuantity"]["code"] == "{cells}/uL"
    composition = bundle["entry"][0]["resource"]
    sections = {s["title"]: s for s in composition["section"]}
    vital = sections["Vital signs"]
    assert vital["code"]["coding"][0]["code"] == "8716-3"
    # Two weights (one with a height): every weight and height Observation is in the section.
    body = [
        e["resource"]["id"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["category"][0]["coding"][0]["code"] == "vital-signs"
    ]
    assert len(body) == 3
    assert [r["reference"] for r in vital["entry"]] == [f"urn:uuid:{rid}" for rid in body]
    results = sections["Results"]["text"]["div"]
    assert "HBsAg: Negative" in results and "Absolute lymphocyte count: 0.62 10*9/L" in results
    assert "BSA 1.07 m² (Mosteller)" in composition["text"]["div"]
    assert "CMV IgG positive" in composition["text"]["div"]


def test_a_bundle_of_a_version_without_them_has_no_vital_signs_section():
    snapshot = json.loads((Path(__file__).parent / "data" / "fhir_snapshots.json").read_text(encoding="utf-8"))["full"]
    titles = [s["title"] for s in build_bundle(snapshot)["entry"][0]["resource"]["section"]]
    assert "Vital signs" not in titles


def test_the_changes_between_versions_report_a_new_result(screened, django_capture_on_commit_callbacks):
    w = screened
    v1 = referral_send(referral=w.referral, actor=w.alice)
    packet_mark_seen(packet=v1, user=w.dr_li)
    with django_capture_on_commit_callbacks(execute=False):
        profile_record_fact(case=w.case_a, kind="serology", actor=w.alice, test="hbsag", result="positive", date=ago(1))
        profile_record_fact(case=w.case_a, kind="body_measurements", actor=w.alice, weight_kg="31.0", date=ago(1))
    v2 = referral_send(referral=w.referral, actor=w.alice, reason="")
    by_field = {(c["section"], c["field"]): c for c in v2.changes}
    assert by_field[("summary", "serology.hbsag.result")]["before"] == "negative"
    assert by_field[("summary", "serology.hbsag.result")]["after"] == "positive"
    assert by_field[("summary", "body.weight_kg")]["after"] == 31.0
    assert by_field[("clinical", "serology")]["change"] == "changed"
    assert by_field[("clinical", "body_measurements")]["change"] == "changed"
    assert "Summary › serology.hbsag.result: negative → positive" in [describe(c) for c in v2.changes]
