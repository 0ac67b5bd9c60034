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

from planner.core.refs import ElementRef
from planner.core.switching import Switching
from planner.decide.allocation import kw_bound, trucks_needed
from planner.decide.operations import operations_for
from planner.grid.context import StageContext
from planner.grid.switch_topology import Contraction, Topology, works_topology
from planner.grid.topology import Graph, Toggled
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


class _Reduced(Contraction):
    """The works network contracted to the branches the operations switch (`Contraction`).
    A set is then judged on a graph of about as many nodes as operations. Loops are counted
    as the verifier counts them (edges - nodes + components over the energised buses), for
    the works network and for the network before the works (`base`, the stage's graph: its
    live branches include all of these)."""

    def __init__(self, topo: Topology, base: Graph, switches: list[int], lines: list[int]):
        super().__init__(topo, switches, lines)
        ce = topo.ends[self.const]
        self.size = np.bincount(self.sn, minlength=self.n)
        self.offset = np.bincount(self.sn[ce[:, 0]], minlength=self.n) - self.size
        tp = topo.pos[base.buses[base.edges]].reshape(-1, 2)
        tp = tp[(tp >= 0).all(axis=1)]
        sa, sb = self.sn[tp[:, 0]], self.sn[tp[:, 1]]
        same = sa == sb
        self.base_offset = np.bincount(sa[same], minlength=self.n) - self.size
        self.base_inter = np.column_stack([sa[~same], sb[~same]])
        self.nodes = np.arange(self.n)
        self._base_loops: dict[bytes, int] = {}
        # every set toggles a few switched branches of the works state
        self._toggled = Toggled(self.n, self.var_ends, self.live(topo.closed, topo.line_on))

    def labelled(self, on: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`Contraction.labelled`, its components found from the works state's."""
        labels = self._toggled.labels(on)
        fed = np.zeros(self.n, dtype=bool)
        fed[labels[self.source]] = True
        return labels, fed[labels]

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
        # a component is labelled by its smallest supernode, and fed or not as a whole
        roots = np.count_nonzero(fed & (labels == self.nodes))
        loops = self.offset[fed].sum() + inside.sum() + roots
        return labels, fed, self._no_more_loops(fed, int(loops))

    def _no_more_loops(self, fed: np.ndarray, loops: int) -> bool:
        """Whether `loops` is at most the loops before the works over the supernodes `fed`.
        Those are `known` (edges - nodes) plus the components of the `k` supernodes joined
        by `inter` edges, at least max(1, k - inter) and at most k: the components are only
        counted when the bounds leave the answer open."""
        inter = int((fed[self.base_inter[:, 0]] & fed[self.base_inter[:, 1]]).sum())
        known = int(self.base_offset[fed].sum()) + inter
        k = int(fed.sum())
        if loops <= known + max(min(k, 1), k - inter):
            return True
        if loops > known + k:
            return False
        return loops <= self.base_loops(fed)

    def base_loops(self, fed: np.ndarray) -> int:
        """Loops of the network before the works over the supernodes `fed` (kept: sets
        energising the same supernodes recur)."""
        key = np.packbits(fed).tobytes()
        if key not in self._base_loops:
            bi = self.base_inter[fed[self.base_inter[:, 0]] & fed[self.base_inter[:, 1]]]
            base_labels = self._components(bi)
            loops = self.base_offset[fed].sum() + len(bi) + len(np.unique(base_labels[fed]))
            self._base_loops[key] = int(loops)
        return self._base_loops[key]


class _States:
    """The live switched branches of each switch set, from the works state's open-switch
    count per branch: a set changes at most a few switches, each a few counts (no product
    with the whole switch matrix per set). Counts are small whole numbers, exact in floats:
    the same branches as `Contraction.live` of the set's switch and line states."""

    def __init__(self, topo: Topology, reduced: _Reduced, refs: list[ElementRef]) -> None:
        self.topo = topo
        self.count = reduced.var_control @ (~topo.closed).astype(float)
        self.lines_on = reduced.var_fixed.copy()
        has_line = reduced.var_line >= 0
        self.lines_on[has_line] &= topo.line_on[reduced.var_line[has_line]]
        self.fixed = reduced.var_fixed
        columns = reduced.var_control.tocsc()
        self.edges: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # switch position: branches
        self.line_edges: dict[int, np.ndarray] = {}  # line position: its switched branches
        for ref in refs:
            if ref.table == "switch":
                k = topo.switch_pos[ref.index]
                span = slice(columns.indptr[k], columns.indptr[k + 1])
                self.edges[k] = (columns.indices[span], columns.data[span])
            else:
                k = topo.line_pos[ref.index]
                self.line_edges[k] = np.flatnonzero(reduced.var_line == k)

    def live(self, shut: tuple[ElementRef, ...], opened: tuple[ElementRef, ...]) -> np.ndarray:
        """The switched branches live with the closes `shut` then the opens `opened` applied
        to the works state (lines put in service, switches closed, then opened)."""
        count, lines_on = self.count.copy(), self.lines_on.copy()
        state: dict[int, bool] = {}
        for ref in shut:
            if ref.table != "switch":
                edges = self.line_edges[self.topo.line_pos[ref.index]]
                lines_on[edges] = self.fixed[edges]
                continue
            k = self.topo.switch_pos[ref.index]
            if not state.get(k, self.topo.closed[k]):
                count[self.edges[k][0]] -= self.edges[k][1]
            state[k] = True
        for ref in opened:
            k = self.topo.switch_pos[ref.index]
            if state.get(k, self.topo.closed[k]):
                count[self.edges[k][0]] += self.edges[k][1]
            state[k] = False
        return lines_on & (count < 0.5)

    def useful(
        self, opens: list[ElementRef], on: np.ndarray, fed: np.ndarray, ends: np.ndarray
    ) -> list[ElementRef]:
        """The opens on a switched branch that is live and energised (`on`, `fed` supernodes,
        `ends` the branches' supernodes): only those change what a set of closes leaves."""
        live = on & fed[ends[:, 0]]
        return [r for r in opens if live[self.edges[self.topo.switch_pos[r.index]][0]].any()]


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
    topo = works_topology(ctx)
    switches = [topo.switch_pos[r.index] for r in (*closes, *opens) if r.table == "switch"]
    lines = [topo.line_pos[r.index] for r in closes if r.table != "switch"]
    reduced = _Reduced(topo, ctx.base_graph, switches, lines)
    start_fed = reduced.judge(topo.closed, topo.line_on)[2]
    cut = np.zeros(len(topo.buses), dtype=bool)
    cut[[topo.pos[b] for b in ctx.cut_off if topo.pos[b] >= 0]] = True
    cut_super = np.zeros(reduced.n, dtype=bool)
    cut_super[reduced.sn[cut]] = True
    sizing = _Sizing(ctx, topo, reduced.sn, cut_super)
    states = _States(topo, reduced, [*closes, *opens])
    seen: dict[bytes, Candidate] = {}
    judged: set[bytes] = set()
    looked_at = 0
    exhaustive = True

    def sets() -> Iterator[tuple[tuple[ElementRef, ...], tuple[ElementRef, ...]]]:
        yield (), ()
        for n_close in range(1, min(limit, len(closes)) + 1):
            for shut in itertools.combinations(closes, n_close):
                on = states.live(shut, ())
                fed = reduced.labelled(on)[1]
                useful = states.useful(opens, on, fed, reduced.var_ends)
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
        on = states.live(shut, opened)
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
    """Protected design load per supernode over the stage's time steps, to size islands fast.
    Only the supernodes `wanted` (the cut-off area's: every island and every transfer lies in
    it) are summed; the others stay zero and are never read."""

    def __init__(self, ctx: StageContext, topo: Topology, sn: np.ndarray, wanted: np.ndarray):
        case = ctx.case
        self.fleet = case.fleet
        self.n_1 = case.fleet.reserve == Reserve.N_1
        steps, n = ctx.demand.p_matrix.shape[0], len(wanted)
        self.p = np.zeros((steps, n))
        self.q = np.zeros((steps, n))
        cols, at = _protected_columns(ctx, topo, sn, wanted)
        # each supernode's sum adds its loads in demand order, a block of time steps at a time
        rows = max(1, SIZING_BLOCK // max(len(cols), 1))
        for first in range(0, steps if len(cols) else 0, rows):
            last = min(first + rows, steps)
            for matrix, out in ((ctx.demand.p_matrix, self.p), (ctx.demand.q_matrix, self.q)):
                block = matrix[first:last, cols] * 1000.0
                target = out[first:last]
                for j, s in enumerate(at.tolist()):
                    target[:, s] += block[:, j]
        # a supernode's time steps side by side: `pt[mask]` holds, in the same memory order,
        # what `p[:, mask]` copies, so summing it over axis 0 adds the same values in the same
        # order (supernode after supernode at each step), without the slow column gather
        self.pt = np.ascontiguousarray(self.p.T)
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
        p = self.pt[mask].sum(axis=0)  # bit for bit `self.p[:, mask].sum(axis=1)`
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


def _protected_columns(
    ctx: StageContext, topo: Topology, sn: np.ndarray, wanted: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The demand positions of the protected loads on a supernode `wanted` (in demand order)
    and their supernodes. A load on a bus the works network lacks counts nowhere."""
    protected, load_bus = ctx.protected, ctx.load_bus
    bus = np.fromiter(
        (load_bus.get(i, -1) if i in protected else -1 for i in map(int, ctx.demand.loads)),
        dtype=np.int64,
        count=len(ctx.demand.loads),
    )
    known = (bus >= 0) & (bus < len(topo.pos))
    node = np.where(known, topo.pos[np.where(known, bus, 0)], -1)
    cols = np.flatnonzero(node >= 0)
    at = sn[node[cols]]
    keep = wanted[at]
    return cols[keep], at[keep]
