"""SVG drawings for the report: the network with works, islands, ties and trucks, and charts.

Every text from the case or the network (names, ids) goes through `for_html` before it is
placed in an element or a quoted attribute.
"""

from __future__ import annotations

import json
import math
from collections import deque

import pandapower as pp

from planner.core.plan import StagePlan, Supply
from planner.core.text import for_html as escape

__all__ = ["bus_xy", "line_chart", "network_svg"]

SUPPLY_COLOURS = {
    Supply.TRUCKS: "#e67e22",
    Supply.TRANSFER: "#27ae60",
    Supply.NONE: "#c0392b",
    Supply.GRID: "#2c3e50",
}
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


def _geo(value: object) -> tuple[float, float] | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        data = json.loads(value)
        x, y = data["coordinates"][:2]
        return float(x), float(y)
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def bus_xy(net: pp.pandapowerNet) -> dict[int, tuple[float, float]]:
    """Bus coordinates: the network's geodata where every bus has it, else a tree layout."""
    if "geo" in net.bus.columns:
        found = {int(b): _geo(g) for b, g in net.bus.geo.items()}
        if all(xy is not None for xy in found.values()):
            return {b: xy for b, xy in found.items() if xy is not None}
    return _tree_layout(net)


def _tree_layout(net: pp.pandapowerNet) -> dict[int, tuple[float, float]]:
    """Depth from the sources on x, breadth-first order on y; good enough for radial feeders."""
    neighbours: dict[int, list[int]] = {int(b): [] for b in net.bus.index}
    for fb, tb in zip(net.line.from_bus, net.line.to_bus, strict=True):
        neighbours[int(fb)].append(int(tb))
        neighbours[int(tb)].append(int(fb))
    for hv, lv in zip(net.trafo.hv_bus, net.trafo.lv_bus, strict=True):
        neighbours[int(hv)].append(int(lv))
        neighbours[int(lv)].append(int(hv))
    roots = [int(b) for b in net.ext_grid.bus] or [int(net.bus.index[0])]
    depth: dict[int, int] = {}
    row: dict[int, int] = {}
    next_row = 0
    for root in [*roots, *neighbours]:
        if root in depth:
            continue
        depth[root] = 0
        queue = deque([root])
        while queue:
            bus = queue.popleft()
            row[bus] = next_row
            next_row += 1
            for other in sorted(neighbours[bus]):
                if other not in depth:
                    depth[other] = depth[bus] + 1
                    queue.append(other)
    return {b: (float(depth[b]), -float(row[b])) for b in depth}


def _scale(points: dict[int, tuple[float, float]], width: float, height: float, pad: float):
    xs = [p[0] for p in points.values()] or [0.0]
    ys = [p[1] for p in points.values()] or [0.0]
    dx = (max(xs) - min(xs)) or 1.0
    dy = (max(ys) - min(ys)) or 1.0
    x0, y0 = min(xs), max(ys)

    def to_svg(xy: tuple[float, float]) -> tuple[float, float]:
        return (
            pad + (xy[0] - x0) / dx * (width - 2 * pad),
            pad + (y0 - xy[1]) / dy * (height - 2 * pad),
        )

    return to_svg


