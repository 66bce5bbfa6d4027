"""Every packet validates against the published JSON Schemas (docs/schemas/), which are served
at stable URLs and linked from the OpenAPI description."""

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from jsonschema import Draft202012Validator

from hospitals.packets.render import packet_json, packet_zip
from hospitals.services.packets import packet_mark_seen
from hospitals.services.referrals import referral_send

from .conftest import add_document, api

pytestmark = pytest.mark.django_db
SCHEMAS = Path(settings.BASE_DIR) / "docs" / "schemas"


def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _errors(validator, document) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_a_first_and_a_second_version_and_their_manifests_validate(packet_world):
    w = packet_world
    packet_v, manifest_v = _validator("packet.schema.json"), _validator("manifest.schema.json")
    v1 = referral_send(referral=w.referral, actor=w.alice)
    packet_mark_seen(packet=v1, user=w.dr_li)
    add_document(w.case_a, w.alice, "mrd_report", "mrd-report")
    v2 = referral_send(referral=w.referral, actor=w.alice, reason="")
    for packet in (v1, v2):
        assert _errors(packet_v, packet_json(packet)) == []
        archive = zipfile.ZipFile(io.BytesIO(b"".join(packet_zip(packet))))
        assert _errors(packet_v, json.loads(archive.read("packet.json"))) == []
        assert _errors(manifest_v, json.loads(archive.read("manifest.json"))) == []
    assert packet_json(v2)["changes_since"]["version"] == 1


def test_the_schema_refuses_what_a_centre_must_not_receive(packet_world):
    """The schema is not a formality: contacts, an unknown section or a malformed hash fail it."""
    w = packet_world
    validator = _validator("packet.schema.json")
    document = packet_json(referral_send(referral=w.referral, actor=w.alice))
    with_phone = {**document, "patient": {**document["patient"], "phone": "+77010000000"}}
    assert any("phone" in e for e in _errors(validator, with_phone))
    assert _errors(validator, {**document, "family_contacts": []})
    bad_hash = {**document, "packet": {**document["packet"], "content_hash": "not-a-hash"}}
    assert any("content_hash" in e for e in _errors(validator, bad_hash))


def test_every_packet_the_demo_produces_validates_and_its_cover_note_agrees_with_its_record(db, settings):
    from django.core.management import call_command

    from hospitals.models import PacketVersion

    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    packets = list(PacketVersion.objects.select_related("referral"))
    assert packets
    validator = _validator("packet.schema.json")
    for packet in packets:
        assert _errors(validator, packet_json(packet)) == [], packet
    # The cover note says what the structured record says about transplants (never the opposite).
    transplanted = [p for p in packets if p.snapshot["clinical"].get("transplants")]
    assert transplanted
    for packet in transplanted:
        note = packet.snapshot["cover_note"]
        for t in packet.snapshot["clinical"]["transplants"]:
            assert ("on immunosuppression" if t["on_immunosuppression"] else "off immunosuppression") in note
            assert ("; active GvHD" if t["active_gvhd"] else "no active GvHD") in note, note


def test_the_schemas_are_served_at_stable_urls_and_linked_from_the_openapi_description(packet_world, pkuph_key):
    client = api(token=pkuph_key)
    for name in ("packet.schema.json", "manifest.schema.json"):
        response = client.get(f"/api/schemas/{name}")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/schema+json"
        assert b"".join(response.streaming_content) == (SCHEMAS / name).read_bytes()
    assert client.get("/api/schemas/settings.py").status_code == 404
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    route = schema["paths"]["/api/v1/referrals/{id}/packets/{version}/{fmt}/"]["get"]
    assert "/api/schemas/packet.schema.json" in route["description"]
    assert "/api/schemas/manifest.schema.json" in route["description"]
