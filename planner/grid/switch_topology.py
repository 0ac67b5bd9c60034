"""A network's branches as arrays, with the switches that control them: connectivity under
any switching without a graph built per switching.

`Topology` holds every bus and branch of one network once, with each branch's switches (a
sparse edge x switch matrix) and each line's state; a switching is then two boolean arrays.
`Contraction` merges every branch a family of switchings leaves alone into supernodes, so
that each switching of the family is judged on a graph of about as many nodes as elements it
may switch. `Sectionalisers` finds the closed switches inside an island at once. The tests
check all three against `planner.grid.topology` (itself checked against pandapower's).
"""

from __future__ import annotations

import weakref

import numpy as np
import pandapower as pp
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from planner.core.switching import Switching
from planner.grid.context import StageContext
from planner.grid.topology import components

__all__ = ["Contraction", "Sectionalisers", "Topology", "works_topology"]


class Topology:
    """Buses and branches of one network as arrays; liveness from switch and line states."""

    def __init__(self, net: pp.pandapowerNet) -> None:
        bus = net.bus
        self.buses = bus.index.to_numpy()[bus.in_service.to_numpy(dtype=bool)].astype(int)
        size = int(max(bus.index.max(), 0)) + 1
        self.pos = np.full(size, -1, dtype=int)
        self.pos[self.buses] = np.arange(len(self.buses))
        sw = net.switch
        self.switch_pos = {int(i): k for k, i in enumerate(sw.index)}
        self.line_pos = {int(i): k for k, i in enumerate(net.line.index)}
        self.closed = sw.closed.to_numpy(dtype=bool).copy()
        self.line_on = net.line.in_service.to_numpy(dtype=bool).copy()
        ends: list[tuple[int, int]] = []
        fixed: list[bool] = []
        line_of: list[int] = []
        self.element: list[tuple[str, int]] = []  # the table and index of each edge
        controls: list[tuple[int, int]] = []  # (edge, switch position)

        def add(a: int, b: int, on: bool, element: tuple[str, int], line: int = -1) -> int:
            ends.append((int(self.pos[a]), int(self.pos[b])))
            fixed.append(on and self.pos[a] >= 0 and self.pos[b] >= 0)
            line_of.append(line)
            self.element.append(element)
            return len(ends) - 1

        by_element: dict[tuple[str, int], list[int]] = {}
        line = net.line
        for k, (i, a, b) in enumerate(
            zip(line.index, line.from_bus.astype(int), line.to_bus.astype(int), strict=True)
        ):
            by_element[("l", int(i))] = [add(a, b, True, ("line", int(i)), k)]
        for i, row in net.trafo.iterrows():
            edge = add(int(row.hv_bus), int(row.lv_bus), bool(row.in_service), ("trafo", int(i)))
            by_element[("t", int(i))] = [edge]
        if "trafo3w" in net and len(net.trafo3w):
            for i, row in net.trafo3w.iterrows():
                by_element[("t3", int(i))] = [
                    add(int(row.hv_bus), int(row[other]), bool(row.in_service), ("trafo3w", int(i)))
                    for other in ("mv_bus", "lv_bus")
                ]
        if "impedance" in net and len(net.impedance):
            for i, row in net.impedance.iterrows():
                add(int(row.from_bus), int(row.to_bus), bool(row.in_service), ("impedance", int(i)))
        columns = (sw.index, sw.et.astype(str), sw.bus.astype(int), sw.element.astype(int))
        for k, (i, et, at, element) in enumerate(zip(*columns, strict=True)):
            if et == "b":
                controls.append((add(at, element, True, ("switch", int(i))), k))
            else:
                for edge in by_element.get((et, element), []):
                    controls.append((edge, k))
        self.ends = np.array(ends, dtype=int).reshape(-1, 2)
        self.fixed = np.array(fixed, dtype=bool)
        self.line_of = np.array(line_of, dtype=int)
        rows = [e for e, _ in controls]
        cols = [s for _, s in controls]
        self.control = coo_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(len(ends), len(sw))
        ).tocsr()
        is_source = np.zeros(len(self.buses), dtype=bool)
        eg = net.ext_grid
        for b in eg.bus[eg.in_service.astype(bool)]:
            if self.pos[int(b)] >= 0:
                is_source[self.pos[int(b)]] = True
        if len(net.gen) and "slack" in net.gen.columns:
            slack = net.gen.slack.fillna(False).astype(bool)
            gen = net.gen[net.gen.in_service.astype(bool) & slack]
            for b in gen.bus:
                if self.pos[int(b)] >= 0:
                    is_source[self.pos[int(b)]] = True
        self.is_source = is_source

    def switched(self, switching: Switching) -> tuple[np.ndarray, np.ndarray]:
        """The switch states and line states with `switching` applied (as `apply_switching`:
        closes and lines put in service first, then the opens)."""
        closed, line_on = self.closed.copy(), self.line_on.copy()
        for ref in switching.close:
            closed[self.switch_pos[ref.index]] = True
        for ref in switching.in_service:
            line_on[self.line_pos[ref.index]] = True
        for ref in switching.open:
            closed[self.switch_pos[ref.index]] = False
        return closed, line_on

    def state(self, switching: Switching) -> tuple[np.ndarray, np.ndarray]:
        """The live edges and the component labels of the buses with `switching` applied."""
        live = self.live(*self.switched(switching))
        return live, self.labels(live)

    def live(self, closed: np.ndarray, line_on: np.ndarray) -> np.ndarray:
        on = self.fixed.copy()
        has_line = self.line_of >= 0
        on[has_line] &= line_on[self.line_of[has_line]]
        open_count = self.control @ (~closed).astype(float)
        return on & (open_count < 0.5)

    def labels(self, live: np.ndarray) -> np.ndarray:
        n = len(self.buses)
        e = self.ends[live]
        matrix = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
        return connected_components(matrix, directed=False)[1]

    def energised(self, labels: np.ndarray) -> np.ndarray:
        return np.isin(labels, labels[self.is_source])

    def loops(self, live: np.ndarray, keep: np.ndarray) -> int:
        """Independent loops among the nodes `keep` (edges - nodes + components)."""
        e = self.ends[live]
        inside = keep[e[:, 0]] & keep[e[:, 1]]
        e = e[inside]
        nodes = np.flatnonzero(keep)
        if not len(nodes):
            return 0
        remap = -np.ones(len(keep), dtype=int)
        remap[nodes] = np.arange(len(nodes))
        m = coo_matrix(
            (np.ones(len(e)), (remap[e[:, 0]], remap[e[:, 1]])), shape=(len(nodes), len(nodes))
        )
        components = connected_components(m, directed=False)[0]
        return len(e) - len(nodes) + int(components)


