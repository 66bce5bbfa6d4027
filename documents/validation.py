"""What Navigator accepts as a medical record, decided from the bytes, never from the client.

``inspect_file`` reads a file once in fixed-size chunks (hashing and measuring it, and keeping
only the first bytes to sniff the type), then checks the structure of the types that have one
(PDF, ZIP, DOCX). Every refusal is a ``DomainError`` naming the field and the fix.
"""

from __future__ import annotations

import hashlib
import posixpath
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.template.defaultfilters import filesizeformat

from navigator.errors import DomainError

CHUNK = 1024 * 1024
HEAD = 4096

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
HEIC = "image/heic"
DICOM = "application/dicom"
DICOM_ZIP = "application/zip"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

EXTENSIONS = {
    PDF: ".pdf",
    JPEG: ".jpg",
    PNG: ".png",
    TIFF: ".tif",
    HEIC: ".heic",
    DICOM: ".dcm",
    DICOM_ZIP: ".zip",
    DOCX: ".docx",
}
ALLOWED_DESCRIPTION = "PDF, JPEG, PNG, TIFF, HEIC, DICOM, a ZIP of DICOM files, or a Word (.docx) document"

HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
# Files that archivers add and that carry nothing: tolerated inside a ZIP of DICOM.
ZIP_HARMLESS = {"DICOMDIR", ".DS_Store", "Thumbs.db", "desktop.ini"}


def max_bytes() -> int:
    return settings.DOCUMENT_MAX_BYTES


def zip_max_entries() -> int:
    return getattr(settings, "DOCUMENT_ZIP_MAX_ENTRIES", 20_000)


def zip_max_ratio() -> int:
    return getattr(settings, "DOCUMENT_ZIP_MAX_RATIO", 100)


@dataclass(frozen=True)
class Inspection:
    content_type: str
    size: int
    sha256: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]


def clean_filename(name: str | None) -> str:
    """The uploader's file name, made safe to store and show, or a clear refusal.

    Names with path separators or control characters are refused rather than silently
    rewritten: they are a sign of a broken or hostile client, and the uploader should know.
    """
    if name is None or not name.strip():
        raise DomainError("Give the file a name, e.g. cd19-flow-2025-03.pdf.", field="filename", code="filename_empty")
    name = unicodedata.normalize("NFC", name).strip()
    if "/" in name or "\\" in name:
        raise DomainError(
            "The file name must not contain '/' or '\\'; send the file name only, without folders.",
            field="filename",
            code="filename_path",
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise DomainError(
            "The file name contains control characters; rename the file using letters, digits, spaces, '-' or '_'.",
            field="filename",
            code="filename_control",
        )
    if name in (".", "..") or name.startswith("."):
        raise DomainError("The file name must not start with a dot.", field="filename", code="filename_dot")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:200]
    return name


def check_declared_size(size: int | None) -> None:
    """Refuse early when the client says how big the file will be (tus Upload-Length, Content-Length)."""
    if size is not None and size > max_bytes():
        raise _too_big()
    if size == 0:
        raise _empty()


def _too_big() -> DomainError:
    return DomainError(
        f"The file is larger than the {filesizeformat(max_bytes())} limit; split the study or send it in parts.",
        field="file",
        code="file_too_large",
    )


def _empty() -> DomainError:
    return DomainError("The file is empty (0 bytes); choose the file again.", field="file", code="file_empty")


