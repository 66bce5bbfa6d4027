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