def network_svg(
    net: pp.pandapowerNet, stage: StagePlan, width: int = 900, height: int = 560
) -> str:
    """The network during `stage`: works dashed red, islands coloured by supply, trucks boxed."""
    xy = bus_xy(net)
    to_svg = _scale(xy, width, height, 30.0)
    island_of = {b: isl for isl in stage.islands for b in isl.buses}
    works = {(r.table, r.index) for r in stage.out_of_service}
    closed = {(r.table, r.index) for r in (*stage.switching.close, *stage.switching.in_service)}
    opened = {(r.table, r.index) for r in stage.switching.open}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="network" role="img" aria-label="network drawing of {escape(stage.name)}">',
        f'<rect width="{width}" height="{height}" fill="#fbfbf8"/>',
    ]
    line_switch: dict[int, list[int]] = {}
    for idx, sw in net.switch.iterrows():
        if sw.et == "l":
            line_switch.setdefault(int(sw.element), []).append(int(idx))
    for idx, line in net.line.iterrows():
        a, b = int(line.from_bus), int(line.to_bus)
        if a not in xy or b not in xy:
            continue
        (x1, y1), (x2, y2) = to_svg(xy[a]), to_svg(xy[b])
        switches = line_switch.get(int(idx), [])
        style = 'stroke="#7f8c8d" stroke-width="1.4"'
        if ("line", int(idx)) in works or any(("switch", s) in works for s in switches):
            style = 'stroke="#c0392b" stroke-width="3" stroke-dasharray="6 4"'
        elif ("line", int(idx)) in closed or any(("switch", s) in closed for s in switches):
            style = 'stroke="#27ae60" stroke-width="3"'
        elif any(("switch", s) in opened for s in switches):
            style = 'stroke="#8e44ad" stroke-width="2" stroke-dasharray="2 3"'
        elif not line.in_service or any(not net.switch.at[s, "closed"] for s in switches):
            style = 'stroke="#bdc3c7" stroke-width="1" stroke-dasharray="3 3"'
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" {style}>'
            f"<title>{escape(str(line['name']))}</title></line>"
        )
    for trafo in net.trafo.itertuples():
        a, b = int(trafo.hv_bus), int(trafo.lv_bus)
        if a in xy and b in xy:
            (x1, y1), (x2, y2) = to_svg(xy[a]), to_svg(xy[b])
            colour = "#c0392b" if ("trafo", int(trafo.Index)) in works else "#34495e"
            parts.append(
                f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                f'stroke="{colour}" stroke-width="2.5"/>'
            )
    radius = 4.0 if len(xy) < 400 else 2.0
    for bus, point in xy.items():
        x, y = to_svg(point)
        island = island_of.get(bus)
        colour = SUPPLY_COLOURS[island.supply] if island else "#2c3e50"
        name = escape(str(net.bus.at[bus, "name"]))
        label = f"{name} ({escape(island.id)}, {escape(island.supply)})" if island else name
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{colour}">'
            f"<title>{label}</title></circle>"
        )
    stacked: dict[int, int] = {}
    for truck in stage.trucks:
        if truck.bus not in xy:
            continue
        x, y = to_svg(xy[truck.bus])
        k = stacked.get(truck.bus, 0)
        stacked[truck.bus] = k + 1
        bx, by = x + 6 + 24 * k, y - 20
        parts.append(
            f'<g class="truck"><rect x="{bx:.1f}" y="{by:.1f}" width="22" height="14" '
            f'rx="2" fill="#e67e22" stroke="#7e3f0b"/><text x="{bx + 11:.1f}" '
            f'y="{by + 10.5:.1f}" font-size="9" text-anchor="middle" fill="#fff">'
            f"{escape(truck.id)}</text><title>truck {escape(truck.id)} at "
            f"{escape(truck.connection_point)}</title></g>"
        )
    legend = [
        ("works (out of service)", "#c0392b"),
        ("tie closed", "#27ae60"),
        ("truck island", SUPPLY_COLOURS[Supply.TRUCKS]),
        ("transferred", SUPPLY_COLOURS[Supply.TRANSFER]),
        ("grid supplied", "#2c3e50"),
    ]
    for i, (text, colour) in enumerate(legend):
        parts.append(
            f'<rect x="{10 + 150 * i}" y="{height - 18}" width="10" height="10" '
            f'fill="{colour}"/><text x="{24 + 150 * i}" y="{height - 9}" '
            f'font-size="11">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def line_chart(
    series: dict[str, list[float]],
    labels: list[str],
    title: str,
    unit: str,
    limits: tuple[float, ...] = (),
    width: int = 900,
    height: int = 260,
) -> str:
    """A plain SVG line chart of equally spaced values (hours), with optional limit lines."""
    values = [v for vs in series.values() for v in vs if math.isfinite(v)] + list(limits)
    if not values or not labels:
        return f'<p class="empty">{escape(title)}: no data</p>'
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    low, high = low - 0.05 * span, high + 0.05 * span
    left, right, top, bottom = 56, 12, 24, 34
    w, h = width - left - right, height - top - bottom
    n = max(len(labels) - 1, 1)

    def px(i: int, v: float) -> tuple[float, float]:
        return left + i / n * w, top + (high - v) / (high - low) * h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="15" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="#fff" stroke="#ccc"/>',
    ]
    for k in range(5):
        v = low + (high - low) * k / 4
        _, y = px(0, v)
        out.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{v:.3g}</text>'
        )
    for limit in limits:
        _, y = px(0, limit)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + w}" y2="{y:.1f}" '
            'stroke="#c0392b" stroke-dasharray="5 3"/>'
        )
    ticks = max(1, len(labels) // 8)
    for i in range(0, len(labels), ticks):
        x, _ = px(i, low)
        out.append(
            f'<text x="{x:.1f}" y="{height - 18}" font-size="9" text-anchor="middle">'
            f"{escape(labels[i])}</text>"
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
        f'<text x="12" y="{top + h / 2:.0f}" font-size="10" '
        f'transform="rotate(-90 12 {top + h / 2:.0f})">{escape(unit)}</text>'
    )
    out.append("</svg>")
    return "\n".join(out)
