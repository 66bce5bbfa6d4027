"""The packet's PDF summary, in English and in Chinese, one after the other.

ReportLab needs a TrueType-outline CJK font to embed; Noto Sans CJK (fonts-noto-cjk) ships
PostScript (CFF) outlines that ReportLab cannot embed, so a configured or known TrueType
CJK font is tried (the image installs fonts-wqy-microhei, which also covers Latin and
Cyrillic names). ReportLab's built-in STSong-Light CID font is only the last resort: it is
not embedded, so a reader without an Asian font pack sees empty boxes, and its Cyrillic
is spaced as full-width; a warning is logged when it is used.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
from functools import lru_cache
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import TimeStamp
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .diff import describe

log = logging.getLogger(__name__)

CJK_FONT_CANDIDATES = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
]


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """Register and name the font used for every line of the summary."""
    configured = getattr(settings, "PACKET_PDF_CJK_FONT", None)
    for path in ([configured] if configured else []) + CJK_FONT_CANDIDATES:
        try:
            pdfmetrics.registerFont(TTFont("PacketCJK", path, subfontIndex=0))
            return "PacketCJK"
        except Exception as exc:  # noqa: BLE001 - missing file or PostScript outlines: try the next
            log.info("CJK font %s not usable for PDF summaries: %s", path, exc)
    log.warning("No embeddable CJK font found; PDF summaries fall back to the non-embedded STSong-Light.")
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


LABELS = {
    "en": {
        "title": "Case packet",
        "version": "Version",
        "assembled": "Assembled",
        "centre": "Centre",
        "patient": "Patient",
        "name": "Name",
        "native": "Name (own script)",
        "dob": "Date of birth",
        "age": "Age",
        "sex": "Sex",
        "country": "Country of residence",
        "summary": "Clinical summary",
        "lineage": "Lineage",
        "cd19": "CD19",
        "cns": "CNS status",
        "ph": "Philadelphia (BCR::ABL1)",
        "tki": "Current TKI",
        "mrd": "Latest MRD",
        "lines": "Prior therapy lines",
        "transplants": "Prior transplants",
        "therapy": "Treatment history",
        "transplant_history": "Transplant history",
        "eligibility": "Eligibility pre-screen",
        "verdict": "Verdict",
        "ruleset": "Rule set",
        "documents": "Documents",
        "translator": "translated by",
        "changes": "Changes since version",
        "none": "none recorded",
        "note": "Cover note",
        "disclaimer": "Pre-screen only, not medical advice: the treating haematologist at the centre decides.",
    },
    "zh": {
        "title": "病例资料包",
        "version": "版本",
        "assembled": "生成时间",
        "centre": "医院",
        "patient": "患者",
        "name": "姓名",
        "native": "姓名（原文）",
        "dob": "出生日期",
        "age": "年龄",
        "sex": "性别",
        "country": "居住国家",
        "summary": "临床摘要",
        "lineage": "细胞系",
        "cd19": "CD19",
        "cns": "中枢神经系统状态",
        "ph": "费城染色体（BCR::ABL1）",
        "tki": "当前酪氨酸激酶抑制剂",
        "mrd": "最近一次微小残留病",
        "lines": "既往治疗线数",
        "transplants": "既往移植次数",
        "therapy": "治疗史",
        "transplant_history": "移植史",
        "eligibility": "入组资格预筛",
        "verdict": "结论",
        "ruleset": "规则版本",
        "documents": "文件",
        "translator": "译者",
        "changes": "相对于以下版本的变更",
        "none": "无记录",
        "note": "附言",
        "disclaimer": "仅为预筛，不构成医疗建议：由接诊医院的血液科医生决定。",
    },
}

VALUES_ZH = {
    "positive": "阳性",
    "negative": "阴性",
    "dim": "弱阳性",
    "unknown": "未知",
    "female": "女",
    "male": "男",
    "other": "其他",
    "b_all": "B 细胞急性淋巴细胞白血病",
    "cns1": "CNS1",
    "cns2": "CNS2",
    "cns3": "CNS3",
    "likely_eligible": "可能符合条件",
    "needs_specialist_review": "需专科评估",
    "not_eligible": "不符合条件",
    "incomplete": "资料不全",
}


# Stored codes a centre should not have to decode in the English summary.
VALUES_EN = {
    "b_all": "B-cell precursor ALL",
    "t_all": "T-cell ALL",
    "cns1": "CNS1",
    "cns2": "CNS2",
    "cns3": "CNS3",
}


def _v(value, lang: str) -> str:
    if value is None or value == "":
        return "—"
    text = str(value)
    return VALUES_ZH.get(text, text) if lang == "zh" else VALUES_EN.get(text, text.replace("_", " "))


def _human_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def _section(snapshot: dict, lang: str, styles: dict) -> list:
    L = LABELS[lang]
    p = snapshot["patient"]
    s = snapshot.get("summary", {})
    meta = snapshot.get("packet", {})
    centre = snapshot["centre"]
    out = [
        Paragraph(
            escape(f"{L['title']} {snapshot['case']['reference']} · {L['version']} {meta.get('version', '')}"),
            styles["h1"],
        ),
        Paragraph(
            escape(f"{L['centre']}: {centre['name_zh'] if lang == 'zh' and centre['name_zh'] else centre['name_en']}"),
            styles["body"],
        ),
        Paragraph(
            escape(f"{L['assembled']}: {meta.get('assembled_at', '')[:16].replace('T', ' ')} UTC"), styles["small"]
        ),
        Paragraph(escape(L["disclaimer"]), styles["small"]),
        Spacer(1, 4 * mm),
        Paragraph(escape(L["patient"]), styles["h2"]),
    ]
    rows = [
        (L["name"], f"{p['given_name']} {p['family_name']}"),
        (L["native"], p.get("native_name") or "—"),
        (L["dob"], p["date_of_birth"]),
        (L["age"], p.get("age_years")),
        (L["sex"], _v(p["sex"], lang)),
        (L["country"], p.get("country_of_residence")),
    ]
    out.append(_table(rows, styles))
    out.append(Paragraph(escape(L["summary"]), styles["h2"]))
    mrd = s.get("latest_mrd") or {}
    mrd_text = (
        " ".join(
            _v(mrd[k], lang) if k == "result" else str(mrd[k])
            for k in ("result", "value", "unit", "date")
            if mrd.get(k)
        )
        or "—"
    )
    rows = [
        (L["lineage"], _v(s.get("lineage"), lang)),
        (L["cd19"], f"{_v(s.get('cd19_status'), lang)} {s.get('cd19_date') or ''}".strip()),
        (L["cns"], _v(s.get("cns_status"), lang)),
        (L["ph"], _v(s.get("ph_status"), lang)),
        (L["tki"], s.get("current_tki") or "—"),
        (L["mrd"], mrd_text),
        (L["lines"], s.get("prior_lines") if s.get("prior_lines") is not None else "—"),
        (L["transplants"], s.get("prior_transplants", 0)),
    ]
    out.append(_table(rows, styles))
    clinical = snapshot.get("clinical") or {}
    lines = clinical.get("therapy_lines") or []
    out.append(Paragraph(escape(L["therapy"]), styles["h2"]))
    if lines:
        out.append(
            _table(
                [
                    (
                        f"{i + 1}. {t.get('regimen', '')}",
                        f"{t.get('start') or ''} – {t.get('end') or ''} {t.get('best_response') or ''}",
                    )
                    for i, t in enumerate(lines)
                ],
                styles,
            )
        )
    else:
        out.append(Paragraph(escape(L["none"]), styles["body"]))
    transplants = clinical.get("transplants") or []
    out.append(Paragraph(escape(L["transplant_history"]), styles["h2"]))
    if transplants:
        out.append(_table([(t.get("date", ""), _v(t.get("donor_type"), lang)) for t in transplants], styles))
    else:
        out.append(Paragraph(escape(L["none"]), styles["body"]))
    elig = snapshot.get("eligibility")
    out.append(Paragraph(escape(L["eligibility"]), styles["h2"]))
    if elig:
        out.append(
            _table(
                [(L["verdict"], _v(elig.get("verdict"), lang)), (L["ruleset"], elig.get("ruleset_version", "—"))],
                styles,
            )
        )
    else:
        out.append(Paragraph(escape(L["none"]), styles["body"]))
    if snapshot.get("cover_note"):
        out.append(Paragraph(escape(L["note"]), styles["h2"]))
        out.append(Paragraph(escape(snapshot["cover_note"]), styles["body"]))
    out.append(Paragraph(escape(L["documents"]), styles["h2"]))
    docs = []
    for d in snapshot.get("documents", []):
        docs.append(
            (
                f"{d['doc_type_label']} · {d['original_name']}",
                f"{d.get('clinical_date') or ''} {_human_size(d['size'])} sha256 {d['sha256'][:16]}…",
            )
        )
        for t in d.get("translations", []):
            docs.append(
                (
                    f"   ↳ {t.get('language') or ''} {t['original_name']} · {L['translator']}: {t.get('translator') or '—'}",
                    f"{_human_size(t['size'])} sha256 {t['sha256'][:16]}…",
                )
            )
    out.append(_table(docs, styles) if docs else Paragraph(escape(L["none"]), styles["body"]))
    return out


def _table(rows, styles) -> Table:
    data = [[Paragraph(escape(str(a)), styles["label"]), Paragraph(escape(str(b)), styles["body"])] for a, b in rows]
    table = Table(data, colWidths=[60 * mm, 110 * mm])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _version_timestamp(assembled_at: str | None) -> TimeStamp:
    """ReportLab's document time (CreationDate and ModDate), set to the version's assembly time in UTC."""
    when = dt.datetime.fromisoformat(assembled_at) if assembled_at else dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    stamp = TimeStamp(invariant=True)  # UTC, no clock read
    stamp.t = when.timestamp()
    stamp.lt = time.gmtime(int(stamp.t))
    stamp.YMDhms = tuple(stamp.lt)[:6]
    stamp.dhh = stamp.dmm = 0
    return stamp


def _stable_canvas(snapshot: dict):
    """A canvas maker for one packet version: ReportLab's invariant mode (no clock, no
    per-run comments) with the version's own time, and a document ID derived from the
    packet (its content hash and version) instead of the time of rendering."""
    meta = snapshot.get("packet", {})
    seed = f"{meta.get('content_hash', '')}:{meta.get('version', '')}"

    def make(*args, **kwargs) -> Canvas:
        canvas = Canvas(*args, **kwargs)
        canvas._doc._timeStamp = _version_timestamp(meta.get("assembled_at"))
        canvas._doc.updateSignature(seed)
        return canvas

    return make


def render_pdf(packet_snapshot: dict, *, changes: list[dict] | None = None, compared_to: int | None = None) -> bytes:
    """The PDF bytes (a few pages: held in memory), identical on every call for one version."""
    font = cjk_font()
    styles = {
        "h1": ParagraphStyle("h1", fontName=font, fontSize=15, leading=19, spaceAfter=4),
        "h2": ParagraphStyle("h2", fontName=font, fontSize=11.5, leading=15, spaceBefore=6, spaceAfter=2),
        "body": ParagraphStyle("body", fontName=font, fontSize=9.5, leading=12.5, wordWrap="CJK"),
        "label": ParagraphStyle(
            "label", fontName=font, fontSize=9.5, leading=12.5, textColor=colors.HexColor("#444444")
        ),
        "small": ParagraphStyle("small", fontName=font, fontSize=8, leading=10, textColor=colors.HexColor("#555555")),
    }
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"Case packet {packet_snapshot['case']['reference']}",
        author="Navigator",
        invariant=1,
        initialFontName=font,
    )
    story = _section(packet_snapshot, "en", styles)
    if changes:
        story.append(Paragraph(escape(f"{LABELS['en']['changes']} {compared_to}"), styles["h2"]))
        story.extend(Paragraph(escape(describe(c)), styles["body"]) for c in changes)
    story.append(PageBreak())
    story.extend(_section(packet_snapshot, "zh", styles))
    if changes:
        story.append(Paragraph(escape(f"{LABELS['zh']['changes']} {compared_to}"), styles["h2"]))
        story.extend(Paragraph(escape(describe(c)), styles["body"]) for c in changes)
    doc.build(story, canvasmaker=_stable_canvas(packet_snapshot))
    return buffer.getvalue()
