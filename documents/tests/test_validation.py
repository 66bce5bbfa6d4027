"""Every refusal of validation.inspect_file and clean_filename, each with its own message."""

import io
import zipfile

import pytest

from documents import validation
from navigator.errors import DomainError

from .conftest import dicom_bytes, docx_bytes, image_bytes, pdf_bytes, zip_bytes


def inspect(data: bytes):
    return validation.inspect_file(io.BytesIO(data))


def refusal(data: bytes) -> DomainError:
    with pytest.raises(DomainError) as info:
        inspect(data)
    return info.value


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (pdf_bytes(), validation.PDF),
        (image_bytes("JPEG"), validation.JPEG),
        (image_bytes("PNG"), validation.PNG),
        (image_bytes("TIFF"), validation.TIFF),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 40, validation.HEIC),
        (dicom_bytes(), validation.DICOM),
        (
            zip_bytes({"study/IM0001": dicom_bytes(1), "study/IM0002": dicom_bytes(2), "DICOMDIR": b"x"}),
            validation.DICOM_ZIP,
        ),
        (docx_bytes(), validation.DOCX),
    ],
)
def test_each_accepted_type_is_recognised_from_its_content(data, content_type):
    result = inspect(data)
    assert result.content_type == content_type
    assert result.size == len(data)
    assert len(result.sha256) == 64


def test_an_empty_file_is_refused():
    assert refusal(b"").code == "file_empty"


def test_a_file_over_the_limit_is_refused_while_reading(settings):
    settings.DOCUMENT_MAX_BYTES = 1000
    error = refusal(pdf_bytes() + b"\n" * 2000)
    assert error.code == "file_too_large" and "1000" in error.message


def test_an_executable_is_refused_even_when_named_pdf():
    error = refusal(b"MZ\x90\x00" + b"\x00" * 100)
    assert error.code == "file_type" and "PDF" in error.message


def test_a_corrupt_pdf_is_refused():
    assert refusal(b"%PDF-1.7\n1 0 obj garbage without end").code == "pdf_corrupt"


def test_an_encrypted_pdf_is_refused():
    error = refusal(pdf_bytes(password="secret"))
    assert error.code == "pdf_encrypted" and "password" in error.message


def test_a_zip_with_path_traversal_is_refused():
    assert refusal(zip_bytes({"../../etc/passwd": dicom_bytes()})).code == "zip_path_traversal"
    assert refusal(zip_bytes({"/abs/IM1": dicom_bytes()})).code == "zip_path_traversal"


def test_a_zip_with_too_many_entries_is_refused(settings):
    settings.DOCUMENT_ZIP_MAX_ENTRIES = 5
    data = zip_bytes({f"IM{i}": dicom_bytes(i) for i in range(6)})
    assert refusal(data).code == "zip_too_many_entries"


def test_a_zip_bomb_is_refused_without_expanding_it():
    data = zip_bytes({"IM1": b"\x00" * 128 + b"DICM" + b"\x00" * (20 * 1024 * 1024)})
    assert len(data) < 100_000
    assert refusal(data).code == "zip_suspicious_ratio"


def test_a_zip_of_other_files_is_refused():
    error = refusal(zip_bytes({"report.txt": b"hello", "IM1": dicom_bytes()}))
    assert error.code == "zip_not_dicom" and "report.txt" in error.message


def test_a_damaged_zip_is_refused():
    assert refusal(b"PK\x03\x04" + b"\x00" * 50).code == "zip_corrupt"


def test_an_encrypted_zip_is_refused():
    data = bytearray(zip_bytes({"IM1": dicom_bytes()}, compression=zipfile.ZIP_STORED))
    # Set the "encrypted" flag in the local and central headers.
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + flag_offset] |= 1
    assert refusal(bytes(data)).code == "zip_encrypted"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("../report.pdf", "filename_path"),
        ("C:\\scans\\report.pdf", "filename_path"),
        ("report\x00.pdf", "filename_control"),
        ("report\n.pdf", "filename_control"),
        ("evil\u202egpj.pdf", "filename_control"),
        ("   ", "filename_empty"),
        (".htaccess", "filename_dot"),
    ],
)
def test_bad_file_names_are_refused(name, code):
    with pytest.raises(DomainError) as info:
        validation.clean_filename(name)
    assert info.value.code == code and info.value.field == "filename"


