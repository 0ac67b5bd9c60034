"""The single-line drawing of a stage: names, switch states, works, ties and trucks.

Laid out from the network's geodata when every bus has it (a map), else as a tree
(`planner.outputs.layout`); a network above 300 buses is drawn as the paths to what the stage
touches, each untouched feeder one labelled stub. Lines of the layout's tree are straight, any
other line (a tie, a ring, a second circuit) is a curve bowed further for each line already
between the same buses, and every line has a light casing, so a crossing or a parallel never
hides a line. Switches are squares near their bus: filled closed, hollow open, as the stage
leaves them. Names are placed where they fit (`planner.outputs.labels`); works, ties used,
truck connection points and trucks (with their kW) always. Every name goes through `for_html`.
"""

from __future__ import annotations

import math

import pandapower as pp

from planner.core.plan import StagePlan, Supply
from planner.core.text import for_html as escape
from planner.outputs.canvas import Canvas, Point, along, curve, polyline_points, spread
from planner.outputs.charts import line_chart
from planner.outputs.labels import CHAR_WIDTH, BoxGrid, Label, place_labels
from planner.outputs.layout import Layout, Stub, element_name, layout

__all__ = ["line_chart", "network_svg"]

SUPPLY_COLOURS = {
    Supply.TRUCKS: "#e67e22",
    Supply.TRANSFER: "#27ae60",
    Supply.NONE: "#c0392b",
    Supply.GRID: "#2c3e50",
}
WORKS = 'stroke="#c0392b" stroke-width="3" stroke-dasharray="7 4"'
TIE = 'stroke="#27ae60" stroke-width="3"'
OPENED = 'stroke="#8e44ad" stroke-width="2" stroke-dasharray="2 3"'
OFF = 'stroke="#95a5a6" stroke-width="1.2" stroke-dasharray="4 3"'
NORMAL = 'stroke="#7f8c8d" stroke-width="1.4"'
TRAFO = 'stroke="#34495e" stroke-width="2.5"'
STYLE = (
    "<style>text{font-family:sans-serif}text.l{paint-order:stroke;stroke:#fbfbf8;"
    "stroke-width:3px;stroke-linejoin:round}.c{stroke:#fbfbf8;fill:none}</style>"
)


def _fmt_kw(kw: float) -> str:
    return f"{kw / 1000:,.1f} MW" if abs(kw) >= 1000 else f"{kw:,.0f} kW"


def _element_buses(net: pp.pandapowerNet, table: str, index: int) -> set[int]:
    """The buses an element touches (a switch: its bus and its element's buses)."""
    if table == "bus":
        return {index}
    if index not in net[table].index:
        return set()
    row = net[table].loc[index]
    if table == "switch":
        kind = {"b": "bus", "l": "line", "t": "trafo", "t3": "trafo3w"}.get(row.et)
        return {int(row.bus)} | (_element_buses(net, kind, int(row.element)) if kind else set())
    cols = ("bus", "from_bus", "to_bus", "hv_bus", "mv_bus", "lv_bus")
    return {int(row[c]) for c in cols if c in row.index}


class _Stage:
    """What the stage does to the network: the works, what it closes and what it opens."""

    def __init__(self, net: pp.pandapowerNet, stage: StagePlan) -> None:
        self.net = net
        self.works = {(r.table, r.index) for r in stage.out_of_service}
        sw = stage.switching
        self.closed = {(r.table, r.index) for r in (*sw.close, *sw.in_service)}
        self.closed |= {(i.tie.table, i.tie.index) for i in stage.islands if i.tie is not None}
        self.opened = {(r.table, r.index) for r in sw.open}

    def name(self, table: str, index: int) -> str:
        return element_name(self.net, table, index)

    def on(self, table: str, index: int) -> bool:
        """A switch closed, another element in service, as the stage leaves it."""
        if (table, index) in self.works or (table, index) in self.opened:
            return False
        if (table, index) in self.closed:
            return True
        col = "closed" if table == "switch" else "in_service"
        return bool(self.net[table].at[index, col])


