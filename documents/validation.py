"""What Navigator accepts as a medical record, decided from the bytes, never from the client.

``inspect_file`` reads a file once in fixed-size chunks (hashing and measuring it, and keeping
only the first bytes to sniff the type), then checks the structure of the types that have one
(PDF, ZIP, DOCX). Every refusal is a ``DomainError`` naming the field and the fix.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
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
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

EXTENSIONS = {
    PDF: ".pdf",
    JPEG: ".jpg",
    PNG: ".png",
    TIFF: ".tif",
    HEIC: ".heic",
    DICOM: ".dcm",
    DICOM_ZIP: ".zip",
    DOCX: ".docx",
    XLSX: ".xlsx",
}
ALLOWED_DESCRIPTION = (
    "PDF, JPEG, PNG, TIFF, HEIC, DICOM, a ZIP of DICOM files, a Word (.docx) document or an Excel (.xlsx) sheet"
)

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
    sha1: str = ""  # FHIR's Attachment.hash is SHA-1 (base64); computed in the same single read

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


# What a file's name or declared type may say before its bytes arrive. A name without an extension
# is allowed (DICOM files from scanners often have none); the bytes are sniffed when complete.
DECLARED_EXTENSIONS = {
    ".pdf", ".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".heic", ".heif", ".dcm", ".dicom", ".zip",
    ".docx", ".xlsx",
}  # fmt: skip
DECLARED_TYPES = {*EXTENSIONS, "image/jpg", "image/pjpeg", "image/tiff", "image/heif", "application/x-zip-compressed"}
DECLARED_ANY = {"", "application/octet-stream"}


def check_declared_type(filename: str, filetype: str | None = None) -> None:
    """Refuse, before any byte is sent, a file whose name or declared type cannot be accepted
    (a 50 MB .txt is turned away at once, not after it arrived). The content is still sniffed."""
    suffix = filename.rpartition(".")[2].lower() if "." in filename.strip(".") else ""
    declared = (filetype or "").split(";")[0].strip().lower()
    if (suffix and f".{suffix}" not in DECLARED_EXTENSIONS) or (
        declared not in DECLARED_ANY and declared not in DECLARED_TYPES
    ):
        raise DomainError(
            f"This kind of file is not accepted. Send {ALLOWED_DESCRIPTION}.", field="file", code="file_type"
        )


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
    digest_sha1 = hashlib.sha1(usedforsecurity=False)
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
        digest_sha1.update(chunk)
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
    return Inspection(content_type=kind, size=size, sha256=digest.hexdigest(), sha1=digest_sha1.hexdigest())


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
    active = _pdf_active_content(reader)
    if active:
        raise DomainError(
            f"The PDF contains active content ({active}), which centres' systems refuse. Open it and print "
            "it to a new PDF (Print, then Save as PDF), or scan the paper report, and send that file.",
            field="file",
            code="pdf_active_content",
        )


# Actions that run something when a PDF is opened or clicked: JavaScript, launching a program,
# importing or submitting data, rendition scripts. Links to web pages (/URI) are harmless.
_PDF_ACTIVE_ACTIONS = {
    "/JavaScript": "JavaScript",
    "/Launch": "an action that launches a program",
    "/ImportData": "an action that imports data",
    "/SubmitForm": "a form that submits data",
    "/Rendition": "a media action",
}
_PDF_WALK_LIMIT = 200_000


def _pdf_active_content(reader) -> str | None:
    """What active content a PDF holds, found by walking its objects from the catalogue
    (documents, pages, annotations, name trees; streams' dictionaries but not their data)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    seen: set[tuple[int, int]] = set()
    stack = [reader.trailer["/Root"]]
    visited = 0
    while stack and visited < _PDF_WALK_LIMIT:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            try:
                node = node.get_object()
            except (ValueError, KeyError, TypeError, AttributeError, IndexError, OSError, RecursionError):
                continue
        visited += 1
        if isinstance(node, DictionaryObject):
            if "/JS" in node or "/JavaScript" in node:
                return "JavaScript"
            action = node.get("/S")
            if action in _PDF_ACTIVE_ACTIONS:
                return _PDF_ACTIVE_ACTIONS[action]
            if "/EmbeddedFile" in node or "/EmbeddedFiles" in node:
                return "an embedded file"
            stack.extend(value for name, value in node.items() if name not in ("/Parent", "/P"))
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return None


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
        if "[Content_Types].xml" in names:
            return _check_ooxml(archive, names)
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


# --- Office Open XML (DOCX, XLSX): only the parts the format allows -------------------------
# An OOXML file is a ZIP whose parts are listed in [Content_Types].xml. Anything that is not a
# part of a plain document (macros, ActiveX, embedded objects, other archives, programs, HTML)
# is refused by name, so a ZIP dressed up as a .docx cannot carry a payload to a centre.
_OOXML_COMMON = (
    r"\[Content_Types\]\.xml",
    r"(?:[^/]+/)*_rels/[^/]*\.rels",
    r"docProps/(?:core|app|custom)\.xml",
    r"docProps/thumbnail\.(?:jpe?g|png|emf|wmf)",
    r"customXml/item\d*\.xml",
    r"customXml/itemProps\d*\.xml",
)
_OOXML_IMAGES = r"(?:png|jpe?g|gif|bmp|tiff?|emf|wmf)"
OOXML_FORMATS = {
    DOCX: (
        "word/document.xml",
        (
            r"word/(?:document|styles|stylesWithEffects|settings|webSettings|fontTable|numbering|footnotes"
            r"|endnotes|comments|commentsExtended|commentsIds|commentsExtensible|people|glossary/document"
            r"|glossary/styles|glossary/settings|glossary/webSettings|glossary/fontTable|glossary/numbering)\.xml",
            r"word/(?:header|footer)\d+\.xml",
            r"word/theme/theme\d+\.xml",
            r"word/media/[^/]+\." + _OOXML_IMAGES,
            r"word/fonts/[^/]+\.odttf",
        ),
    ),
    XLSX: (
        "xl/workbook.xml",
        (
            r"xl/(?:workbook|styles|sharedStrings|calcChain|metadata|persons/person)\.xml",
            r"xl/worksheets/sheet\d+\.xml",
            r"xl/theme/theme\d+\.xml",
            r"xl/(?:comments|threadedComments/threadedComment|tables/table|printerSettings/printerSettings)\d*\.(?:xml|bin)",
            r"xl/drawings/(?:drawing|vmlDrawing)\d+\.(?:xml|vml)",
            r"xl/charts/(?:chart|style|colors)\d+\.xml",
            r"xl/media/[^/]+\." + _OOXML_IMAGES,
        ),
    ),
}
_MACRO_CONTENT_TYPES = (b"macroEnabled", b"vbaProject", b"activeX", b"oleObject", b"vnd.ms-office.vba")


def _check_ooxml(archive: zipfile.ZipFile, names: set[str]) -> str:
    kind = next((kind for kind, (main, _parts) in OOXML_FORMATS.items() if main in names), None)
    if kind is None:
        raise DomainError(
            f"This Office file is not a Word document or an Excel sheet. Send {ALLOWED_DESCRIPTION}.",
            field="file",
            code="file_type",
        )
    allowed = re.compile("|".join(f"(?:{p})" for p in (*_OOXML_COMMON, *OOXML_FORMATS[kind][1])))
    label = "Word document" if kind == DOCX else "Excel sheet"
    for name in sorted(names):
        if name.endswith("/"):
            continue
        if not allowed.fullmatch(name):
            raise DomainError(
                f"The {label} contains a part that a plain document does not have ({name[:80]!r}: macros, "
                "embedded objects, programs or other files). Save it as PDF, or as a new file without "
                "embedded content, and send that.",
                field="file",
                code="ooxml_unexpected_part",
            )
    with archive.open("[Content_Types].xml") as types:
        declared = types.read(1024 * 1024)
    if any(marker in declared for marker in _MACRO_CONTENT_TYPES):
        raise DomainError(
            f"The {label} contains macros or embedded objects. Save it as PDF, or as a new file without "
            "macros, and send that.",
            field="file",
            code="ooxml_active_content",
        )
    return kind
