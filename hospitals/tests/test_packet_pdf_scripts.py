"""The PDF summary sets every name in a font it embeds, with a real glyph for each character:
Latin, Cyrillic, Chinese, Arabic (joined and right-to-left) and Ethiopic; and its Chinese
section names the documents in Chinese. Checked from the PDF itself (pypdf, fontTools)."""

import io
import unicodedata

import pytest
from arabic_reshaper import reshape
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from hospitals.packets.render import packet_pdf
from hospitals.services.referrals import referral_send

pytestmark = pytest.mark.django_db

ARABIC = "أميرة حداد"
AMHARIC = "አበበ ቢቂላ"


def _fonts(reader: PdfReader) -> list:
    fonts = {}
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            fonts[(str(font["/BaseFont"]), id(font))] = font
    return list(fonts.values())


def _to_unicode(font) -> dict[int, str]:
    mapping = {}
    lines = font["/ToUnicode"].get_object().get_data().decode().splitlines()
    inside = False
    for line in lines:
        if line.endswith("beginbfchar"):
            inside = True
        elif line == "endbfchar":
            inside = False
        elif inside:
            code, uni = line.replace("<", "").replace(">", " ").split()[:2]
            if int(uni, 16):
                mapping[int(code, 16)] = chr(int(uni, 16))
    return mapping


def _glyph_problems(pdf: bytes) -> list[str]:
    """Fonts that are only named, and characters drawn with the missing-glyph box."""
    problems = []
    for font in _fonts(PdfReader(io.BytesIO(pdf))):
        name = str(font["/BaseFont"])
        descriptor = font.get("/FontDescriptor")
        if descriptor is None or "/FontFile2" not in descriptor.get_object():
            problems.append(f"{name} is not embedded")
            continue
        embedded = TTFont(io.BytesIO(descriptor.get_object()["/FontFile2"].get_object().get_data()))
        cmap = {}
        for table in embedded["cmap"].tables:
            cmap.update(table.cmap)
        for code, char in _to_unicode(font).items():
            if unicodedata.category(char) == "Cc" or char.isspace():  # a subset's reserved codes
                continue
            if cmap.get(code, ".notdef") == ".notdef":
                problems.append(f"{char!r} (U+{ord(char):04X}) has no glyph in {name}")
    return problems


def _pdf_with_names(w, native_name: str) -> bytes:
    w.patient_a.native_name = native_name
    w.patient_a.save()
    return packet_pdf(referral_send(referral=w.referral, actor=w.alice))


def test_every_font_is_embedded_and_no_character_is_a_missing_glyph(packet_world):
    pdf = _pdf_with_names(packet_world, "Миша Иванов")
    assert _glyph_problems(pdf) == []
    names = [str(f["/BaseFont"]) for f in _fonts(PdfReader(io.BytesIO(pdf)))]
    assert not any("Helvetica" in n or "STSong" in n for n in names), names


def test_an_arabic_name_is_joined_and_set_right_to_left_with_real_glyphs(packet_world):
    pdf = _pdf_with_names(packet_world, ARABIC)
    assert _glyph_problems(pdf) == []
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    # The contextual forms (initial, medial, final), not the isolated letters ReportLab would set;
    # pypdf reads right-to-left runs back into logical order.
    assert reshape(ARABIC) in text
    assert ARABIC not in text


def test_an_amharic_name_is_set_in_an_ethiopic_font(packet_world):
    pdf = _pdf_with_names(packet_world, AMHARIC)
    assert _glyph_problems(pdf) == []
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert AMHARIC in text


def test_the_chinese_section_names_the_documents_in_chinese(packet_world):
    w = packet_world
    pages = [
        p.extract_text()
        for p in PdfReader(io.BytesIO(packet_pdf(referral_send(referral=w.referral, actor=w.alice)))).pages
    ]
    first_zh = next(i for i, t in enumerate(pages) if "病例资料包" in t)
    english, chinese = "\n".join(pages[:first_zh]), "\n".join(pages[first_zh:])
    assert "CD19 flow cytometry" in english and "Diagnosis pathology" in english
    assert "CD19 流式细胞检测" in chinese and "诊断病理" in chinese
    assert "CD19 flow cytometry" not in chinese and "Diagnosis pathology" not in chinese


def test_every_document_type_has_a_chinese_label():
    from documents.models import DocType
    from hospitals.packets.pdf import DOC_TYPES_ZH

    assert set(DocType.values) == set(DOC_TYPES_ZH)


def test_the_pdf_carries_what_a_centre_needs_to_decide_in_both_languages(packet_world):
    """Disease burden (marrow blasts, MRD with method and sensitivity), performance status, organ
    function, infections, and GvHD and immunosuppression after a transplant, on both pages."""
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from eligibility.services import profile_record_fact

    w = packet_world
    today = timezone.localdate()
    record = dict(case=w.case_a, actor=w.alice)
    profile_record_fact(
        kind="marrow",
        date=today - dt.timedelta(days=9),
        blasts_percent=Decimal("38.5"),
        mrd="positive",
        mrd_level=Decimal("0.385"),
        mrd_method="flow_cytometry",
        mrd_sensitivity=Decimal("0.0001"),
        **record,
    )
    profile_record_fact(kind="fitness", scale="lansky", score=80, date=today - dt.timedelta(days=5), **record)
    profile_record_fact(
        kind="organ_function",
        test="lvef",
        value=Decimal("62"),
        unit="%",
        upper_limit_normal=None,
        date=today - dt.timedelta(days=6),
        **record,
    )
    profile_record_fact(
        kind="infections", description="CMV viraemia", status="controlled", date=today - dt.timedelta(days=20), **record
    )
    pages = [
        p.extract_text()
        for p in PdfReader(io.BytesIO(packet_pdf(referral_send(referral=w.referral, actor=w.alice)))).pages
    ]
    first_zh = next(i for i, t in enumerate(pages) if "病例资料包" in t)
    english, chinese = " ".join(pages[:first_zh]).replace("\n", " "), " ".join(pages[first_zh:]).replace("\n", " ")
    assert "blasts 38.5 %" in english and "MRD positive 0.385 (flow cytometry, sensitivity 0.0001)" in english
    assert "Performance status (Lansky)" in english and "80" in english
    assert "LVEF" in english and "62 %" in english
    assert "CMV viraemia: active, controlled" in english
    assert "off immunosuppression, no active GvHD" in english  # the transplant as recorded
    compact = "".join(chinese.split())  # Chinese lines wrap between any two characters
    assert "原始细胞38.5%" in compact and "MRD阳性0.385(流式细胞术,灵敏度0.0001)" in compact
    assert "体能状态(Lansky)80" in compact and "左心室射血分数62%" in compact
    assert "已停用免疫抑制剂,无活动性移植物抗宿主病" in compact
