"""Line charts for the report: values over the stage's time steps, ticks with values and units."""

from __future__ import annotations

import math

from planner.core.text import for_html as escape

__all__ = ["line_chart", "nice_ticks"]

SERIES_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) covering [low, high]."""
    span = (high - low) or abs(high) or 1.0
    raw = span / max(most - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks: list[float] = []
    k = 0
    while first + k * step <= high + step * 1e-9 or len(ticks) < 2:
        ticks.append(round(first + k * step, 12))
        k += 1
    return ticks


def _tick_text(value: float, step: float, unit: str) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    return f"{value:,.{decimals}f} {unit}".strip()


def line_chart(
    series: dict[str, list[float]],
    labels: list[str],
    title: str,
    unit: str,
    limits: tuple[float, ...] = (),
    width: int = 900,
    height: int = 260,
    tick_unit: str | None = None,
) -> str:
    """A plain SVG line chart of equally spaced values (time steps), with limit lines.

    Each value tick reads `<value> <tick_unit>` (by default the unit's first word: `%` of
    "% of kVA rating", `pu`); the axis title gives the whole unit, time ticks the time.
    """
    values = [v for vs in series.values() for v in vs if math.isfinite(v)] + list(limits)
    if not values or not labels:
        return f'<p class="empty">{escape(title)}: no data</p>'
    short = unit.split()[0] if tick_unit is None and unit.split() else (tick_unit or "")
    ticks = nice_ticks(min(values), max(values))
    low, high = ticks[0], ticks[-1]
    step = ticks[1] - ticks[0]
    left, right, top, bottom = 78, 12, 24, 46
    w, h = width - left - right, height - top - bottom
    n = max(len(labels) - 1, 1)

    def px(i: int, v: float) -> tuple[float, float]:
        return left + i / n * w, top + (high - v) / ((high - low) or 1.0) * h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="15" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="#fff" stroke="#ccc"/>',
    ]
    for v in ticks:
        _, y = px(0, v)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + w}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
            f"{escape(_tick_text(v, step, short))}</text>"
        )
    for limit in limits:
        _, y = px(0, limit)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + w}" y2="{y:.1f}" '
            f'stroke="#c0392b" stroke-dasharray="5 3"><title>limit '
            f"{escape(_tick_text(limit, step / 10, short))}</title></line>"
        )
    every = max(1, math.ceil(len(labels) / 8))
    for i in range(0, len(labels), every):
        x, _ = px(i, low)
        out.append(
            f'<line x1="{x:.1f}" y1="{top + h}" x2="{x:.1f}" y2="{top + h + 4}" stroke="#999"/>'
            f'<text x="{x:.1f}" y="{top + h + 15}" font-size="9" text-anchor="middle">'
            f"{escape(labels[i])}</text>"
        )
    out.append(
        f'<text x="{left + w}" y="{top + h + 27}" font-size="9" text-anchor="end">time</text>'
    )
    for k, (name, vs) in enumerate(series.items()):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        points = " ".join(
            f"{x:.1f},{y:.1f}" for x, y in (px(i, v) for i, v in enumerate(vs)) if math.isfinite(y)
        )
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" '
            f'points="{points}"><title>{escape(name)}</title></polyline>'
        )
        out.append(
            f'<text x="{left + 8 + 70 * k}" y="{height - 4}" font-size="10" '
            f'fill="{colour}">{escape(name)}</text>'
        )
    out.append(
        f'<text x="12" y="{top + h / 2:.0f}" font-size="10" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + h / 2:.0f})">{escape(unit)}</text>'
    )
    out.append("</svg>")
    return "\n".join(out)