def network_svg(net: pp.pandapowerNet, stage: StagePlan) -> str:
    """The network during `stage`, labelled, in a horizontally scrolling box."""
    view = _Stage(net, stage)
    keys: set[int] = {t.bus for t in stage.trucks}
    for table, index in view.works | view.closed | view.opened:
        keys |= _element_buses(net, table, index)
    island_of = {b: isl for isl in stage.islands for b in isl.buses}
    lay = layout(net, keys, {b: i.id for b, i in island_of.items()})
    canvas = Canvas(lay)
    xy = spread({b: canvas(p) for b, p in lay.xy.items()})
    w, h = canvas.width, canvas.height
    labels: list[Label] = []
    blocked: list[tuple[float, float, float, float]] = [(0, h - 30, w, h)]
    layers, symbols = _branches(view, lay, canvas, xy, labels, blocked)
    parts = [
        f'<div class="drawing" style="overflow-x:auto"><svg xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {w:.0f} {h:.0f}" width="{w:.0f}" height="{h:.0f}" style="max-width:none"'
        f' class="network" role="img" aria-label="network drawing of {escape(stage.name)}">',
        STYLE,
        f'<rect width="{w:.0f}" height="{h:.0f}" fill="#fbfbf8"/>',
        *layers[0],
        *_stubs(lay.stubs, xy, island_of, labels),
        *layers[1],
        *layers[2],
        *layers[3],
        *symbols,
    ]
    truck_buses = {t.bus for t in stage.trucks}
    radius = 4.0 if len(lay.shown) < 400 else 3.0
    for bus in sorted(lay.shown):
        x, y = xy[bus]
        island = island_of.get(bus)
        colour = SUPPLY_COLOURS[island.supply] if island else SUPPLY_COLOURS[Supply.GRID]
        text = view.name("bus", bus)
        title = f"{text} ({island.id}, {island.supply})" if island else text
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{colour}">'
            f"<title>{escape(title)}</title></circle>"
        )
        blocked.append((x - radius, y - radius, x + radius, y + radius))
        must = bus in truck_buses or ("bus", bus) in view.works
        labels.append(Label(text, x, y, 0 if must else 2, must))
    parts += _trucks(stage, xy, blocked)
    parts += place_labels(labels, blocked, w, h)
    parts += _legend(h, bool(lay.stubs))
    parts.append("</svg></div>")
    return "\n".join(parts)


def _branches(
    view: _Stage,
    lay: Layout,
    canvas: Canvas,
    xy: dict[int, Point],
    labels: list[Label],
    blocked: list[tuple[float, float, float, float]],
) -> tuple[dict[int, list[str]], list[str]]:
    """Lines, transformers and bus-bus switches in four layers (works on top), and switches."""
    net, name, state = view.net, view.name, view.on
    works, closed, opened = view.works, view.closed, view.opened
    switch_of: dict[tuple[str, int], list[int]] = {}
    kinds = {"l": "line", "t": "trafo"}
    for i, et, element in zip(
        net.switch.index.tolist(), net.switch.et.tolist(), net.switch.element.tolist(), strict=True
    ):
        kind = kinds.get(et)
        if kind:
            switch_of.setdefault((kind, int(element)), []).append(int(i))
    layers: dict[int, list[str]] = {0: [], 1: [], 2: [], 3: []}
    symbols: list[str] = []
    pairs: dict[tuple[int, int], int] = {}
    stub_branches = {(s.branch.table, s.branch.index) for s in lay.stubs}
    for e in lay.branches:
        ident = (e.table, e.index)
        if e.a not in lay.shown or e.b not in lay.shown or ident in stub_branches:
            continue
        switches = [("switch", s) for s in switch_of.get(ident, [])]
        if e.table == "switch":
            switches, ident_on = [ident], True
        else:
            ident_on = state(*ident)
        touched = {ident, *switches}
        a, b = xy[e.a], xy[e.b]
        pair = (min(e.a, e.b), max(e.a, e.b))
        k = pairs.get(pair, 0)
        pairs[pair] = k + 1
        if ident in lay.tree and k == 0:
            geo = lay.paths.get(e.index) if e.table == "line" else None
            path = [canvas(p) for p in geo] if geo else [a, b]
            if math.dist(path[0], a) > math.dist(path[0], b):
                path.reverse()  # geodata drawn from the to-bus
            path[0], path[-1] = a, b
        else:
            path = curve(a, b, 10.0 * (k + 1) * (1 if k % 2 == 0 else -1))
        if touched & works:
            style, layer, must = WORKS, 3, True
        elif touched & closed:
            style, layer, must = TIE, 2, True
        elif touched & opened:
            style, layer, must = OPENED, 2, True
        elif not ident_on or not all(state(*s) for s in switches):
            style, layer, must = OFF, 0, False
        else:
            style, layer, must = (TRAFO if e.table.startswith("trafo") else NORMAL), 0, False
        title = escape(f"{e.table} {name(e.table, e.index)}")
        layers[layer].append(
            f'<polyline class="c" stroke-width="6" points="{polyline_points(path)}"/>'
            f'<polyline fill="none" {style} points="{polyline_points(path)}"><title>{title}</title>'
            "</polyline>"
        )
        if e.table != "switch":
            mx, my = along(path, 0.5)
            labels.append(Label(name(e.table, e.index), mx, my, 0 if must else 4, must))
        for s in switches:
            sw = net.switch.loc[s[1]]
            near = int(sw.bus)
            frac = 0.5 if e.table == "switch" else (0.2 if near == e.a else 0.8)
            sx, sy = along(path, frac)
            on = state(*s)
            fill = "#2c3e50" if on else "#fff"
            stroke = "#c0392b" if s in works else "#27ae60" if s in closed else "#2c3e50"
            word = "closed" if on else "open"
            symbols.append(
                f'<rect x="{sx - 3.5:.1f}" y="{sy - 3.5:.1f}" width="7" height="7" '
                f'fill="{fill}" stroke="{stroke}" stroke-width="1.5">'
                f"<title>{escape(f'switch {name(*s)}: {word}')}</title></rect>"
            )
            blocked.append((sx - 4, sy - 4, sx + 4, sy + 4))
            must_sw = s in works or s in closed or s in opened
            labels.append(Label(f"{name(*s)} ({word})", sx, sy, 0 if must_sw else 3, must_sw, 8.0))
    return layers, symbols


