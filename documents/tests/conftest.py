import base64
import io
import zipfile

import pytest
from PIL import Image
from pypdf import PdfWriter


@pytest.fixture(autouse=True)
def _upload_dir(settings, tmp_path):
    settings.DOCUMENT_UPLOAD_DIR = str(tmp_path / "uploads")


def pdf_bytes(pages: int = 1, password: str | None = None, text: str = "") -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Title": text or "report"})
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_bytes(fmt: str = "PNG", seed: int = 0) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (seed % 256, 10, 20)).save(out, format=fmt)
    return out.getvalue()


def dicom_bytes(seed: int = 0) -> bytes:
    return b"\x00" * 128 + b"DICM" + bytes([seed % 256]) * 64


def zip_bytes(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def docx_bytes() -> bytes:
    return zip_bytes(
        {
            "[Content_Types].xml": b"<?xml version='1.0'?><Types/>",
            "word/document.xml": b"<?xml version='1.0'?><w:document/>",
        }
    )


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()
