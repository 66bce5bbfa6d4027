import io
import json
import zipfile

import pytest
from django.db import connection, transaction
from pypdf import PdfReader

from hospitals.models import PacketImmutable, PacketVersion, RequiredRecord
from hospitals.packets.fhir import bundle_problems
from hospitals.packets.render import packet_fhir, packet_json, packet_pdf, packet_zip
from hospitals.services.packets import packet_mark_seen, packet_preview
from hospitals.services.referrals import referral_send

from .conftest import add_document

pytestmark = pytest.mark.django_db


def test_a_sent_packet_holds_the_minimum_patient_data_and_the_chosen_documents(packet_world):
    w = packet_world
    packet = referral_send(referral=w.referral, actor=w.alice)
    snap = packet.snapshot
    assert snap["patient"]["given_name"] == "Misha"
    flat = json.dumps(snap)
    assert "olga" not in flat.lower() and "+7701" not in flat and "@example.org" not in flat
    ids = packet.document_ids
    assert set(ids) == {w.cd19.pk, w.pathology.pk, w.pathology_en.pk}
    assert w.private.pk not in ids
    pathology = next(d for d in snap["documents"] if d["id"] == w.pathology.pk)
    assert pathology["translations"][0]["id"] == w.pathology_en.pk
    assert pathology["sha256"] == w.pathology.sha256 and pathology["size"] == w.pathology.size
    assert snap["summary"]["cd19_status"] == "positive"
    assert snap["summary"]["ph_status"] == "positive"
    assert snap["summary"]["cns_status"] == "cns1"
    assert snap["clinical"]["transplants"][0]["donor_type"] == "haploidentical"
    assert snap["packet"]["version"] == 1 and snap["packet"]["content_hash"] == packet.content_hash


