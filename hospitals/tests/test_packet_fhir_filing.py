"""A FHIR document Bundle a centre's EHR can file: narrative for the document and every
section, absolute attachment URLs that download the file, Attachment.hash as FHIR defines it
(base64 SHA-1), identifiers in valid systems, relapses, GvHD and immunosuppression as
resources, and the assembler named as a person of the navigation service, not a login.
Checked with fhir.resources (R4B) and the project's own document-Bundle rules."""

import base64
import hashlib
import json
from urllib.parse import urlsplit

import pytest
from fhir.resources.R4B.bundle import Bundle

from hospitals.packets.fhir import bundle_problems
from hospitals.packets.render import packet_fhir
from hospitals.services.referrals import referral_send

from .conftest import api

pytestmark = pytest.mark.django_db


def _resources(bundle, rtype):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


@pytest.fixture
def bundle(packet_world, settings):
    settings.SITE_URL = "https://navigator.example.org"
    w = packet_world
    w.alice.first_name, w.alice.last_name = "Alice", "Moreau"
    w.alice.save()
    result = packet_fhir(referral_send(referral=w.referral, actor=w.alice))
    Bundle.model_validate(result)
    assert bundle_problems(result) == []
    return result


def test_the_composition_and_every_section_carry_a_narrative(bundle):
    composition = bundle["entry"][0]["resource"]
    assert composition["text"]["status"] == "generated"
    assert composition["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    assert "Misha Ivanov" in composition["text"]["div"]
    for section in composition["section"]:
        assert section["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">'), section["title"]
    results = next(s for s in composition["section"] if s["title"] == "Results")
    assert "CD19 expression on blasts" in results["text"]["div"]


def test_attachments_have_absolute_urls_that_download_the_file_and_a_base64_sha1_hash(bundle, packet_world, pkuph_key):
    w = packet_world
    client = api(token=pkuph_key)
    refs = _resources(bundle, "DocumentReference")
    assert refs
    for ref in refs:
        attachment = ref["content"][0]["attachment"]
        url = urlsplit(attachment["url"])
        assert (url.scheme, url.netloc) == ("https", "navigator.example.org")
        response = client.get(url.path)
        assert response.status_code == 200, url.path
        body = b"".join(response.streaming_content)
        assert attachment["hash"] == base64.b64encode(hashlib.sha1(body).digest()).decode()
        assert ref["identifier"][0] == {
            "system": "https://navigator.health/fhir/NamingSystem/document-sha256",
            "value": hashlib.sha256(body).hexdigest(),
        }
    assert {int(urlsplit(r["content"][0]["attachment"]["url"]).path.rstrip("/").rsplit("/", 1)[1]) for r in refs} == {
        w.cd19.pk,
        w.pathology.pk,
        w.pathology_en.pk,
    }


def test_no_identifier_uses_an_invalid_urn_namespace(bundle):
    text = json.dumps(bundle)
    assert "urn:navigator" not in text
    for entry in bundle["entry"]:
        for identifier in entry["resource"].get("identifier", []):
            assert identifier["system"].startswith(("https://", "urn:ietf:rfc:3986")), identifier


def test_relapses_gvhd_and_immunosuppression_are_structured_resources(bundle):
    conditions = _resources(bundle, "Condition")
    relapses = [c for c in conditions if c["code"].get("text", "").startswith("Relapse of B-ALL")]
    assert [c["clinicalStatus"]["coding"][0]["code"] for c in relapses] == ["relapse"]
    assert relapses[0]["onsetDateTime"] and relapses[0]["bodySite"] == [{"text": "marrow"}]
    assert any(c["code"]["text"].startswith("Relapse of B-ALL (marrow)") for c in relapses)
    gvhd = [c for c in conditions if c["code"]["coding"][0]["code"] == "234646005"]
    assert len(gvhd) == 1 and gvhd[0]["verificationStatus"]["coding"][0]["code"] == "refuted"  # no active GvHD
    immuno = [
        m
        for m in _resources(bundle, "MedicationStatement")
        if m["id"] and "Immunosuppression" in m["medicationCodeableConcept"]["text"]
    ]
    assert len(immuno) == 1 and immuno[0]["status"] == "not-taken"
    history = next(s for s in bundle["entry"][0]["resource"]["section"] if s["title"] == "History of past illness")
    assert {r["reference"] for r in history["entry"]} == {f"urn:uuid:{c['id']}" for c in relapses + gvhd}


def test_the_assembler_is_a_named_person_of_the_service_not_a_login(bundle):
    practitioner = _resources(bundle, "Practitioner")[0]
    assert practitioner["name"] == [{"text": "Alice Moreau"}]
    assert "identifier" not in practitioner
    assert '"alice"' not in json.dumps(bundle)
    provenance = _resources(bundle, "Provenance")[0]
    organization = next(o for o in _resources(bundle, "Organization") if o["name"] == "Navigator case management")
    assert provenance["agent"][0]["onBehalfOf"]["reference"] == f"urn:uuid:{organization['id']}"
