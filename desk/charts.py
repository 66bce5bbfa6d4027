"""Horizontal bar charts drawn on the server as SVG (``desk/chart.svg.html``).

No script and no inline style: bars are SVG geometry (``x``, ``width``) and take their colours
from classes in ``desk/admin.css``, so the Content Security Policy (``style-src 'self'``)
holds. Each chart is drawn with its numbers as a table beside it; the SVG itself is one
labelled image (``role="img"``) for screen readers, which read the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WIDTH = 560
LABEL_WIDTH = 190
VALUE_WIDTH = 70
BAR_HEIGHT = 18
GAP = 8
PLOT = WIDTH - LABEL_WIDTH - VALUE_WIDTH


@dataclass
class Segment:
    x: float
    width: float
    css: str
    value: float


@dataclass
class Bar:
    label: str
    y: float
    text_y: float
    segments: list[Segment]
    value_text: str
    value_x: float


@dataclass
class Chart:
    title: str
    width: int
    height: int
    label_width: int
    bars: list[Bar]
    legend: list[tuple[str, str]] = field(default_factory=list)
    description: str = ""


def _scale(maximum: float) -> float:
    return PLOT / maximum if maximum > 0 else 0.0


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:g}"


def _chart(title: str, bars: list[Bar], legend, description: str) -> Chart:
    height = max(len(bars), 1) * (BAR_HEIGHT + GAP) + GAP
    return Chart(
        title=title,
        width=WIDTH,
        height=height,
        label_width=LABEL_WIDTH - 6,
        bars=bars,
        legend=legend,
        description=description,
    )


def bars(rows: list[tuple[str, float]], *, unit: str, title: str) -> Chart:
    """One bar a row: (label, value)."""
    scale = _scale(max((v for _, v in rows), default=0))
    out = []
    for i, (label, value) in enumerate(rows):
        y = GAP + i * (BAR_HEIGHT + GAP)
        width = value * scale
        out.append(
            Bar(
                label=label,
                y=y,
                text_y=y + BAR_HEIGHT - 4,
                segments=[Segment(x=LABEL_WIDTH, width=round(width, 1), css="nav-bar-0", value=value)],
                value_text=_fmt(value),
                value_x=LABEL_WIDTH + width + 4,
            )
        )
    description = "; ".join(f"{label}: {_fmt(value)} {unit}" for label, value in rows)
    return _chart(title, out, [], description)


def paired_bars(rows: list[tuple[str, float | None, float | None]], *, first: str, second: str, unit: str, title: str):
    """Two bars a row (e.g. median and 90th percentile), the second below the first."""
    values = [v for _, a, b in rows for v in (a, b) if v is not None]
    scale = _scale(max(values, default=0))
    out = []
    for i, (label, a, b) in enumerate(rows):
        for j, (value, css, name) in enumerate(((a, "nav-bar-0", first), (b, "nav-bar-1", second))):
            y = GAP + (2 * i + j) * (BAR_HEIGHT + GAP)
            width = (value or 0) * scale
            out.append(
                Bar(
                    label=f"{label}, {name}" if j == 0 else name,
                    y=y,
                    text_y=y + BAR_HEIGHT - 4,
                    segments=[Segment(x=LABEL_WIDTH, width=round(width, 1), css=css, value=value or 0)],
                    value_text=_fmt(value),
                    value_x=LABEL_WIDTH + width + 4,
                )
            )
    description = "; ".join(f"{label}: {first} {_fmt(a)}, {second} {_fmt(b)} {unit}" for label, a, b in rows)
    return _chart(title, out, [("nav-bar-0", first), ("nav-bar-1", second)], description)


def stacked_bars(rows: list[tuple[str, list[float]]], *, parts: list[str], title: str) -> Chart:
    """One bar a row, split into ``parts`` (e.g. in time, late, overdue)."""
    scale = _scale(max((sum(values) for _, values in rows), default=0))
    out = []
    for i, (label, values) in enumerate(rows):
        y = GAP + i * (BAR_HEIGHT + GAP)
        x = float(LABEL_WIDTH)
        segments = []
        for k, value in enumerate(values):
            width = value * scale
            segments.append(Segment(x=round(x, 1), width=round(width, 1), css=f"nav-bar-{k}", value=value))
            x += width
        out.append(
            Bar(
                label=label,
                y=y,
                text_y=y + BAR_HEIGHT - 4,
                segments=segments,
                value_text=" / ".join(_fmt(v) for v in values),
                value_x=x + 4,
            )
        )
    description = "; ".join(
        f"{label}: " + ", ".join(f"{_fmt(v)} {part}" for v, part in zip(values, parts, strict=True))
        for label, values in rows
    )
    return _chart(title, out, [(f"nav-bar-{k}", part) for k, part in enumerate(parts)], description)