def test_a_packet_version_cannot_be_changed_by_the_model_or_by_sql(packet_world):
    w = packet_world
    packet = referral_send(referral=w.referral, actor=w.alice)
    packet.snapshot = {"tampered": True}
    with pytest.raises(PacketImmutable):
        packet.save()
    with pytest.raises(PacketImmutable):
        PacketVersion.objects.filter(pk=packet.pk).update(content_hash="x")
    with pytest.raises(Exception, match="immutable"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE hospitals_packetversion SET content_hash = 'x' WHERE id = %s", [packet.pk])
    packet.refresh_from_db()
    assert packet.snapshot["patient"]["given_name"] == "Misha"


def test_changing_the_case_after_sending_never_changes_the_sent_packet_and_sending_again_says_what_changed(
    packet_world,
):
    w = packet_world
    v1 = referral_send(referral=w.referral, actor=w.alice)
    packet_mark_seen(packet=v1, user=w.dr_li)  # the centre saw version 1
    new_doc = add_document(w.case_a, w.alice, "mrd_report", "mrd-report")
    w.patient_a.native_name = "Михаил Иванов"
    w.patient_a.save()
    v1.refresh_from_db()
    assert v1.snapshot["patient"]["native_name"] == "Миша Иванов"
    v2 = referral_send(referral=w.referral, actor=w.alice, reason="")
    assert v2.version == 2 and v2.compared_to == 1
    kinds = {(c["section"], c["change"]) for c in v2.changes}
    assert ("documents", "added") in kinds
    assert any(c["field"] == "native_name" and c["after"] == "Михаил Иванов" for c in v2.changes)
    assert new_doc.pk in v2.document_ids and new_doc.pk not in v1.document_ids


def test_sending_an_unchanged_case_again_is_refused_with_a_clear_message(packet_world):
    from navigator.errors import DomainError

    w = packet_world
    referral_send(referral=w.referral, actor=w.alice)
    with pytest.raises(DomainError, match="Nothing changed since packet version 1"):
        referral_send(referral=w.referral, actor=w.alice)
    assert PacketVersion.objects.filter(referral=w.referral).count() == 1


def test_the_builder_shows_what_the_centres_required_records_still_miss(packet_world):
    w = packet_world
    RequiredRecord.objects.create(hospital=w.pkuph, doc_type="cd19_flow", max_age_days=30)
    RequiredRecord.objects.create(hospital=w.pkuph, doc_type="csf_cns")
    RequiredRecord.objects.create(hospital=w.pkuph, doc_type="diagnosis_pathology", max_age_days=5)
    preview = packet_preview(referral=w.referral)
    for_centre = {(m.doc_types[0], m.state) for m in preview.missing if m.for_centre}
    assert for_centre == {("csf_cns", "missing"), ("diagnosis_pathology", "too_old")}
    cd19 = next(i for i in preview.checklist.items if i.key == "cd19")
    assert cd19.for_centre and cd19.state == "satisfied" and not cd19.needed


def test_the_json_rendering_carries_the_changes_since_the_version_the_centre_saw(packet_world):
    w = packet_world
    v1 = referral_send(referral=w.referral, actor=w.alice)
    data = packet_json(v1)
    assert data["case"]["reference"] == w.case_a.reference and data["changes_since"] is None


def test_the_pdf_summary_reads_back_in_english_and_in_chinese(packet_world):
    w = packet_world
    packet = referral_send(referral=w.referral, actor=w.alice)
    reader = PdfReader(io.BytesIO(packet_pdf(packet)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Case packet" in text and w.case_a.reference in text
    assert "Clinical summary" in text and "Philadelphia" in text
    assert "病例资料包" in text and "临床摘要" in text and "北京大学人民医院" in text
    assert "阳性" in text  # CD19 positive, in Chinese


def test_the_zip_bundle_matches_its_manifest_file_by_file(packet_world):
    import hashlib

    w = packet_world
    packet = referral_send(referral=w.referral, actor=w.alice)
    stream = packet_zip(packet)
    data = b"".join(stream)
    assert len(data) == len(stream)  # Content-Length announced up front is exact
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) | {"manifest.json", "SHA256SUMS"} == set(archive.namelist())
    for path, entry in listed.items():
        content = archive.read(path)
        assert hashlib.sha256(content).hexdigest() == entry["sha256"], path
        assert len(content) == entry["size"]
    sums = archive.read("SHA256SUMS").decode().splitlines()
    assert len(sums) == len(listed)
    docs = [f for f in manifest["files"] if f["kind"] == "document"]
    assert {f["document_id"] for f in docs} == set(packet.document_ids)


def test_the_fhir_bundle_validates_with_the_fhir_models_and_our_own_checks(packet_world):
    from fhir.resources.R4B.bundle import Bundle

    w = packet_world
    packet = referral_send(referral=w.referral, actor=w.alice)
    bundle = packet_fhir(packet)
    Bundle.model_validate(bundle)  # structure and datatypes
    assert bundle_problems(bundle) == []
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types[0] == "Composition"
    for needed in ("Patient", "Condition", "Procedure", "MedicationStatement", "DocumentReference", "Provenance"):
        assert needed in types
    codes = {
        c["code"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        for c in e["resource"]["code"]["coding"]
    }
    assert {"cd19-expression", "mrd", "bcr-abl1"} <= codes
    bcr_abl1 = next(
        e["resource"]
        for e in bundle["entry"]
        if any(c["code"] == "bcr-abl1" for c in e["resource"].get("code", {}).get("coding", []))
    )
    assert {"system": "http://loinc.org", "code": "21821-4"}.items() <= bcr_abl1["code"]["coding"][0].items()
    assert bcr_abl1["valueCodeableConcept"]["coding"][0]["code"] == "10828004"  # SNOMED: positive
    translated = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DocumentReference" and "relatesTo" in e["resource"]
    ]
    assert translated and translated[0]["relatesTo"][0]["code"] == "transforms"
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    assert "telecom" not in patient and "address" not in patient


def test_our_fhir_checks_catch_what_the_models_let_through(packet_world):
    w = packet_world
    bundle = packet_fhir(referral_send(referral=w.referral, actor=w.alice))
    broken = json.loads(json.dumps(bundle))
    broken["entry"].append(broken["entry"].pop(0))  # Composition no longer first
    broken["entry"][0]["resource"]["subject"] = {"reference": "urn:uuid:00000000-0000-0000-0000-000000000000"}
    del broken["timestamp"]
    problems = bundle_problems(broken)
    assert any("first entry" in p for p in problems)
    assert any("not in the Bundle" in p for p in problems)
    assert any("timestamp" in p for p in problems)
    patient = next(e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["gender"] = "mostly"
    assert any("Patient.gender" in p for p in bundle_problems(broken))


def test_the_pdf_summary_embeds_its_fonts_so_chinese_and_cyrillic_show_on_any_reader(packet_world):
    """A font that is only named (STSong-Light) prints as empty boxes where no Asian font
    pack is installed; every glyph the summary uses must travel inside the file."""
    w = packet_world
    packet = referral_send(referral=w.referral, actor=w.alice)
    reader = PdfReader(io.BytesIO(packet_pdf(packet)))
    used = {}
    for page in reader.pages:
        for name, ref in page["/Resources"]["/Font"].items():
            font = ref.get_object()
            used[str(font["/BaseFont"])] = font
    text_fonts = {base: font for base, font in used.items() if base != "/Helvetica"}  # ReportLab's unused default
    assert text_fonts, used
    for base, font in text_fonts.items():
        descriptor = font.get("/FontDescriptor") or font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        descriptor = descriptor.get_object()
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), f"{base} is not embedded"
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Миша Иванов" in text  # the native name, not spaced out as full-width glyphs
    assert "B-cell precursor ALL" in text and "CNS1" in text  # the English page names codes in words


def test_the_translator_is_named_in_every_packet_format(packet_world):
    """Issue 21 item 4: JSON, PDF, ZIP manifest and FHIR all say who translated a translation."""
    from documents.models import Document

    w = packet_world
    Document.objects.filter(pk=w.pathology_en.pk).update(translator="Lingua Bridge Ltd")
    packet = referral_send(referral=w.referral, actor=w.alice)
    translation = packet_json(packet)["documents"]
    entry = next(t for d in translation for t in d["translations"] if t["id"] == w.pathology_en.pk)
    assert entry["translator"] == "Lingua Bridge Ltd"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(packet_pdf(packet))).pages)
    assert "Lingua Bridge Ltd" in text.replace("\n", " ")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(packet_zip(packet))))
    listed = [
        f for f in json.loads(archive.read("manifest.json"))["files"] if f.get("document_id") == w.pathology_en.pk
    ]
    assert listed and listed[0]["translator"] == "Lingua Bridge Ltd"
    bundle = packet_fhir(packet)
    translated = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DocumentReference" and "relatesTo" in e["resource"]
    )
    assert translated["author"] == [{"display": "Lingua Bridge Ltd"}]
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