def sniff(head: bytes) -> str | None:
    """The type of a file from its first bytes, or None. ZIP is refined later (DICOM or DOCX)."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS:
        return HEIC
    if len(head) >= 132 and head[128:132] == b"DICM":
        return DICOM
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    return None


def inspect_file(fileobj: BinaryIO) -> Inspection:
    """Hash, measure and type a file, reading it once in chunks; raise ``DomainError`` if refused.

    ``fileobj`` must be seekable (Django's uploaded files, a temporary file, a storage file).
    """
    limit = max_bytes()
    digest = hashlib.sha256()
    head = b""
    size = 0
    fileobj.seek(0)
    while True:
        chunk = fileobj.read(CHUNK)
        if not chunk:
            break
        if len(head) < HEAD:
            head += chunk[: HEAD - len(head)]
        size += len(chunk)
        if size > limit:
            raise _too_big()
        digest.update(chunk)
    if size == 0:
        raise _empty()

    kind = sniff(head)
    if kind is None:
        raise DomainError(
            f"This kind of file is not accepted. Send {ALLOWED_DESCRIPTION}.", field="file", code="file_type"
        )
    fileobj.seek(0)
    if kind == PDF:
        _check_pdf(fileobj)
    elif kind == "zip":
        kind = _check_zip(fileobj)
    fileobj.seek(0)
    return Inspection(content_type=kind, size=size, sha256=digest.hexdigest())


def _check_pdf(fileobj: BinaryIO) -> None:
    # pypdf reads the cross-reference table and objects on demand by seeking; it does not
    # load the whole file.
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(fileobj, strict=False)
        encrypted = reader.is_encrypted
        if not encrypted:
            pages = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError, RecursionError):
        raise DomainError(
            "The PDF is damaged and cannot be opened; export or scan it again and send the new file.",
            field="file",
            code="pdf_corrupt",
        )
    if encrypted:
        raise DomainError(
            "The PDF is password-protected; remove the password (or print it to a new PDF) and send it again.",
            field="file",
            code="pdf_encrypted",
        )
    if pages == 0:
        raise DomainError("The PDF has no pages; send the complete report.", field="file", code="pdf_corrupt")


def _unsafe_member(name: str) -> bool:
    if name.startswith(("/", "\\")) or "\\" in name or (len(name) > 1 and name[1] == ":"):
        return True
    parts = posixpath.normpath(name).split("/")
    return ".." in name.split("/") or (parts and parts[0] == "..")


def _check_zip(fileobj: BinaryIO) -> str:
    """A ZIP is accepted as a Word document or as an archive of DICOM files, and only if safe."""
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise DomainError(
            "The ZIP archive is damaged and cannot be opened; create it again.", field="file", code="zip_corrupt"
        )
    with archive:
        infos = archive.infolist()
        if len(infos) > zip_max_entries():
            raise DomainError(
                f"The ZIP archive holds {len(infos)} entries, more than the {zip_max_entries()} allowed; "
                "send the study in several archives.",
                field="file",
                code="zip_too_many_entries",
            )
        total_uncompressed = 0
        total_compressed = 0
        for info in infos:
            if _unsafe_member(info.filename):
                raise DomainError(
                    f"The ZIP archive contains an unsafe path ({info.filename[:80]!r}); "
                    "create the archive again from the folder itself.",
                    field="file",
                    code="zip_path_traversal",
                )
            if info.flag_bits & 0x1:
                raise DomainError(
                    "The ZIP archive is password-protected; create it again without a password.",
                    field="file",
                    code="zip_encrypted",
                )
            total_uncompressed += info.file_size
            total_compressed += info.compress_size
            if info.file_size > 1024 * 1024 and info.file_size > zip_max_ratio() * max(info.compress_size, 1):
                raise _zip_bomb()
        if total_uncompressed > 4 * max_bytes() or (
            total_uncompressed > 10 * 1024 * 1024 and total_uncompressed > zip_max_ratio() * max(total_compressed, 1)
        ):
            raise _zip_bomb()

        names = {i.filename for i in infos}
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return DOCX
        files = [i for i in infos if not i.is_dir() and not _harmless(i.filename)]
        if not files:
            raise DomainError("The ZIP archive holds no DICOM files.", field="file", code="zip_not_dicom")
        for info in files:
            try:
                with archive.open(info) as member:
                    head = member.read(132)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
                raise DomainError(
                    f"The ZIP archive is damaged ({info.filename[:80]!r} cannot be read); create it again.",
                    field="file",
                    code="zip_corrupt",
                )
            if len(head) < 132 or head[128:132] != b"DICM":
                raise DomainError(
                    f"A ZIP archive is accepted only when it holds DICOM images; {info.filename[:80]!r} is not one. "
                    "Send other files separately.",
                    field="file",
                    code="zip_not_dicom",
                )
    return DICOM_ZIP


def _harmless(name: str) -> bool:
    return name.startswith("__MACOSX/") or posixpath.basename(name) in ZIP_HARMLESS


def _zip_bomb() -> DomainError:
    return DomainError(
        "The ZIP archive expands far beyond its size (a suspicious compression ratio) and was refused; "
        "send the files uncompressed or contact your coordinator.",
        field="file",
        code="zip_suspicious_ratio",
    )
