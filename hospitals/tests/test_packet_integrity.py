"""What a centre can verify about what it received: one packet version gives the same bytes on
every download, and ``content_hash`` is recomputed from the JSON route and from ``packet.json``
with RFC 8785 canonicalisation and SHA-256 alone (docs/packet-format.md)."""

import datetime as dt
import hashlib
import io
import json
import time
import zipfile

import pytest
import rfc8785
from pypdf import PdfReader

from hospitals.services.packets import packet_mark_seen
from hospitals.services.referrals import referral_send

from .conftest import add_document, api

pytestmark = pytest.mark.django_db


def _centre_hash(document: dict) -> str:
    """A centre's own computation, from the published definition only."""
    content = {k: v for k, v in document.items() if k not in ("packet", "changes_since")}
    return hashlib.sha256(rfc8785.dumps(content)).hexdigest()


def _later_clock(monkeypatch, seconds: int):
    """Every clock the renderers could read now says ``seconds`` later."""
    real_time, real_localtime, real_gmtime = time.time, time.localtime, time.gmtime
    monkeypatch.setattr(time, "time", lambda: real_time() + seconds)
    monkeypatch.setattr(time, "localtime", lambda t=None: real_localtime(real_time() + seconds if t is None else t))
    monkeypatch.setattr(time, "gmtime", lambda t=None: real_gmtime(real_time() + seconds if t is None else t))


def _second_version(w):
    v1 = referral_send(referral=w.referral, actor=w.alice)
    packet_mark_seen(packet=v1, user=w.dr_li)
    add_document(w.case_a, w.alice, "mrd_report", "mrd-report")
    return referral_send(referral=w.referral, actor=w.alice, reason="")


def test_the_pdf_and_zip_of_one_version_are_identical_bytes_on_every_download(packet_world, pkuph_key, monkeypatch):
    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    client = api(token=pkuph_key)
    base = f"/api/v1/referrals/{w.referral.pk}/packets/1"
    pdf_1 = client.get(f"{base}/pdf/").content
    zip_1 = b"".join(client.get(f"{base}/zip/").streaming_content)
    _later_clock(monkeypatch, 3 * 3600 + 7)
    pdf_2 = client.get(f"{base}/pdf/").content
    zip_2 = b"".join(client.get(f"{base}/zip/").streaming_content)
    assert hashlib.sha256(pdf_1).hexdigest() == hashlib.sha256(pdf_2).hexdigest()
    assert pdf_1 == pdf_2
    assert zip_1 == zip_2
    manifests = [json.loads(zipfile.ZipFile(io.BytesIO(z)).read("manifest.json")) for z in (zip_1, zip_2)]
    pdf_sums = [next(f["sha256"] for f in m["files"] if f["path"] == "summary.pdf") for m in manifests]
    assert pdf_sums[0] == pdf_sums[1] == hashlib.sha256(pdf_1).hexdigest()  # the ZIP's PDF is the route's PDF


def test_the_zip_members_carry_the_versions_time_fixed_permissions_and_a_fixed_order(packet_world):
    from hospitals.packets.render import packet_zip

    w = packet_world
    packet = referral_send(referral=w.referral, actor=w.alice)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(packet_zip(packet))))
    assembled = packet.created_at.astimezone(dt.UTC)
    expected = (*assembled.timetuple()[:5], assembled.second - assembled.second % 2)
    infos = archive.infolist()
    assert [i.filename for i in infos[:5]] == [
        "manifest.json",
        "SHA256SUMS",
        "packet.json",
        "fhir-bundle.json",
        "summary.pdf",
    ]
    for info in infos:
        assert info.date_time == expected, info.filename
        assert (info.external_attr >> 16) & 0o777 == 0o600, info.filename
    assert archive.testzip() is None  # the rewritten local headers still read back


def test_the_pdf_is_dated_with_the_versions_time_and_names_no_render_time(packet_world, monkeypatch):
    from hospitals.packets.render import packet_pdf

    w = packet_world
    packet = referral_send(referral=w.referral, actor=w.alice)
    _later_clock(monkeypatch, 26 * 3600)
    meta = PdfReader(io.BytesIO(packet_pdf(packet))).metadata
    assembled = packet.created_at.astimezone(dt.UTC)
    assert meta["/CreationDate"].startswith(f"D:{assembled:%Y%m%d%H%M%S}")
    assert meta["/ModDate"] == meta["/CreationDate"]


def test_a_centre_recomputes_the_content_hash_from_the_json_route_and_from_packet_json(packet_world, pkuph_key):
    w = packet_world
    v2 = _second_version(w)
    client = api(token=pkuph_key)
    base = f"/api/v1/referrals/{w.referral.pk}/packets/{v2.version}"
    served = client.get(f"{base}/json/").json()
    archive = zipfile.ZipFile(io.BytesIO(b"".join(client.get(f"{base}/zip/").streaming_content)))
    in_zip = json.loads(archive.read("packet.json"))
    manifest = json.loads(archive.read("manifest.json"))
    assert served["packet"]["content_hash"] == v2.content_hash
    assert served["packet"]["content_hash_algorithm"] == manifest["content_hash_algorithm"] == "sha256-rfc8785"
    assert _centre_hash(served) == v2.content_hash
    assert _centre_hash(in_zip) == v2.content_hash
    assert manifest["content_hash"] == v2.content_hash


def test_packet_json_in_the_zip_carries_the_changes_since_like_the_json_route(packet_world, pkuph_key):
    w = packet_world
    v2 = _second_version(w)
    client = api(token=pkuph_key)
    base = f"/api/v1/referrals/{w.referral.pk}/packets/{v2.version}"
    served = client.get(f"{base}/json/").json()
    archive = zipfile.ZipFile(io.BytesIO(b"".join(client.get(f"{base}/zip/").streaming_content)))
    in_zip = json.loads(archive.read("packet.json"))
    assert in_zip["changes_since"]["version"] == 1
    assert in_zip["changes_since"] == served["changes_since"]
    assert any(c["section"] == "documents" and c["change"] == "added" for c in in_zip["changes_since"]["changes"])
    assert in_zip == served


def test_an_unchanged_case_keeps_its_hash_and_a_changed_one_does_not(packet_world):
    from hospitals.packets.snapshot import content_hash

    w = packet_world
    v1 = referral_send(referral=w.referral, actor=w.alice)
    stored = dict(v1.snapshot)
    assert content_hash(stored) == v1.content_hash  # the stored snapshot hashes to its own hash
    stored["patient"] = {**stored["patient"], "given_name": "Mikhail"}
    assert content_hash(stored) != v1.content_hash