def test_a_name_in_another_script_is_kept():
    assert validation.clean_filename(" Анализ CD19 陈.pdf ") == "Анализ CD19 陈.pdf"


# --- Office files are checked part by part; PDFs with active content are refused ------------


def _ooxml(main: str, **extra: bytes) -> bytes:
    return zip_bytes(
        {
            "[Content_Types].xml": b"<?xml version='1.0'?><Types/>",
            "_rels/.rels": b"<Relationships/>",
            main: b"<?xml version='1.0'?><doc/>",
            **extra,
        }
    )


def test_a_plain_docx_with_images_and_headers_is_accepted():
    data = _ooxml(
        "word/document.xml",
        **{
            "word/_rels/document.xml.rels": b"<Relationships/>",
            "word/styles.xml": b"<styles/>",
            "word/header1.xml": b"<hdr/>",
            "word/media/image1.png": image_bytes(),
            "docProps/core.xml": b"<core/>",
        },
    )
    assert validation.inspect_file(io.BytesIO(data)).content_type == validation.DOCX


def test_a_plain_xlsx_is_accepted_as_a_spreadsheet():
    data = _ooxml("xl/workbook.xml", **{"xl/worksheets/sheet1.xml": b"<sheet/>", "xl/styles.xml": b"<s/>"})
    assert validation.inspect_file(io.BytesIO(data)).content_type == validation.XLSX


@pytest.mark.parametrize(
    "member",
    [
        "payload/run.exe",
        "evil.html",
        "inner.zip",
        "word/vbaProject.bin",
        "word/embeddings/oleObject1.bin",
        "word/activeX/activeX1.xml",
        "word/media/image1.svg",
        "xl/worksheets/sheet1.xml",
    ],
)
def test_a_zip_dressed_as_a_docx_is_checked_member_by_member(member):
    data = _ooxml("word/document.xml", **{member: b"MZ\x90\x00 anything"})
    with pytest.raises(DomainError) as refused:
        validation.inspect_file(io.BytesIO(data))
    assert refused.value.code == "ooxml_unexpected_part"
    assert member in refused.value.message


def test_a_macro_enabled_content_type_is_refused():
    data = zip_bytes(
        {
            "[Content_Types].xml": b"<Types><Override ContentType='application/vnd.ms-word.document.macroEnabled.main+xml'/></Types>",
            "word/document.xml": b"<doc/>",
        }
    )
    with pytest.raises(DomainError) as refused:
        validation.inspect_file(io.BytesIO(data))
    assert refused.value.code == "ooxml_active_content"


def test_an_office_file_that_is_neither_word_nor_excel_is_refused():
    data = _ooxml("ppt/presentation.xml")
    with pytest.raises(DomainError) as refused:
        validation.inspect_file(io.BytesIO(data))
    assert refused.value.code == "file_type"


def _pdf_with(javascript_on_open: bool = False, launch_link: bool = False, named_js: bool = False) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if javascript_on_open:
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
        )
    if named_js:
        script = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(2);")}
        )
        tree = DictionaryObject(
            {NameObject("/Names"): ArrayObject([TextStringObject("a"), writer._add_object(script)])}
        )
        writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})
    if launch_link:
        annotation = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): ArrayObject([]),
                NameObject("/A"): DictionaryObject(
                    {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")}
                ),
            }
        )
        writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "kind,expected",
    [("javascript_on_open", "JavaScript"), ("named_js", "JavaScript"), ("launch_link", "launches a program")],
)
def test_a_pdf_with_active_content_is_refused_saying_what_it_holds(kind, expected):
    with pytest.raises(DomainError) as refused:
        validation.inspect_file(io.BytesIO(_pdf_with(**{kind: True})))
    assert refused.value.code == "pdf_active_content"
    assert expected in refused.value.message


def test_a_pdf_with_an_ordinary_web_link_is_accepted():
    assert validation.inspect_file(io.BytesIO(pdf_bytes(pages=3))).content_type == validation.PDF
