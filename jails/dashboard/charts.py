"""Charts as inline SVG, drawn on the server: a column trend and horizontal bars.

Pure functions returning safe strings; every text goes through ``format_html``.
No ``style`` anywhere (the CSP forbids it): colours come from classes styled in
``static/css/dashboard.css`` and from ``currentColor``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

TREND_W, TREND_H = 1100, 250  # about the wide card's shape, so it fills it
PAD_L, PAD_R, PAD_T, PAD_B = 44, 8, 12, 28
BAR_ROW = 24
LABEL_W = 130
VALUE_W = 50
HBAR_W = 300


def nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if value <= factor * power:
            return factor * power
    return 10 * power


def linear_ticks(value: int) -> list[int]:
    """Whole-number ticks from 0 to at least ``value``, at most five gaps apart.

    The step is 1, 2 or 5 × 10^n, so a maximum of 50 gives 0 10 20 … 50 rather
    than 0 12.5 25 37.5 50: bans come in whole numbers.
    """
    value = max(value, 1)
    step = nice_max(math.ceil(value / 5))
    return list(range(0, math.ceil(value / step) * step + 1, step))


def log_ticks(value: int) -> list[int]:
    """0, (1,) 10, 100 … up to the power of ten at or above ``value``."""
    top = 10 ** math.ceil(math.log10(max(value, 1)))
    powers = [10**k for k in range(round(math.log10(top)) + 1)]
    # From 1,000 up the 1 sits on top of the 0: leave it out.
    return [0, *(powers[1:] if top >= 1000 else powers)]


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def trend_svg(
    points: Sequence[tuple[str, int]],
    *,
    title: str,
    label_every: int = 1,
    chart_id: str,
    log: bool = False,
) -> SafeString:
    """Columns for ``(label, count)`` points; every ``label_every``-th label is drawn.

    ``log`` draws heights on a log scale (of count + 1, so 0 stays 0): one large
    blocklist import then no longer flattens the hours of detected attacks.
    """
    n = max(len(points), 1)
    peak = max((c for _, c in points), default=0)
    ticks = log_ticks(peak) if log else linear_ticks(peak)
    top = ticks[-1]

    def share(count: int) -> float:
        if log:
            return math.log10(count + 1) / math.log10(top + 1)
        return count / top

    inner_w = TREND_W - PAD_L - PAD_R
    inner_h = TREND_H - PAD_T - PAD_B
    slot = inner_w / n
    gap = min(2.0, slot * 0.2)
    grid = []
    for value in ticks:
        y = PAD_T + inner_h - inner_h * share(value)
        grid.append(
            format_html(
                '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="axis" x="{}" y="{}" text-anchor="end">{}</text>',
                PAD_L,
                TREND_W - PAD_R,
                _num(y),
                _num(y),
                PAD_L - 6,
                _num(y + 4),
                f"{value:,}",
            )
        )
    bars = []
    labels = []
    for i, (label, count) in enumerate(points):
        h = inner_h * share(count)
        x = PAD_L + i * slot + gap / 2
        bars.append(
            format_html(
                '<rect class="bar" x="{}" y="{}" width="{}" height="{}">'
                "<title>{}: {}</title></rect>",
                _num(x),
                _num(PAD_T + inner_h - h),
                _num(max(slot - gap, 0.5)),
                _num(h),
                label,
                f"{count:,}",
            )
        )
        if i % label_every == 0:
            labels.append(
                format_html(
                    '<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                    _num(PAD_L + i * slot + slot / 2),
                    TREND_H - 8,
                    label,
                )
            )
    return format_html(
        '<svg class="chart chart-trend" viewBox="0 0 {} {}" role="img" aria-labelledby="{}" '
        'preserveAspectRatio="xMidYMid meet"><title id="{}">{}</title>{}{}{}</svg>',
        TREND_W,
        TREND_H,
        chart_id,
        chart_id,
        title,
        mark_safe("".join(grid)),  # noqa: S308 - built by format_html above
        mark_safe("".join(bars)),  # noqa: S308
        mark_safe("".join(labels)),  # noqa: S308
    )


def hbar_svg(items: Sequence[tuple[str, int]], *, title: str, chart_id: str) -> SafeString:
    """One horizontal bar per ``(label, count)``, the label left and the value right."""
    top = max((c for _, c in items), default=0) or 1
    width = LABEL_W + HBAR_W + VALUE_W
    height = max(len(items), 1) * BAR_ROW + 4
    rows = format_html_join(
        "",
        '<g><text class="label" x="{}" y="{}" text-anchor="end">{}</text>'
        '<rect class="bar" x="{}" y="{}" width="{}" height="{}" rx="2"><title>{}: {}</title></rect>'
        '<text class="value" x="{}" y="{}">{}</text></g>',
        (
            (
                LABEL_W - 8,
                i * BAR_ROW + 17,
                label if len(label) <= 20 else label[:19] + "…",
                LABEL_W,
                i * BAR_ROW + 5,
                _num(max(HBAR_W * count / top, 1)),
                BAR_ROW - 8,
                label,
                f"{count:,}",
                _num(LABEL_W + HBAR_W * count / top + 6),
                i * BAR_ROW + 17,
                f"{count:,}",
            )
            for i, (label, count) in enumerate(items)
        ),
    )
    return format_html(
        '<svg class="chart chart-bars" viewBox="0 0 {} {}" role="img" aria-labelledby="{}">'
        '<title id="{}">{}</title>{}</svg>',
        width,
        height,
        chart_id,
        chart_id,
        title,
        rows,
    )


PIE_R, PIE_HOLE = 80, 46
PIE_SLICES = 6
PIE_LEGEND_W = 190


def _arc(start: float, end: float) -> str:
    """An annulus sector between two fractions of the turn, as path data."""
    if end - start >= 0.9999:  # one slice: two half annuli (an arc cannot close on itself)
        return _arc(start, start + 0.5) + _arc(start + 0.5, end)
    large = 1 if end - start > 0.5 else 0

    def point(frac: float, r: float) -> str:
        angle = 2 * math.pi * frac - math.pi / 2
        return f"{_num(PIE_R + r * math.cos(angle))} {_num(PIE_R + r * math.sin(angle))}"

    return (
        f"M{point(start, PIE_R)}A{PIE_R} {PIE_R} 0 {large} 1 {point(end, PIE_R)}"
        f"L{point(end, PIE_HOLE)}A{PIE_HOLE} {PIE_HOLE} 0 {large} 0 {point(start, PIE_HOLE)}Z"
    )


def pie_svg(
    items: Sequence[tuple[str, int]], *, rest: int = 0, rest_label: str, title: str, chart_id: str
) -> SafeString:
    """A donut of the first slices of ``items`` plus everything else as one grey slice.

    The legend labels carry their slice's colour (``slice-N`` classes) and the share.
    """
    shown = list(items[:PIE_SLICES])
    rest += sum(c for _, c in items[PIE_SLICES:])
    slices = [(label, count, f"slice-{i}") for i, (label, count) in enumerate(shown)]
    if rest:
        slices.append((rest_label, rest, "slice-rest"))
    total = sum(c for _, c, _ in slices) or 1
    paths, legend, at = [], [], 0.0
    for i, (label, count, css) in enumerate(slices):
        share = count / total
        paths.append(
            format_html(
                '<path class="{}" d="{}"><title>{}: {} ({}%)</title></path>',
                css,
                _arc(at, at + share),
                label,
                f"{count:,}",
                _num(share * 100),
            )
        )
        at += share
        legend.append(
            format_html(
                '<g class="{}"><rect x="{}" y="{}" width="10" height="10" rx="2"/>'
                '<text class="label" x="{}" y="{}">{}</text>'
                '<text class="value" x="{}" y="{}" text-anchor="end">{}%</text></g>',
                css,
                2 * PIE_R + 16,
                i * 20 + 12,
                2 * PIE_R + 32,
                i * 20 + 21,
                label if len(label) <= 18 else label[:17] + "…",
                2 * PIE_R + 16 + PIE_LEGEND_W,
                i * 20 + 21,
                _num(round(share * 100, 1)),
            )
        )
    height = max(2 * PIE_R, len(slices) * 20 + 12)
    return format_html(
        '<svg class="chart chart-pie" viewBox="0 0 {} {}" role="img" aria-labelledby="{}">'
        '<title id="{}">{}</title>{}{}</svg>',
        2 * PIE_R + 16 + PIE_LEGEND_W + 4,
        height,
        chart_id,
        chart_id,
        title,
        mark_safe("".join(paths)),  # noqa: S308 - each part built by format_html
        mark_safe("".join(legend)),  # noqa: S308
    )
