"""Every switch set within a number of operations, and what each leaves to trucks.

A switch set closes ties (open switches, out-of-service lines) and opens closed switches: the
sectionalisers of the cut-off area, and the switches near the far end of a tie (a neighbouring
substation's busbar: couplers, incomers, feeder breakers). Each set is judged by topology alone
here, on arrays built once per stage (no DataFrame per candidate): the network as the works
leave it must keep every bus it energises, and gain no loop (counted as the verifier counts
them, against the network before the works). What stays cut off forms truck islands, each with
its protected design peak and the trucks it needs at least. AC checks are the caller's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandapower as pp
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from planner.core.refs import ElementRef
from planner.core.switching import Switching
from planner.decide.allocation import kw_bound, trucks_needed
from planner.decide.operations import operations_for
from planner.grid.context import StageContext
from planner.inputs.case import Reserve

__all__ = [
    "MAX_OPERATIONS",
    "MAX_SETS",
    "Candidate",
    "Enumeration",
    "enumerate_switch_sets",
]

MAX_OPERATIONS = 3  # switching operations (closes plus opens) a switch set may take, by default
MAX_SETS = 3_000  # switch sets looked at per stage; beyond it the search is not exhaustive
SIZING_BLOCK = 4_000_000  # design values (time steps x loads) gathered at a time for the sizing


@dataclass(frozen=True)
class Candidate:
    """A switch set and what it leaves to trucks (bounds summed over its truck islands)."""

    switching: Switching
    operations: int
    trucks: int  # kW and kVA bound, the planner's sizing
    trucks_kw: int  # kW bound only: no plan with this switching can do with fewer
    unserved_kw: float  # protected design kW in islands no truck can reach (no point, few bays)
    transferred_kw: float  # protected design kW the switch set brings back from the grid


@dataclass(frozen=True)
class Enumeration:
    candidates: tuple[Candidate, ...]  # one per distinct network state, fewest operations
    looked_at: int
    exhaustive: bool
    limit: int
    closes: int
    opens: int
    topology: Topology


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
        m = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(self.n, self.n))
        return connected_components(m, directed=False)[1]

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


class _Reduced(Contraction):
    """The works network contracted to the branches the operations switch (`Contraction`).
    A set is then judged on a graph of about as many nodes as operations. Loops are counted
    as the verifier counts them (edges - nodes + components over the energised buses), for
    the works network and for the network before the works (whose branches include all of
    these)."""

    def __init__(self, topo: Topology, base: Topology, switches: list[int], lines: list[int]):
        super().__init__(topo, switches, lines)
        ce = topo.ends[self.const]
        self.size = np.bincount(self.sn, minlength=self.n)
        self.offset = np.bincount(self.sn[ce[:, 0]], minlength=self.n) - self.size
        be = base.ends[base.live(base.closed, base.line_on)]
        tp = topo.pos[base.buses[be]]
        tp = tp[(tp >= 0).all(axis=1)]
        sa, sb = self.sn[tp[:, 0]], self.sn[tp[:, 1]]
        same = sa == sb
        self.base_offset = np.bincount(sa[same], minlength=self.n) - self.size
        self.base_inter = np.column_stack([sa[~same], sb[~same]])

    def judge(
        self, closed: np.ndarray, line_on: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """Live switched branches, supernode labels, energised supernodes, and whether the
        energised network has no more loops than before the works."""
        on = self.live(closed, line_on)
        return (on, *self.judge_live(on))

    def judge_live(self, on: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """`judge` of the switched branches `on` live: labels, energised supernodes, radial."""
        labels, fed = self.labelled(on)
        edges = self.var_ends[on]
        inside = fed[edges[:, 0]]
        loops = self.offset[fed].sum() + inside.sum() + len(np.unique(labels[fed]))
        bi = self.base_inter[fed[self.base_inter[:, 0]] & fed[self.base_inter[:, 1]]]
        base_labels = self._components(bi)
        base_loops = self.base_offset[fed].sum() + len(bi) + len(np.unique(base_labels[fed]))
        return labels, fed, bool(loops <= base_loops)


def enumerate_switch_sets(
    ctx: StageContext,
    ties: list[ElementRef],
    limit: int = MAX_OPERATIONS,
    max_sets: int = MAX_SETS,
    tick: Callable[[int], None] | None = None,
) -> Enumeration:
    """Every switch set of at most `limit` operations that keeps the energised network radial
    and loses no customer, one per distinct outcome (the fewest operations), with its bounds."""
    closes, opens = operations_for(ctx, ties)
    topo = Topology(ctx.works_net)
    switches = [topo.switch_pos[r.index] for r in (*closes, *opens) if r.table == "switch"]
    lines = [topo.line_pos[r.index] for r in closes if r.table != "switch"]
    reduced = _Reduced(topo, Topology(ctx.base_net), switches, lines)
    start_fed = reduced.judge(topo.closed, topo.line_on)[2]
    cut = np.zeros(len(topo.buses), dtype=bool)
    cut[[topo.pos[b] for b in ctx.cut_off if topo.pos[b] >= 0]] = True
    sizing = _Sizing(ctx, topo, reduced.sn, reduced.n)
    cut_super = np.zeros(reduced.n, dtype=bool)
    cut_super[reduced.sn[cut]] = True
    seen: dict[bytes, Candidate] = {}
    judged: set[bytes] = set()
    looked_at = 0
    exhaustive = True

    def apply(
        shut: tuple[ElementRef, ...], opened: tuple[ElementRef, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        closed, line_on = topo.closed.copy(), topo.line_on.copy()
        for ref in shut:
            if ref.table == "switch":
                closed[topo.switch_pos[ref.index]] = True
            else:
                line_on[topo.line_pos[ref.index]] = True
        for ref in opened:
            closed[topo.switch_pos[ref.index]] = False
        return closed, line_on

    def sets() -> Iterator[tuple[tuple[ElementRef, ...], tuple[ElementRef, ...]]]:
        yield (), ()
        for n_close in range(1, min(limit, len(closes)) + 1):
            for shut in itertools.combinations(closes, n_close):
                closed, line_on = apply(shut, ())
                on, _, fed, _ = reduced.judge(closed, line_on)
                # an open only matters on a switched branch the closes leave energised
                live = np.zeros(len(topo.element), dtype=bool)
                live[reduced.var[on & fed[reduced.var_ends[:, 0]]]] = True
                useful = [
                    r
                    for r in opens
                    if live[topo.control[:, topo.switch_pos[r.index]].nonzero()[0]].any()
                ]
                for n_open in range(0, limit - n_close + 1):
                    for opened in itertools.combinations(useful, n_open):
                        yield shut, opened

    for shut, opened in sets():
        if looked_at >= max_sets:
            exhaustive = False
            break
        looked_at += 1
        if tick is not None and looked_at % 500 == 0:
            tick(looked_at)
        on = reduced.live(*apply(shut, opened))
        key = np.packbits(on).tobytes()  # the same network, the same verdict: judged once
        if key in judged:
            continue  # failed before, or passed with as few operations (kept in `seen`)
        judged.add(key)
        labels, fed, radial = reduced.judge_live(on)
        if (start_fed & ~fed).any() or not radial:
            continue  # someone the works leave supplied would lose supply, or a loop added
        switching = Switching(
            tuple(r for r in shut if r.table == "switch"),
            opened,
            tuple(r for r in shut if r.table != "switch"),
        )
        seen[key] = sizing.candidate(
            switching, len(shut) + len(opened), labels, cut_super & ~fed, cut_super & fed
        )
    return Enumeration(
        tuple(seen.values()), looked_at, exhaustive, limit, len(closes), len(opens), topo
    )


class _Sizing:
    """Protected design load per supernode over the stage's time steps, to size islands fast."""

    def __init__(self, ctx: StageContext, topo: Topology, sn: np.ndarray, n: int) -> None:
        case = ctx.case
        self.fleet = case.fleet
        self.n_1 = case.fleet.reserve == Reserve.N_1
        steps = ctx.demand.p_matrix.shape[0]
        self.p = np.zeros((steps, n))
        self.q = np.zeros((steps, n))
        cols: list[int] = []  # the protected loads' positions in the demand, and their supernodes
        at: list[int] = []
        for i, load in enumerate(ctx.demand.loads):
            if int(load) not in ctx.protected:
                continue
            bus = ctx.load_bus.get(int(load))
            if bus is None or bus >= len(topo.pos) or topo.pos[bus] < 0:
                continue
            cols.append(i)
            at.append(int(sn[topo.pos[bus]]))
        # each supernode's sum adds its loads in demand order, a block of time steps at a time
        rows = max(1, SIZING_BLOCK // max(len(cols), 1))
        for first in range(0, steps if cols else 0, rows):
            last = min(first + rows, steps)
            for matrix, out in ((ctx.demand.p_matrix, self.p), (ctx.demand.q_matrix, self.q)):
                block = matrix[first:last, np.array(cols)] * 1000.0
                target = out[first:last]
                for j, s in enumerate(at):
                    target[:, s] += block[:, j]
        self._peaks: dict[bytes, tuple[float, float]] = {}
        self.bays = np.zeros(n, dtype=int)
        for point in case.connection_points:
            b = point.bus.index
            if b < len(topo.pos) and topo.pos[b] >= 0:
                self.bays[sn[topo.pos[b]]] += point.bays

    def _peak(self, mask: np.ndarray) -> tuple[float, float]:
        """The protected design peak of the supernodes `mask` and the kvar then (kept: the
        same islands recur in many switch sets)."""
        key = np.packbits(mask).tobytes()
        if key not in self._peaks:
            self._peaks[key] = self._peak_of(mask)
        return self._peaks[key]

    def _peak_of(self, mask: np.ndarray) -> tuple[float, float]:
        p = self.p[:, mask].sum(axis=1)
        k = int(np.argmax(p)) if len(p) else 0
        if not len(p) or p[k] <= 0:
            return 0.0, 0.0
        return float(p[k]), float(self.q[k, mask].sum())

    def candidate(
        self,
        switching: Switching,
        operations: int,
        labels: np.ndarray,
        dead: np.ndarray,
        fed: np.ndarray,
    ) -> Candidate:
        rating_kw, rating_kva = self.fleet.rating_kw, self.fleet.rating_kva
        trucks = trucks_kw = 0
        unserved = 0.0
        transferred = self._peak(fed)[0] if fed.any() else 0.0
        for label in np.unique(labels[dead]):
            mask = dead & (labels == label)
            p_kw, q_kvar = self._peak(mask)
            if p_kw <= 0 and q_kvar <= 0:
                continue
            need = trucks_needed(p_kw, q_kvar, rating_kw, rating_kva, self.n_1)
            by_kw = kw_bound(p_kw, rating_kw, self.n_1)
            bays = int(self.bays[mask].sum())
            if bays < max(by_kw, 1):
                unserved += p_kw
                continue
            trucks += need
            trucks_kw += by_kw
        return Candidate(switching, operations, trucks, trucks_kw, unserved, transferred)
