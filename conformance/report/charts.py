"""Inline SVG charts (no JavaScript, no external assets): they render the same in a browser
offline and in WeasyPrint's PDF."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

FONT = ("Noto Sans CJK SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, "
        "WenQuanYi Micro Hei, sans-serif")
# Okabe-Ito: distinguishable with the common colour-vision deficiencies
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
WARN = "#B35C00"


def fmt_num(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def nice_ticks(top: float, count: int = 5) -> list[float]:
    if top <= 0 or math.isnan(top) or math.isinf(top):
        return [0.0, 1.0]
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    ticks = [0.0]
    while ticks[-1] < top - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'font-family={quoteattr(FONT)} font-size="12" aria-label={quoteattr(title)}>'
            f"<title>{escape(title)}</title>")
    return Markup(head + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 12,
          fill: str = "#222", weight: str | None = None, cls: str | None = None) -> str:
    extra = f' font-weight="{weight}"' if weight else ""
    extra += f' class="{cls}"' if cls else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{fill}"{extra}>{escape(text)}</text>')


@dataclass(slots=True)
class Bar:
    label: str
    value: float
    maximum: float
    provisional: bool = False


def bar_chart(bars: Sequence[Bar], title: str, provisional_label: str,
              width: int = 680) -> Markup:
    """Horizontal bars of value against maximum (the four dimensions' scores)."""
    label_w, right_w, row_h, top = 210, 150, 36, 28
    x0, x1 = label_w, width - right_w
    height = top + row_h * len(bars) + 24
    out = ['<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><rect width="6" height="6" fill="#0072B2"/>'
           '<line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2.5"/></pattern></defs>']
    out.append(_text(0, 16, title, size=13, weight="bold"))
    for pct in (0, 25, 50, 75, 100):
        x = x0 + (x1 - x0) * pct / 100
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" '
                   f'y2="{top + row_h * len(bars)}" stroke="#ddd" stroke-width="1"/>')
        out.append(_text(x, height - 6, f"{pct}%", anchor="middle", size=10, fill="#666"))
    for i, bar in enumerate(bars):
        y = top + i * row_h
        ratio = 0.0 if bar.maximum <= 0 else max(0.0, min(1.0, bar.value / bar.maximum))
        out.append(_text(x0 - 8, y + 21, bar.label, anchor="end"))
        out.append(f'<rect x="{x0}" y="{y + 8}" width="{x1 - x0}" height="18" fill="#eef2f6" '
                   'stroke="#c9d3dd"/>')
        fill = "url(#hatch)" if bar.provisional else PALETTE[0]
        out.append(f'<rect x="{x0}" y="{y + 8}" width="{(x1 - x0) * ratio:.1f}" height="18" '
                   f'fill="{fill}"><title>{escape(bar.label)}: {fmt_num(bar.value)} / '
                   f'{fmt_num(bar.maximum)}</title></rect>')
        value = f"{fmt_num(bar.value)} / {fmt_num(bar.maximum)} ({ratio:.0%})"
        out.append(_text(x1 + 8, y + 21, value))
        if bar.provisional:
            out.append(_text(x1 + 8, y + 33, provisional_label, size=10, fill=WARN,
                             weight="bold", cls="provisional-mark"))
    return _svg(width, height, title, out)


@dataclass(slots=True)
class Series:
    name: str
    values: list[float | None]
    dashed: bool = False


@dataclass(slots=True)
class Guide:
    """A horizontal reference line (a threshold)."""
    value: float
    label: str
    provisional: bool = False


@dataclass(slots=True)
class LineChart:
    title: str
    x_labels: list[str]
    x_title: str
    y_title: str
    series: list[Series]
    guides: list[Guide] = field(default_factory=list)


def line_chart(chart: LineChart, provisional_label: str, width: int = 680,
               height: int = 300) -> Markup:
    """Lines over categorical x positions (user counts, seconds), with point markers."""
    left, right, top, bottom = 64, 24, 34, 70
    pw, ph = width - left - right, height - top - bottom
    n = max(1, len(chart.x_labels))
    values = [v for s in chart.series for v in s.values if v is not None]
    data_top = max(values) if values else 1.0
    # a reference line far above the data would flatten the lines: draw those that fit within
    # 1.5x the data, name the others at the top edge
    inside = [g for g in chart.guides if not values or g.value <= data_top * 1.5]
    above = [g for g in chart.guides if g not in inside]
    ticks = nice_ticks(max([data_top] + [g.value for g in inside]))
    ymax = ticks[-1] or 1.0

    def px(i: int) -> float:
        return left + (pw * (i + 0.5) / n)

    def py(v: float) -> float:
        return top + ph - ph * v / ymax

    out = [_text(0, 16, chart.title, size=13, weight="bold")]
    for t in ticks:
        y = py(t)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" '
                   'stroke="#e3e3e3"/>')
        out.append(_text(left - 6, y + 4, fmt_num(t), anchor="end", size=10, fill="#555"))
    out.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" '
               'stroke="#888"/>')
    step = max(1, math.ceil(n / 14))  # keep x labels readable on long series
    for i, label in enumerate(chart.x_labels):
        if i % step == 0 or i == n - 1:
            out.append(_text(px(i), top + ph + 16, label, anchor="middle", size=10, fill="#333"))
    out.append(_text(left + pw / 2, top + ph + 32, chart.x_title, anchor="middle", size=11,
                     fill="#333"))
    out.append(f'<text x="14" y="{top + ph / 2:.1f}" font-size="11" fill="#333" '
               f'text-anchor="middle" transform="rotate(-90 14 {top + ph / 2:.1f})">'
               f"{escape(chart.y_title)}</text>")
    for k, g in enumerate(above):
        label = "↑ " + g.label + (f" [{provisional_label}]" if g.provisional else "")
        out.append(_text(left + pw - 4, top - 6 - 12 * k, label, anchor="end", size=10, fill=WARN,
                         cls="provisional-mark" if g.provisional else None))
    for g in inside:
        y = py(g.value)
        label = g.label + (f" [{provisional_label}]" if g.provisional else "")
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" '
                   f'stroke="{WARN}" stroke-dasharray="6 4" stroke-width="1.5"/>')
        out.append(_text(left + pw - 4, y - 4, label, anchor="end", size=10, fill=WARN,
                         cls="provisional-mark" if g.provisional else None))
    markers = n <= 40
    for k, s in enumerate(chart.series):
        color = PALETTE[k % len(PALETTE)]
        pts = [(px(i), py(v), v) for i, v in enumerate(s.values) if v is not None]
        if len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in pts)
            dash = ' stroke-dasharray="5 3"' if s.dashed else ""
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                       f'stroke-width="2"{dash}/>')
        if markers or len(pts) == 1:
            for (x, y, v), i in zip(pts, [i for i, v in enumerate(s.values) if v is not None],
                                    strict=True):
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}">'
                           f"<title>{escape(s.name)} @ {escape(chart.x_labels[i])}: "
                           f"{fmt_num(v)}</title></circle>")
    # legend
    lx, ly = left, height - 16
    for k, s in enumerate(chart.series):
        color = PALETTE[k % len(PALETTE)]
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        out.append(f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 18}" y2="{ly - 4}" '
                   f'stroke="{color}" stroke-width="2"{dash}/>')
        out.append(_text(lx + 22, ly, s.name, size=11))
        lx += 30 + 7 * len(s.name) + 14
    return _svg(width, height, chart.title, out)
