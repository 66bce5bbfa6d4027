"""The packet's PDF summary, in English and in Chinese, one after the other.

Every glyph travels inside the file: no text is set in a font that is only named (the
standard Helvetica, or ReportLab's CID STSong-Light, which print as empty boxes on a reader
without the font). Text is set run by run in the first font that has its characters:

- Latin, Cyrillic, Greek and Arabic in DejaVu Sans (fonts-dejavu-core);
- Chinese in a TrueType-outline CJK font (fonts-wqy-microhei; Noto Sans CJK ships
  PostScript outlines that ReportLab cannot embed);
- Ethiopic (Amharic, Tigrinya names) in Abyssinica SIL (fonts-sil-abyssinica).

ReportLab neither shapes nor reorders right-to-left text, so Arabic is joined into its
contextual forms (arabic-reshaper) and put in visual order (python-bidi, the Unicode
bidirectional algorithm) before it is set. A role without a usable font logs an error and
its characters fall back to the base font; the tests hold the summary to full coverage.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape

from arabic_reshaper import reshape
from bidi import get_display
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import TimeStamp
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .diff import describe
from .snapshot import body_summary, serology_summary

log = logging.getLogger(__name__)

# Role -> candidate TrueType files, first usable wins. The base font comes first: it sets
# every character it has.
FONT_CANDIDATES = {
    "base": [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    ],
    "cjk": [
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        "/usr/share/fonts/truetype/arphic/uming.ttc",
    ],
    "ethiopic": [
        "/usr/share/fonts/truetype/abyssinica/AbyssinicaSIL-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansEthiopic-Regular.ttf",
    ],
}
FONT_NAMES = {"base": "PacketSans", "cjk": "PacketCJK", "ethiopic": "PacketEthiopic"}


@dataclass(frozen=True)
class FontSet:
    """The registered fonts in order of preference, each with the characters it has."""

    fonts: tuple[tuple[str, frozenset[int]], ...]

    @property
    def base(self) -> str:
        return self.fonts[0][0]

    def font_for(self, char: str) -> str:
        code = ord(char)
        for name, covered in self.fonts:
            if code in covered:
                return name
        return self.base


@lru_cache(maxsize=1)
def fonts() -> FontSet:
    registered = []
    for role, candidates in FONT_CANDIDATES.items():
        for path in candidates:
            try:
                font = TTFont(FONT_NAMES[role], path, subfontIndex=0)
            except (OSError, TTFError) as exc:  # missing file or PostScript outlines: try the next
                log.info("Font %s not usable for PDF summaries (%s): %s", path, role, exc)
                continue
            pdfmetrics.registerFont(font)
            registered.append((FONT_NAMES[role], frozenset(font.face.charToGlyph)))
            break
        else:
            log.error("No embeddable %s font for PDF summaries; those characters will be missing.", role)
    if not registered:
        raise RuntimeError("No TrueType font found for PDF summaries: install fonts-dejavu-core.")
    return FontSet(tuple(registered))


def cjk_font() -> str:
    """The one registered font that covers Chinese, Latin and Cyrillic, for documents that set
    all their text in one font (the follow-up handback); the summary itself sets runs (``_text``)."""
    font_set = fonts()
    return next((name for name, _ in font_set.fonts if name == FONT_NAMES["cjk"]), font_set.base)


def _is_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


def _text(value) -> str:
    """Paragraph markup for a plain value: shaped and ordered if right-to-left, escaped, and
    split into runs each set in a font that has its characters."""
    text = str(value)
    if _is_rtl(text):
        text = get_display(reshape(text))
    font_set = fonts()
    runs: list[tuple[str, str]] = []
    for char in text:
        name = font_set.base if char.isspace() else font_set.font_for(char)
        if runs and runs[-1][0] == name:
            runs[-1] = (name, runs[-1][1] + char)
        else:
            runs.append((name, char))
    return "".join(
        escape(chunk) if name == font_set.base else f'<font name="{name}">{escape(chunk)}</font>'
        for name, chunk in runs
    )


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
        "decision": "Disease burden and fitness",
        "marrow": "Bone marrow",
        "blasts": "blasts",
        "performance": "Performance status",
        "organ": "Organ function",
        "infections": "Infections",
        "gvhd": "GvHD / immunosuppression",
        "body": "Weight and height",
        "weight": "weight",
        "height": "height",
        "bsa": "body surface area (Mosteller)",
        "bmi": "BMI",
        "serology": "Infection screening",
        "viral_load": "viral load",
        "lymphocytes": "Lymphocytes before apheresis",
        "alc": "absolute lymphocytes",
        "cd3": "CD3+ cells",
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
        "decision": "疾病负荷与体能",
        "marrow": "骨髓",
        "blasts": "原始细胞",
        "performance": "体能状态",
        "organ": "脏器功能",
        "infections": "感染",
        "gvhd": "移植物抗宿主病 / 免疫抑制",
        "body": "身高体重",
        "weight": "体重",
        "height": "身高",
        "bsa": "体表面积（Mosteller 公式）",
        "bmi": "体重指数",
        "serology": "感染筛查",
        "viral_load": "病毒载量",
        "lymphocytes": "采集前淋巴细胞",
        "alc": "淋巴细胞绝对计数",
        "cd3": "CD3+ 细胞",
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

# Document types as a Chinese centre names them (documents.models.DocType; a test fails on a
# type without one).
DOC_TYPES_ZH = {
    "diagnosis_pathology": "诊断病理 / 免疫分型",
    "cd19_flow": "CD19 流式细胞检测",
    "bone_marrow": "骨髓穿刺报告",
    "mrd_report": "微小残留病（MRD）报告",
    "cytogenetics": "细胞遗传学 / 分子检测（BCR::ABL1 等）",
    "treatment_history": "治疗史",
    "transplant_record": "移植记录",
    "csf_cns": "脑脊液 / 中枢神经系统状态",
    "blood_counts": "血常规及生化",
    "infection_serology": "感染血清学",
    "imaging_report": "影像学报告",
    "imaging_study": "影像资料（DICOM）",
    "discharge_summary": "出院小结",
    "passport_id": "护照 / 身份证件",
    "consent": "知情同意书",
    "other": "其他",
}

ORGAN_TESTS = {
    "en": {
        "creatinine_clearance": "Creatinine clearance",
        "egfr": "eGFR",
        "lvef": "LVEF",
        "bilirubin": "Total bilirubin",
        "alt": "ALT",
        "ast": "AST",
        "spo2": "SpO2 on room air",
    },
    "zh": {
        "creatinine_clearance": "肌酐清除率",
        "egfr": "估算肾小球滤过率",
        "lvef": "左心室射血分数",
        "bilirubin": "总胆红素",
        "alt": "丙氨酸氨基转移酶",
        "ast": "天门冬氨酸氨基转移酶",
        "spo2": "静息血氧饱和度",
    },
}
SEROLOGY_TESTS = {
    "en": {
        "hbsag": "HBsAg",
        "anti_hbc": "Anti-HBc",
        "hbv_dna": "HBV DNA",
        "anti_hcv": "Anti-HCV",
        "hcv_rna": "HCV RNA",
        "hiv_ag_ab": "HIV-1/2 Ag/Ab",
        "cmv_igg": "CMV IgG",
        "ebv_vca_igg": "EBV VCA IgG",
        "ebv_dna": "EBV DNA",
        "syphilis_treponemal": "Syphilis (TPHA/TPPA)",
        "syphilis_rpr": "Syphilis (RPR/VDRL)",
        "htlv": "HTLV-1/2 Ab",
    },
    "zh": {
        "hbsag": "乙肝表面抗原（HBsAg）",
        "anti_hbc": "乙肝核心抗体（抗-HBc）",
        "hbv_dna": "乙肝病毒 DNA",
        "anti_hcv": "丙肝抗体（抗-HCV）",
        "hcv_rna": "丙肝病毒 RNA",
        "hiv_ag_ab": "HIV-1/2 抗原抗体",
        "cmv_igg": "巨细胞病毒 IgG",
        "ebv_vca_igg": "EB 病毒衣壳抗原 IgG",
        "ebv_dna": "EB 病毒 DNA",
        "syphilis_treponemal": "梅毒螺旋体抗体（TPHA/TPPA）",
        "syphilis_rpr": "梅毒非特异性抗体（RPR/VDRL）",
        "htlv": "HTLV-1/2 抗体",
    },
}
# UCUM units as a reader writes them.
UNIT_TEXT = {"[iU]/mL": "IU/mL", "{copies}/mL": "copies/mL"}
FACT_WORDS = {
    "en": {
        "on": "on immunosuppression",
        "off": "off immunosuppression",
        "gvhd": "active GvHD",
        "no_gvhd": "no active GvHD",
        "uncontrolled": "active, uncontrolled",
        "controlled": "active, controlled",
        "resolved": "resolved",
        "sensitivity": "sensitivity",
        "indeterminate": "indeterminate",
    },
    "zh": {
        "on": "正在使用免疫抑制剂",
        "off": "已停用免疫抑制剂",
        "gvhd": "活动性移植物抗宿主病",
        "no_gvhd": "无活动性移植物抗宿主病",
        "uncontrolled": "活动性，未控制",
        "controlled": "活动性，已控制",
        "resolved": "已痊愈",
        "sensitivity": "灵敏度",
        "indeterminate": "不确定",
    },
}


def _latest_by(items: list[dict], key: str) -> dict[str, dict]:
    """The most recent item for each value of ``key`` (items carry ISO dates)."""
    latest: dict[str, dict] = {}
    for item in items:
        k = str(item.get(key))
        if k not in latest or str(item.get("date") or "") > str(latest[k].get("date") or ""):
            latest[k] = item
    return latest


def _number(value) -> str:
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return str(value)


def decision_rows(clinical: dict, lang: str) -> list[tuple[str, str]]:
    """What a centre needs to decide, beyond the summary: the latest marrow (blasts, MRD with
    method and sensitivity), performance status, organ function, infections, and GvHD and
    immunosuppression after each transplant."""
    L, W = LABELS[lang], FACT_WORDS[lang]
    rows: list[tuple[str, str]] = []
    marrow = sorted(clinical.get("marrow") or [], key=lambda m: str(m.get("date") or ""))
    if marrow:
        m = marrow[-1]
        parts = []
        if m.get("blasts_percent") is not None:
            parts.append(f"{L['blasts']} {_number(m['blasts_percent'])} %")
        if m.get("mrd") in ("negative", "positive"):
            mrd = f"MRD {_v(m['mrd'], lang)}"
            if m.get("mrd_level") not in (None, ""):
                mrd += f" {_number(m['mrd_level'])}"
            if m.get("mrd_method"):
                mrd += f" ({_v(m['mrd_method'], lang)}"
                mrd += f", {W['sensitivity']} {_number(m['mrd_sensitivity'])})" if m.get("mrd_sensitivity") else ")"
            parts.append(mrd)
        rows.append((L["marrow"], f"{m.get('date')}: " + ("; ".join(parts) or "—")))
    for scale, f in sorted(_latest_by(clinical.get("fitness") or [], "scale").items()):
        rows.append(
            (
                f"{L['performance']} ({scale.upper() if scale == 'ecog' else scale.title()})",
                f"{f['score']} ({f['date']})",
            )
        )
    organ = _latest_by(clinical.get("organ_function") or [], "test")
    for test in ORGAN_TESTS["en"]:
        if test in organ:
            o = organ[test]
            uln = f" (ULN {_number(o['upper_limit_normal'])})" if o.get("upper_limit_normal") not in (None, "") else ""
            rows.append(
                (
                    f"{L['organ']}: {ORGAN_TESTS[lang][test]}",
                    f"{_number(o['value'])} {o.get('unit', '')}{uln}, {o['date']}",
                )
            )
    for inf in clinical.get("infections") or []:
        rows.append(
            (
                L["infections"],
                f"{inf.get('description')}: {W.get(inf.get('status'), inf.get('status'))} ({inf.get('date')})",
            )
        )
    rows.extend(screening_rows(clinical, lang))
    for t in clinical.get("transplants") or []:
        bits = []
        if t.get("on_immunosuppression") is not None:
            bits.append(W["on"] if t["on_immunosuppression"] else W["off"])
        if t.get("active_gvhd") is not None:
            bits.append(W["gvhd"] if t["active_gvhd"] else W["no_gvhd"])
        if bits:
            rows.append((f"{L['gvhd']} ({t.get('date')})", ", ".join(bits)))
    return rows


def screening_rows(clinical: dict, lang: str) -> list[tuple[str, str]]:
    """Weight and height with body surface area and BMI (from the packet's summary formulas),
    the latest result of each infection screening test, and the latest lymphocyte count."""
    L, W = LABELS[lang], FACT_WORDS[lang]
    rows: list[tuple[str, str]] = []
    body = body_summary(clinical.get("body_measurements") or [])
    if body:
        parts = []
        if body["weight_kg"] is not None:
            parts.append(f"{L['weight']} {_number(body['weight_kg'])} kg ({body['weight_date']})")
        if body["height_cm"] is not None:
            parts.append(f"{L['height']} {_number(body['height_cm'])} cm ({body['height_date']})")
        if body["bsa_m2"] is not None:
            parts.append(f"{L['bsa']} {_number(body['bsa_m2'])} m², {L['bmi']} {_number(body['bmi'])} kg/m²")
        rows.append((L["body"], "; ".join(parts)))
    for test, r in serology_summary(clinical.get("serology") or []).items():
        result = W["indeterminate"] if r["result"] == "indeterminate" else _v(r["result"], lang)
        if r.get("viral_load") is not None:
            unit = UNIT_TEXT.get(r.get("viral_load_unit") or "", r.get("viral_load_unit") or "")
            result += f", {L['viral_load']} {_number(r['viral_load'])} {unit}"
        rows.append((f"{L['serology']}: {SEROLOGY_TESTS[lang].get(test, test)}", f"{result} ({r['date']})"))
    counts = sorted(clinical.get("lymphocyte_counts") or [], key=lambda c: str(c.get("date") or ""))
    if counts:
        c = counts[-1]
        parts = []
        if c.get("absolute_lymphocytes") is not None:
            parts.append(f"{L['alc']} {_number(c['absolute_lymphocytes'])} ×10⁹/L")
        if c.get("cd3_per_ul") is not None:
            parts.append(f"{L['cd3']} {c['cd3_per_ul']}/µL")
        rows.append((L["lymphocytes"], f"{'; '.join(parts)} ({c.get('date')})"))
    return rows


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
    "flow_cytometry": "流式细胞术",
    "pcr": "PCR",
    "ngs": "二代测序",
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
            _text(f"{L['title']} {snapshot['case']['reference']} · {L['version']} {meta.get('version', '')}"),
            styles["h1"],
        ),
        Paragraph(
            _text(f"{L['centre']}: {centre['name_zh'] if lang == 'zh' and centre['name_zh'] else centre['name_en']}"),
            styles["body"],
        ),
        Paragraph(
            _text(f"{L['assembled']}: {meta.get('assembled_at', '')[:16].replace('T', ' ')} UTC"), styles["small"]
        ),
        Paragraph(_text(L["disclaimer"]), styles["small"]),
        Spacer(1, 4 * mm),
        Paragraph(_text(L["patient"]), styles["h2"]),
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
    out.append(Paragraph(_text(L["summary"]), styles["h2"]))
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
    facts = decision_rows(clinical, lang)
    if facts:
        out.append(Paragraph(_text(L["decision"]), styles["h2"]))
        out.append(_table(facts, styles))
    lines = clinical.get("therapy_lines") or []
    out.append(Paragraph(_text(L["therapy"]), styles["h2"]))
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
        out.append(Paragraph(_text(L["none"]), styles["body"]))
    transplants = clinical.get("transplants") or []
    out.append(Paragraph(_text(L["transplant_history"]), styles["h2"]))
    if transplants:
        out.append(_table([(t.get("date", ""), _v(t.get("donor_type"), lang)) for t in transplants], styles))
    else:
        out.append(Paragraph(_text(L["none"]), styles["body"]))
    elig = snapshot.get("eligibility")
    out.append(Paragraph(_text(L["eligibility"]), styles["h2"]))
    if elig:
        out.append(
            _table(
                [(L["verdict"], _v(elig.get("verdict"), lang)), (L["ruleset"], elig.get("ruleset_version", "—"))],
                styles,
            )
        )
    else:
        out.append(Paragraph(_text(L["none"]), styles["body"]))
    if snapshot.get("cover_note"):
        out.append(Paragraph(_text(L["note"]), styles["h2"]))
        out.append(Paragraph(_text(snapshot["cover_note"]), styles["body"]))
    out.append(Paragraph(_text(L["documents"]), styles["h2"]))
    docs = []
    for d in snapshot.get("documents", []):
        label = DOC_TYPES_ZH.get(d["doc_type"], d["doc_type_label"]) if lang == "zh" else d["doc_type_label"]
        docs.append(
            (
                f"{label} · {d['original_name']}",
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
    out.append(_table(docs, styles) if docs else Paragraph(_text(L["none"]), styles["body"]))
    return out


def _table(rows, styles) -> Table:
    data = [[Paragraph(_text(str(a)), styles["label"]), Paragraph(_text(str(b)), styles["body"])] for a, b in rows]
    table = Table(data, colWidths=[60 * mm, 110 * mm])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), fonts().base),  # a cell's default is the unembedded Helvetica
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
    font = fonts().base
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
        story.append(Paragraph(_text(f"{LABELS['en']['changes']} {compared_to}"), styles["h2"]))
        story.extend(Paragraph(_text(describe(c)), styles["body"]) for c in changes)
    story.append(PageBreak())
    story.extend(_section(packet_snapshot, "zh", styles))
    if changes:
        story.append(Paragraph(_text(f"{LABELS['zh']['changes']} {compared_to}"), styles["h2"]))
        story.extend(Paragraph(_text(describe(c)), styles["body"]) for c in changes)
    doc.build(story, canvasmaker=_stable_canvas(packet_snapshot))
    return buffer.getvalue()