class Contraction:
    """The network of `topo` with every branch no variable element switches contracted:
    supernodes (`sn`, per bus node) joined by the branches the variable switches and lines
    switch. Connectivity under any state of those elements is then found on a graph of about
    as many nodes as they are, whatever the network's size."""

    def __init__(
        self, topo: Topology, switches: list[int] | np.ndarray, lines: list[int] | np.ndarray
    ) -> None:
        self.topo = topo
        var = np.isin(topo.line_of, lines) & (topo.line_of >= 0)
        if len(switches):
            var |= np.asarray(topo.control[:, switches].sum(axis=1)).ravel() > 0
        self.var = np.flatnonzero(var)
        self.const = topo.live(topo.closed, topo.line_on) & ~var
        n = len(topo.buses)
        ce = topo.ends[self.const]
        graph = coo_matrix((np.ones(len(ce)), (ce[:, 0], ce[:, 1])), shape=(n, n))
        self.n, self.sn = connected_components(graph, directed=False)
        self.var_ends = self.sn[np.maximum(topo.ends[self.var], 0)]
        self.var_fixed = topo.fixed[self.var]
        self.var_line = topo.line_of[self.var]
        self.var_control = topo.control[self.var]
        self.source = np.zeros(self.n, dtype=bool)
        self.source[self.sn[topo.is_source]] = True

    def _components(self, edges: np.ndarray) -> np.ndarray:
        """Supernode labels (each its component's smallest supernode) over `edges`."""
        return components(self.n, edges)

    def live(self, closed: np.ndarray, line_on: np.ndarray) -> np.ndarray:
        """The switched branches live in a state that differs from `topo`'s only in the
        variable elements."""
        on = self.var_fixed.copy()
        has_line = self.var_line >= 0
        on[has_line] &= line_on[self.var_line[has_line]]
        on &= (self.var_control @ (~closed).astype(float)) < 0.5
        return on

    def labelled(self, on: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Supernode labels and energised supernodes with the switched branches `on` live."""
        labels = self._components(self.var_ends[on])
        fed = np.zeros(self.n, dtype=bool)
        fed[labels[self.source]] = True
        return labels, fed[labels]

    def components(
        self, closed: np.ndarray, line_on: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Live switched branches, supernode labels and energised supernodes of a state that
        differs from `topo`'s only in the variable elements."""
        on = self.live(closed, line_on)
        return (on, *self.labelled(on))


class Sectionalisers:
    """A network's closed switches with the buses each joins (its bus and its bus-bus
    switch's other bus, or its line's two ends), to find those inside an island at once."""

    def __init__(self, net: pp.pandapowerNet) -> None:
        sw = net.switch
        closed = sw.closed.to_numpy(dtype=bool)
        et = sw.et.to_numpy()[closed]
        self.index = sw.index.to_numpy()[closed].astype(int)
        bus = sw.bus.to_numpy()[closed].astype(int)
        element = sw.element.to_numpy()[closed].astype(int)
        self.ends = np.full((len(self.index), 3), -1, dtype=np.int64)
        self.ends[:, 0] = bus
        self.kept = (et == "b") | (et == "l")
        on_bus = et == "b"
        self.ends[on_bus, 1] = self.ends[on_bus, 2] = element[on_bus]
        on_line = np.flatnonzero(et == "l")
        line = net.line
        if len(on_line):
            at = line.index.get_indexer(element[on_line])
            known = at >= 0  # a switch on a line the network lacks is inside no island
            self.kept[on_line[~known]] = False
            self.ends[on_line[known], 1] = line.from_bus.to_numpy()[at[known]].astype(int)
            self.ends[on_line[known], 2] = line.to_bus.to_numpy()[at[known]].astype(int)

    def inside(self, buses: frozenset[int] | set[int]) -> list[int]:
        """The switches (in table order) with every bus they join in `buses`."""
        if not buses or not len(self.index):
            return []
        wanted = np.fromiter(buses, dtype=np.int64, count=len(buses))
        within = np.isin(self.ends, wanted).all(axis=1) & self.kept
        return self.index[within].tolist()

    def inside_mask(self, mask: np.ndarray, pos: np.ndarray) -> list[int]:
        """`inside` for the buses of a node mask (`pos`: node of each bus index, -1 none)."""
        ends = self.ends
        known = (ends >= 0) & (ends < len(pos))
        node = np.where(known, pos[np.where(known, ends, 0)], -1)
        within = ((node >= 0) & mask[np.maximum(node, 0)]).all(axis=1) & self.kept
        return self.index[within].tolist()


_WORKS: dict[int, tuple[weakref.ref[StageContext], Topology]] = {}


def works_topology(ctx: StageContext) -> Topology:
    """The `Topology` of a stage's works state, made once per stage context (the transfer
    screening and the switch-set search share it; nothing writes into it)."""
    held = _WORKS.get(id(ctx))
    if held is not None and held[0]() is ctx:
        return held[1]
    for key in [k for k, (ref, _) in _WORKS.items() if ref() is None]:
        del _WORKS[key]
    topo = Topology(ctx.works_net)
    _WORKS[id(ctx)] = (weakref.ref(ctx), topo)
    return topo
