"""Where the drawing puts things: the network's geodata or a tree layout, and collapsed feeders.

The network is read as a tree grown from its sources over the normally closed branches (an
open tie or a line out of service joins the tree only where nothing else reaches a bus). A
large network is drawn as the paths from the sources to the elements a stage touches; each
subtree hanging off those paths that holds nothing the stage touches is one stub ("feeder").
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass, field

import pandapower as pp

__all__ = [
    "COLLAPSE_ABOVE_BUSES",
    "Branch",
    "Layout",
    "Stub",
    "branches",
    "bus_geodata",
    "element_name",
    "layout",
    "line_geodata",
]

COLLAPSE_ABOVE_BUSES = 300  # networks up to this size are drawn bus by bus

Point = tuple[float, float]


@dataclass(frozen=True)
class Branch:
    """A drawable connection between two buses: a line, a transformer or a bus-bus switch."""

    table: str
    index: int
    a: int
    b: int
    closed: bool  # in the network's normal state


@dataclass(frozen=True)
class Stub:
    """A collapsed subtree: drawn as one labelled stub from `parent` towards `root`."""

    parent: int
    root: int
    branch: Branch
    buses: int
    load_mw: float
    name: str


@dataclass
class Layout:
    """What is drawn and where (abstract coordinates: x right, y up)."""

    xy: dict[int, Point]  # shown buses and stub roots
    shown: set[int]
    stubs: list[Stub]
    tree: set[tuple[str, int]]  # branches of the tree (straight); others are drawn curved
    geographic: bool
    branches: list[Branch]
    paths: dict[int, list[Point]] = field(default_factory=dict)  # line index -> geodata path


def _coordinates(value: object) -> list[Point] | None:
    """The coordinates of a GeoJSON Point or LineString (pandapower 3's `geo` column)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        data = json.loads(value)
        coords = data["coordinates"]
        if data.get("type") == "Point":
            coords = [coords]
        points = [(float(c[0]), float(c[1])) for c in coords]
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None
    ok = points and all(math.isfinite(x) and math.isfinite(y) for x, y in points)
    return points if ok else None


def bus_geodata(net: pp.pandapowerNet) -> dict[int, Point] | None:
    """Every bus's geodata (`geo` column, or the older `bus_geodata` x/y), else None."""
    found: dict[int, Point] = {}
    if "geo" in net.bus.columns:
        for bus, value in net.bus.geo.items():
            points = _coordinates(value)
            if points:
                found[int(bus)] = points[0]
    table = net.get("bus_geodata")
    if len(found) < len(net.bus) and table is not None and {"x", "y"} <= set(table.columns):
        for bus, row in table.iterrows():
            try:
                x, y = float(row.x), float(row.y)
            except (TypeError, ValueError):
                continue
            if math.isfinite(x) and math.isfinite(y):
                found.setdefault(int(bus), (x, y))
    if len(found) < len(net.bus) or len(set(found.values())) < 2:
        return None
    return found


def line_geodata(net: pp.pandapowerNet) -> dict[int, list[Point]]:
    """Lines' geodata paths (`geo` LineStrings, or the older `line_geodata` coords)."""
    paths: dict[int, list[Point]] = {}
    if "geo" in net.line.columns:
        for line, value in net.line.geo.items():
            points = _coordinates(value)
            if points and len(points) >= 2:
                paths[int(line)] = points
    table = net.get("line_geodata")
    if table is not None and "coords" in table.columns:
        for line, coords in table.coords.items():
            try:
                points = [(float(x), float(y)) for x, y in coords]
            except (TypeError, ValueError):
                continue
            finite = all(math.isfinite(x) and math.isfinite(y) for x, y in points)
            if len(points) >= 2 and finite and int(line) not in paths:
                paths[int(line)] = points
    return paths


def branches(net: pp.pandapowerNet) -> list[Branch]:
    """Lines, transformers (three-winding ones as two branches) and bus-bus switches."""
    switch = net.switch
    et = switch.et.tolist()
    closed = [bool(c) for c in switch.closed.tolist()]
    elements = switch.element.tolist()
    open_line_ends = {
        int(e) for e, k, c in zip(elements, et, closed, strict=True) if k == "l" and not c
    }
    line = net.line
    out = [
        Branch("line", int(i), int(a), int(b), bool(on) and int(i) not in open_line_ends)
        for i, a, b, on in zip(
            line.index.tolist(),
            line.from_bus.tolist(),
            line.to_bus.tolist(),
            line.in_service.tolist(),
            strict=True,
        )
    ]
    trafo = net.trafo
    out += [
        Branch("trafo", int(i), int(a), int(b), bool(on))
        for i, a, b, on in zip(
            trafo.index.tolist(),
            trafo.hv_bus.tolist(),
            trafo.lv_bus.tolist(),
            trafo.in_service.tolist(),
            strict=True,
        )
    ]
    t3 = net.trafo3w
    for i, hv, mv, lv, on in zip(
        t3.index.tolist(),
        t3.hv_bus.tolist(),
        t3.mv_bus.tolist(),
        t3.lv_bus.tolist(),
        t3.in_service.tolist(),
        strict=True,
    ):
        out.append(Branch("trafo3w", int(i), int(hv), int(mv), bool(on)))
        out.append(Branch("trafo3w", int(i), int(hv), int(lv), bool(on)))
    out += [
        Branch("switch", int(i), int(a), int(b), c)
        for i, a, b, k, c in zip(
            switch.index.tolist(), switch.bus.tolist(), elements, et, closed, strict=True
        )
        if k == "b"
    ]
    buses = set(net.bus.index.tolist())
    return [b for b in out if b.a in buses and b.b in buses and b.a != b.b]


def _spanning_tree(
    net: pp.pandapowerNet, edges: list[Branch]
) -> tuple[dict[int, tuple[int, Branch]], dict[int, list[int]], list[int]]:
    """Parent of each bus (with the branch to it), children in order, and the roots."""
    adjacent: dict[int, list[Branch]] = {int(b): [] for b in net.bus.index.tolist()}
    for e in edges:
        adjacent[e.a].append(e)
        adjacent[e.b].append(e)
    roots = [int(b) for b in net.ext_grid.bus if int(b) in adjacent] or [int(net.bus.index[0])]
    parent: dict[int, tuple[int, Branch]] = {}
    children: dict[int, list[int]] = {b: [] for b in adjacent}
    seen: set[int] = set()
    tops: list[int] = []
    pending: deque[tuple[int, Branch]] = deque()  # open branches, used only when needed
    queue: deque[int] = deque()
    for start in [*dict.fromkeys(roots), *adjacent]:
        if start in seen:
            continue
        seen.add(start)
        tops.append(start)
        queue.append(start)
        while queue or pending:
            if not queue:
                bus, e = pending.popleft()
                other = e.b if e.a == bus else e.a
                if other in seen:
                    continue
                seen.add(other)
                parent[other] = (bus, e)
                children[bus].append(other)
                queue.append(other)
                continue
            bus = queue.popleft()
            for e in adjacent[bus]:
                other = e.b if e.a == bus else e.a
                if other in seen:
                    continue
                if not e.closed:
                    pending.append((bus, e))
                    continue
                seen.add(other)
                parent[other] = (bus, e)
                children[bus].append(other)
                queue.append(other)
    return parent, children, tops


def _postorder(children: dict[int, list[int]], tops: list[int]) -> list[int]:
    order: list[int] = []
    stack = [(t, False) for t in reversed(tops)]
    while stack:
        bus, done = stack.pop()
        if done:
            order.append(bus)
            continue
        stack.append((bus, True))
        stack.extend((c, False) for c in reversed(children[bus]))
    return order


def element_name(net: pp.pandapowerNet, table: str, index: int) -> str:
    """An element's name, or `table #index` when it has none."""
    name = net[table].at[index, "name"] if "name" in net[table].columns else None
    text = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
    return text or f"{table} #{index}"


def layout(
    net: pp.pandapowerNet,
    keys: set[int],
    group: dict[int, str],
    collapse_above: int = COLLAPSE_ABOVE_BUSES,
) -> Layout:
    """Place the network: every bus, or (above `collapse_above` buses) the paths to `keys`.

    A subtree is collapsed when it holds no key bus and all its buses are in one `group`
    (the stage's island of the bus, or none), so a stub never hides an island's edge.
    """
    edges = branches(net)
    parent, children, tops = _spanning_tree(net, edges)
    post = _postorder(children, tops)
    size: dict[int, int] = {}
    load_mw: dict[int, float] = {}
    own_load = (net.load.p_mw * net.load.scaling).where(net.load.in_service, 0.0)
    bus_load = own_load.groupby(net.load.bus).sum().to_dict()
    holds_key: dict[int, bool] = {}
    groups: dict[int, frozenset[str]] = {}
    for bus in post:
        kids = children[bus]
        size[bus] = 1 + sum(size[c] for c in kids)
        load_mw[bus] = float(bus_load.get(bus, 0.0)) + sum(load_mw[c] for c in kids)
        holds_key[bus] = bus in keys or any(holds_key[c] for c in kids)
        mine = frozenset({group.get(bus, "")})
        groups[bus] = mine.union(*(groups[c] for c in kids)) if kids else mine
    collapse = len(net.bus) > collapse_above
    shown: set[int] = set()
    stubs: list[Stub] = []
    stack = list(reversed(tops))
    while stack:
        bus = stack.pop()
        shown.add(bus)
        for child in children[bus]:
            if collapse and size[child] > 1 and not holds_key[child] and len(groups[child]) == 1:
                e = parent[child][1]
                stubs.append(
                    Stub(
                        bus,
                        child,
                        e,
                        size[child],
                        load_mw[child],
                        element_name(net, e.table, e.index),
                    )
                )
            else:
                stack.append(child)
    tree = {(parent[b][1].table, parent[b][1].index) for b in parent}
    geo = bus_geodata(net)
    if geo is not None:
        xy = {b: geo[b] for b in shown | {s.root for s in stubs}}
        return Layout(xy, shown, stubs, tree, True, edges, line_geodata(net))
    return Layout(_tidy(children, tops, shown, stubs), shown, stubs, tree, False, edges)


def _tidy(
    children: dict[int, list[int]], tops: list[int], shown: set[int], stubs: list[Stub]
) -> dict[int, Point]:
    """Depth on x; leaves on consecutive rows and a parent on its first child's row.

    Subtrees take disjoint row ranges, so straight tree branches never cross or overlap.
    """
    stub_roots = {s.root for s in stubs}
    xy: dict[int, Point] = {}
    next_row = 0
    stack: list[tuple[int, int, bool]] = [(t, 0, False) for t in reversed(tops)]
    while stack:
        bus, depth, done = stack.pop()
        kids = [c for c in children[bus] if c in shown or c in stub_roots]
        if bus in stub_roots:
            kids = []
        if done:
            xy[bus] = (float(depth), xy[kids[0]][1])
            continue
        if not kids:
            xy[bus] = (float(depth), -float(next_row))
            next_row += 1
            continue
        stack.append((bus, depth, True))
        stack.extend((c, depth + 1, False) for c in reversed(kids))
    return xy