def _stubs(stubs: list[Stub], xy: dict[int, Point], island_of, labels: list[Label]) -> list[str]:
    """Collapsed feeders: a thin line to a triangle at the feeder's first bus, labelled."""
    out: list[str] = []
    for s in stubs:
        (x1, y1), (x2, y2) = xy[s.parent], xy[s.root]
        island = island_of.get(s.root)
        colour = SUPPLY_COLOURS[island.supply] if island else SUPPLY_COLOURS[Supply.GRID]
        text = f"feeder {s.name}: {s.buses:,} buses, {_fmt_kw(s.load_mw * 1000)} rated"
        where = f" ({island.id}, {island.supply})" if island else ""
        out.append(
            f'<g class="stub"><line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{colour}" stroke-width="1.2"/><polygon points="{_triangle(x2, y2)}" '
            f'fill="#fff" stroke="{colour}" stroke-width="2"/>'
            f"<title>{escape(text + where)} of rated load</title></g>"
        )
        labels.append(Label(text, x2, y2, 1, False))
    return out


def _trucks(
    stage: StagePlan, xy: dict[int, Point], blocked: list[tuple[float, float, float, float]]
) -> list[str]:
    """Each truck a box with its id and kW above its connection point, clear of the others."""
    out: list[str] = []
    taken = BoxGrid()
    for truck in stage.trucks:
        if truck.bus not in xy:
            continue
        x, y = xy[truck.bus]
        text = f"{truck.id} {truck.rating_kw:,.0f} kW"
        title = f"truck {text} at {truck.connection_point}"
        bw = len(text) * 9 * CHAR_WIDTH + 8
        spots = [(x + 8, y - 22 - 18 * k) for k in range(6)]
        spots += [(x - 8 - bw, y - 22 - 18 * k) for k in range(6)]
        free = [(bx, by) for bx, by in spots if taken.free((bx, by, bx + bw, by + 14))]
        bx, by = free[0] if free else spots[0]
        taken.add((bx, by, bx + bw, by + 14))
        blocked.append((bx, by, bx + bw, by + 14))
        out.append(
            f'<g class="truck"><rect x="{bx:.1f}" y="{by:.1f}" width="{bw:.0f}" height="14" '
            f'rx="2" fill="#e67e22" stroke="#7e3f0b"/><line x1="{x:.1f}" y1="{y:.1f}" '
            f'x2="{bx:.1f}" y2="{by + 14:.1f}" stroke="#7e3f0b"/><text x="{bx + 4:.1f}" '
            f'y="{by + 10.5:.1f}" font-size="9" fill="#fff">{escape(truck.id)} '
            f"{truck.rating_kw:,.0f} kW</text><title>"
            f"{escape(title)}</title></g>"
        )
    return out


def _legend(height: float, stubs: bool) -> list[str]:
    """Colour keys, the switch symbols and the collapsed-feeder mark, each as wide as its text."""
    items = [
        ("works (out of service)", f'fill="{SUPPLY_COLOURS[Supply.NONE]}"'),
        ("tie closed", 'fill="#27ae60"'),
        ("opened", 'fill="#8e44ad"'),
        ("truck island", f'fill="{SUPPLY_COLOURS[Supply.TRUCKS]}"'),
        ("transferred", f'fill="{SUPPLY_COLOURS[Supply.TRANSFER]}"'),
        ("grid supplied", f'fill="{SUPPLY_COLOURS[Supply.GRID]}"'),
        ("switch closed", 'fill="#2c3e50"'),
        ("switch open", 'fill="#fff" stroke="#2c3e50"'),
    ]
    out = []
    x = 10.0
    for text, paint in items:
        out.append(
            f'<rect x="{x:.0f}" y="{height - 18}" width="9" height="9" {paint}/>'
            f'<text x="{x + 13:.0f}" y="{height - 10}" font-size="11">{text}</text>'
        )
        x += 13 + len(text) * 11 * CHAR_WIDTH + 14
    if not stubs:
        return out
    out.append(
        f'<polygon points="{_triangle(x + 4, height - 13)}" fill="#fff" stroke="#2c3e50" '
        f'stroke-width="1.5"/><text x="{x + 13:.0f}" y="{height - 10}" font-size="11">'
        "feeder collapsed</text>"
    )
    return out


def _triangle(x: float, y: float) -> str:
    """A small triangle centred on (x, y): the mark of a collapsed feeder."""
    return f"{x - 5:.1f},{y + 4:.1f} {x + 5:.1f},{y + 4:.1f} {x:.1f},{y - 5:.1f}"
