"""Inline SVG charts rendered on the server; every text goes through `escape`.

Labels wrap onto several lines instead of being cut: two provinces whose
names differ only at the end must not look the same. Every chart is drawn
beside a table holding its numbers.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Bar", "count_columns", "share_bars", "trend_line", "value_bars", "wrap"]

COLOURS = ("#2563eb", "#16a34a", "#dc2626", "#9333ea")
LINE_H = 12


def wrap(label: str, width: int = 40) -> list[str]:
    """`label` in lines of at most `width` characters, words kept whole where they fit."""
    return textwrap.wrap(label, width) or [""]


def _text_lines(x: float, top: float, lines: Sequence[str]) -> str:
    spans = "".join(
        f'<tspan x="{x}" dy="{0 if i == 0 else LINE_H}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text x="{x}" y="{top + 10}" font-size="10">{spans}</text>'


@dataclass(frozen=True)
class Bar:
    label: str
    values: tuple[float, ...]
    """Shares in [0, 1], one per series."""


def share_bars(
    bars: Sequence[Bar], series: Sequence[str], width: int = 320, label_width: int = 240
) -> Markup:
    """Horizontal bars: one group per row (labelled), one bar per series, with the percentage."""
    bar_h, chars = 12, max(label_width // 6, 10)
    labels = [wrap(bar.label, chars) for bar in bars]
    heights = [max(6 + 14 * len(series), 6 + LINE_H * len(lines)) for lines in labels]
    height = max(sum(heights), 1) + 18
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{label_width + width + 60}" '
        f'height="{height}" role="img" aria-label="{escape(", ".join(series))}">'
    ]
    for i, name in enumerate(series):
        parts.append(
            f'<rect x="{label_width + i * 130}" y="0" width="10" height="10" '
            f'fill="{COLOURS[i]}"/><text x="{label_width + i * 130 + 14}" y="9" '
            f'font-size="10">{escape(name)}</text>'
        )
    top = 18
    for bar, lines, row_h in zip(bars, labels, heights, strict=True):
        parts.append(_text_lines(0, top, lines))
        for i, value in enumerate(bar.values):
            share = min(max(value, 0.0), 1.0)
            y, x = top + i * 14, label_width
            parts.append(
                f'<rect x="{x}" y="{y}" width="{share * width:.1f}" height="{bar_h}" '
                f'fill="{COLOURS[i]}"><title>{escape(bar.label)}: {share:.1%}</title></rect>'
                f'<text x="{x + share * width + 4:.1f}" y="{y + 10}" font-size="10">'
                f"{share:.1%}</text>"
            )
        top += row_h
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_line(
    days: Sequence[str], series: dict[str, Sequence[float]], width: int = 560, height: int = 160
) -> Markup:
    """Shares over days as polylines, with the first and last day labelled."""
    pad = 24
    n = len(days)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height + 30}" role="img" aria-label="trend">',
        f'<line x1="{pad}" y1="{height}" x2="{width - pad}" y2="{height}" stroke="#999"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height}" stroke="#999"/>',
        f'<text x="0" y="{pad + 4}" font-size="10">100%</text>',
        f'<text x="0" y="{height}" font-size="10">0%</text>',
    ]

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return height - (height - pad) * min(max(v, 0.0), 1.0)

    for k, (name, values) in enumerate(series.items()):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        colour = COLOURS[k % len(COLOURS)]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
        )
        parts.extend(
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
            f"<title>{escape(days[i])} {escape(name)}: {v:.1%}</title></circle>"
            for i, v in enumerate(values)
        )
        parts.append(
            f'<text x="{pad + k * 130}" y="{height + 26}" font-size="10" fill="{colour}">'
            f"{escape(name)}</text>"
        )
    if days:
        parts.append(f'<text x="{pad}" y="{height + 12}" font-size="10">{escape(days[0])}</text>')
        parts.append(
            f'<text x="{width - pad - 60}" y="{height + 12}" font-size="10">'
            f"{escape(days[-1])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def value_bars(
    bars: Sequence[Bar],
    series: Sequence[str],
    unit: str,
    width: int = 320,
    label_width: int = 240,
) -> Markup:
    """Horizontal bars of amounts (not shares), scaled to the largest, each with its value.

    A missing value (`nan`) draws no bar and says "–"; the page's table carries the
    same numbers for reading.
    """
    top = max((v for bar in bars for v in bar.values if v == v), default=0.0)  # v == v: not nan
    scale = width / top if top > 0 else 0.0
    row_h, bar_h = 6 + 14 * len(series), 12
    height = max(row_h * len(bars), 1) + 18
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{label_width + width + 90}" '
        f'height="{height}" role="img" aria-label="{escape(", ".join(series))} ({escape(unit)})">'
    ]
    for i, name in enumerate(series):
        parts.append(
            f'<rect x="{label_width + i * 130}" y="0" width="10" height="10" '
            f'fill="{COLOURS[i]}"/><text x="{label_width + i * 130 + 14}" y="9" '
            f'font-size="10">{escape(name)}</text>'
        )
    for row, bar in enumerate(bars):
        y0 = 18 + row * row_h
        label = bar.label if len(bar.label) <= 40 else bar.label[:39] + "…"
        parts.append(f'<text x="0" y="{y0 + 10}" font-size="10">{escape(label)}</text>')
        for i, value in enumerate(bar.values):
            y, x = y0 + i * 14, label_width
            shown = "–" if value != value else f"{value:g} {unit}"
            length = 0.0 if value != value else max(value, 0.0) * scale
            parts.append(
                f'<rect x="{x}" y="{y}" width="{length:.1f}" height="{bar_h}" '
                f'fill="{COLOURS[i]}"><title>{escape(bar.label)} {escape(series[i])}: '
                f"{escape(shown)}</title></rect>"
                f'<text x="{x + length + 4:.1f}" y="{y + 10}" font-size="10">{escape(shown)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def count_columns(
    labels: Sequence[str],
    counts: Sequence[int],
    name: str,
    width: int = 560,
    height: int = 140,
    every: int = 1,
) -> Markup:
    """Counts as vertical columns (documents per day or hour); every `every`-th label shown."""
    pad, n = 28, len(counts)
    top = max(counts, default=0) or 1
    step = (width - pad - 4) / max(n, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height + 28}" role="img" aria-label="{escape(name)}">',
        f'<line x1="{pad}" y1="{height}" x2="{width - 4}" y2="{height}" stroke="#999"/>',
        f'<text x="0" y="10" font-size="10">{top}</text>',
        f'<text x="0" y="{height}" font-size="10">0</text>',
    ]
    for i, (label, count) in enumerate(zip(labels, counts, strict=True)):
        h = (height - 12) * count / top
        x = pad + i * step
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{height - h:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{h:.1f}" fill="{COLOURS[0]}"><title>{escape(label)}: {count}</title></rect>'
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height + 12}" font-size="9">{escape(label)}</text>'
            )
    legend = f'<text x="{pad}" y="{height + 26}" font-size="10" fill="{COLOURS[0]}">'
    parts.append(f"{legend}{escape(name)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
