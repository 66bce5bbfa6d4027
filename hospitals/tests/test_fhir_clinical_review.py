"""The clinical review's facts in the packet's FHIR Bundle: performance status, organ function with
UCUM units, the latest marrow and infections, as Observations with LOINC codes where one fits."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from hospitals.packets.fhir import build_bundle, bundle_problems

SNAPSHOTS = json.loads((Path(__file__).parent / "data" / "fhir_snapshots.json").read_text(encoding="utf-8"))


def _observations(bundle):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]


def test_new_profile_facts_are_observations_with_loinc_and_ucum_and_validate():
    from fhir.resources.R4B.bundle import Bundle

    snapshot = copy.deepcopy(SNAPSHOTS["full"])
    snapshot["clinical"].update(
        {
            "fitness": [
                {"scale": "karnofsky", "score": 80, "date": "2026-10-01"},
                {"scale": "lansky", "score": 70, "date": "2026-10-01"},
            ],
            "organ_function": [
                {
                    "test": "egfr",
                    "value": 92.0,
                    "unit": "mL/min/{1.73_m2}",
                    "date": "2026-10-01",
                    "upper_limit_normal": None,
                },
                {"test": "bilirubin", "value": 9.0, "unit": "umol/L", "date": "2026-10-01", "upper_limit_normal": 21.0},
                {"test": "spo2", "value": 97.0, "unit": "%", "date": "2026-10-01", "upper_limit_normal": None},
            ],
            "marrow": [
                {
                    "date": "2026-09-20",
                    "blasts_percent": 42.0,
                    "mrd": "positive",
                    "mrd_level": 0.35,
                    "mrd_method": "flow_cytometry",
                    "mrd_sensitivity": 0.0001,
                }
            ],
            "infections": [{"description": "CMV viraemia", "status": "controlled", "date": "2026-09-01"}],
        }
    )
    bundle = build_bundle(snapshot)
    Bundle.model_validate(bundle)
    assert bundle_problems(bundle) == []
    by_code = {c["code"]: o for o in _observations(bundle) for c in o["code"]["coding"]}
    assert by_code["89243-0"]["valueInteger"] == 80  # Karnofsky, LOINC
    assert by_code["performance-lansky"]["code"]["coding"][0]["system"].endswith("/CodeSystem/observation")
    egfr = by_code["33914-3"]["valueQuantity"]
    assert egfr == {
        "value": 92.0,
        "unit": "mL/min/{1.73_m2}",
        "system": "http://unitsofmeasure.org",
        "code": "mL/min/{1.73_m2}",
    }
    assert "14631-6" in by_code and by_code["14631-6"]["referenceRange"][0]["high"]["value"] == 21.0  # µmol/L bilirubin
    assert "59408-5" in by_code
    assert by_code["marrow-blasts"]["valueQuantity"]["value"] == 42.0
    assert by_code["active-infection"]["valueCodeableConcept"]["coding"][0]["code"] == "controlled"
