"""The FHIR Bundle for fixed packet snapshots, pinned byte for byte.

``data/fhir_snapshots.json`` holds three snapshots (a full clinical profile with every kind of
result, a sparse one with no clinical data and no documents, one in between); ``data/fhir_bundles.json``
holds the Bundle each gives. A change to the builders that changes a single byte of the JSON,
key order included, fails here; a deliberate change to the Bundle regenerates the pinned file.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from hospitals.packets.fhir import build_bundle, bundle_problems

DATA = Path(__file__).parent / "data"
SNAPSHOTS = json.loads((DATA / "fhir_snapshots.json").read_text(encoding="utf-8"))
BUNDLES = json.loads((DATA / "fhir_bundles.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(SNAPSHOTS))
def test_the_bundle_for_a_fixed_snapshot_is_byte_identical_to_the_pinned_one(name):
    snapshot = copy.deepcopy(SNAPSHOTS[name])
    bundle = build_bundle(snapshot)
    assert json.dumps(bundle, ensure_ascii=False) == json.dumps(BUNDLES[name], ensure_ascii=False)
    assert snapshot == SNAPSHOTS[name]  # the snapshot is read, never changed


@pytest.mark.parametrize("name", sorted(SNAPSHOTS))
def test_the_pinned_bundles_are_valid_fhir_documents(name):
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(BUNDLES[name])
    assert bundle_problems(BUNDLES[name]) == []


def test_the_pinned_snapshots_reach_every_branch_of_the_builders():
    full = BUNDLES["full"]["entry"]
    types = [e["resource"]["resourceType"] for e in full]
    assert types.count("Observation") == 4 + 3 + 1 + 2  # CD19, MRD, BCR::ABL1, CNS
    assert types.count("MedicationStatement") == 3 + 1 + 2  # therapy lines, the current TKI, immunosuppression
    assert types.count("Condition") == 1 + 2  # the disease and GvHD after each of two transplants
    assert types.count("DocumentReference") == 3
    sparse = [e["resource"]["resourceType"] for e in BUNDLES["sparse"]["entry"]]
    assert sparse == [
        "Composition",
        "Patient",
        "Organization",
        "Organization",
        "Practitioner",
        "Condition",
        "Observation",
        "Provenance",
    ]
