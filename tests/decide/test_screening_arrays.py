"""The array-based transfer screening and switch-set enumeration give what the slow way gave.

Issue 16: the transfer screening once rebuilt the network's graph for every candidate and
compared whole columns per candidate; the switch-set sizing gathered the demand a load at a
time. The package now answers on arrays made once per stage (`grid.switch_topology`). This
file keeps the slow way as a reference (the code as it was, not in the package) and checks,
on every stage of the shipped and the search tests' cases (the reference network, MV
Oberrhein, CIGRE, SimBench MV and MV/LV grids, the small search networks), that the new code
chooses the same transfers and switch sets in the same order with the same numbers, to the
bit.
"""

from __future__ import annotations

import copy
import functools
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

import planner
from planner.core.refs import ElementRef, ref_for
from planner.core.switching import Switching
from planner.decide import switchsets, transfer
from planner.decide.allocation import kw_bound, trucks_needed
from planner.decide.operations import operations_for
from planner.decide.search import operation_limit
from planner.grid.context import StageContext
from planner.grid.state import switched
from planner.grid.switch_topology import Contraction, Topology
from planner.grid.topology import build_graph, components, energised_buses
from planner.inputs.case import Reserve

ROOT = Path(__file__).resolve().parents[2]
CASES = sorted(
    [
        ROOT / "cases" / "dashiqiao.toml",
        ROOT / "cases" / "oberrhein_transfer.toml",
        ROOT / "cases" / "oberrhein_transfer_and_trucks.toml",
        ROOT / "cases" / "cigre_transfer_and_trucks.toml",
        *(ROOT / "tests" / "data" / "cases" / "search").glob("*.toml"),
    ]
)


@functools.cache
def _contexts(path: Path) -> tuple[StageContext, ...]:
    case = planner.load_case(path)
    return tuple(StageContext.build(case, stage) for stage in case.stages)


def _stages() -> list[tuple[Path, int]]:
    return [(p, k) for p in CASES for k in range(len(planner.load_case(p).stages))]


STAGES = _stages()
IDS = [f"{p.stem}-{k}" for p, k in STAGES]
EVERY = max(len(STAGES) // 8, 1)  # the load positions are checked on a few stages


# ---- the slow way, as the package had it -------------------------------------------------


def _ref_positions(ctx: StageContext, loads: list[int]) -> np.ndarray:
    return np.asarray(pd.Index(ctx.demand.loads).get_indexer(loads), dtype=int)


def _ref_loads_on(ctx: StageContext, buses: frozenset[int]) -> list[int]:
    return sorted(i for i, b in ctx.load_bus.items() if b in buses)


def _ref_peak_kw(ctx: StageContext, loads: list[int]) -> float:
    if not loads:
        return 0.0
    p = ctx.demand.p_sums(_ref_positions(ctx, loads))
    k = int(np.argmax(p))
    return 0.0 if p[k] <= 0 else float(p[k] * 1000.0)


def _ref_sectionalisers(ctx: StageContext, buses: frozenset[int]) -> list[ElementRef]:
    net = ctx.base_net
    sw = net.switch
    out = []
    for idx in sw.index[sw.closed.astype(bool)]:
        et, bus, element = sw.at[idx, "et"], int(sw.at[idx, "bus"]), int(sw.at[idx, "element"])
        if bus not in buses:
            continue
        if et == "b" and element in buses:
            out.append(ctx.namer("switch", int(idx)))
        elif et == "l":
            line = net.line.loc[element]
            if int(line.from_bus) in buses and int(line.to_bus) in buses:
                out.append(ctx.namer("switch", int(idx)))
    return out


def _ref_screening_groups(ctx: StageContext) -> list:
    groups = list(ctx.demand.groups)
    if len(groups) <= 4:
        return groups
    by_total = max(groups, key=lambda g: float(g.p_mw.sum()))
    pos = _ref_positions(ctx, _ref_loads_on(ctx, ctx.cut_off))
    by_cut = max(groups, key=lambda g: float(g.p_mw[pos].sum() * 1000.0))
    return [by_total] if by_total is by_cut else [by_total, by_cut]


class _RefScreen(transfer.Screen):
    def energised(self, switching: Switching) -> frozenset[int]:  # type: ignore[override]
        with switched(self.net, switching) as net:
            return energised_buses(build_graph(net))


def _ref_find_transfers(ctx: StageContext) -> tuple[Switching, list[transfer.Transfer], int]:
    switching = Switching()
    ties = transfer.candidate_ties(ctx)
    screen = _RefScreen(ctx, _ref_screening_groups(ctx))
    baseline = screen.problems(switching) or set()
    transfers: list[transfer.Transfer] = []
    used: set[ElementRef] = set()
    while True:
        grid = screen.energised(switching)
        if not (ctx.cut_off - grid):
            break
        best = None
        for tie in ties:
            if tie in used:
                continue
            found = _ref_best_for_tie(screen, switching, tie, grid, baseline)
            if found and (
                best is None
                or (found.protected_kw, found.total_kw) > (best.protected_kw, best.total_kw)
            ):
                best = found
        if best is None:
            break
        transfers.append(best)
        used.add(best.tie)
        switching = switching.with_tie(best.tie, best.opened)
    return switching, transfers, screen.load_flows


def _ref_best_for_tie(screen, switching, tie, grid, baseline):  # type: ignore[no-untyped-def]
    ctx = screen.ctx
    whole = screen.energised(switching.with_tie(tie, ())) - grid
    if not whole or not (whole <= ctx.base_energised):
        return None
    options = [((), whole)]
    seen = {whole}
    for s in _ref_sectionalisers(ctx, whole):
        part = screen.energised(switching.with_tie(tie, (s,))) - grid
        if part and part not in seen and part < whole:
            seen.add(part)
            options.append(((s,), part))
    scored = []
    for opened, buses in options:
        loads = _ref_loads_on(ctx, buses)
        protected = [i for i in loads if i in ctx.protected]
        total = _ref_peak_kw(ctx, loads)
        if total <= 0:
            continue
        scored.append(transfer.Transfer(tie, opened, buses, _ref_peak_kw(ctx, protected), total))
    scored.sort(key=lambda t: (-t.protected_kw, -t.total_kw, len(t.opened)))

    def passes(candidate: transfer.Transfer) -> bool:
        problems = screen.problems(switching.with_tie(tie, candidate.opened))
        return problems is not None and problems <= baseline

    return transfer._largest_passing(scored, passes)


def _ref_judge(reduced, closed, line_on):  # type: ignore[no-untyped-def]
    def comps(edges: np.ndarray) -> np.ndarray:
        m = coo_matrix(
            (np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(reduced.n, reduced.n)
        )
        return connected_components(m, directed=False)[1]

    on = reduced.var_fixed.copy()
    has_line = reduced.var_line >= 0
    on[has_line] &= line_on[reduced.var_line[has_line]]
    on &= (reduced.var_control @ (~closed).astype(float)) < 0.5
    edges = reduced.var_ends[on]
    labels = comps(edges)
    fed = np.isin(labels, labels[reduced.source])
    inside = fed[edges[:, 0]]
    loops = reduced.offset[fed].sum() + inside.sum() + len(np.unique(labels[fed]))
    bi = reduced.base_inter[fed[reduced.base_inter[:, 0]] & fed[reduced.base_inter[:, 1]]]
    base_labels = comps(bi)
    base_loops = reduced.base_offset[fed].sum() + len(bi) + len(np.unique(base_labels[fed]))
    return on, labels, fed, bool(loops <= base_loops)


class _RefSizing:
    def __init__(self, ctx: StageContext, topo: Topology, sn: np.ndarray, n: int) -> None:
        self.fleet = ctx.case.fleet
        self.n_1 = ctx.case.fleet.reserve == Reserve.N_1
        steps = ctx.demand.p_matrix.shape[0]
        self.p = np.zeros((steps, n))
        self.q = np.zeros((steps, n))
        for i, load in enumerate(ctx.demand.loads):
            if int(load) not in ctx.protected:
                continue
            bus = ctx.load_bus.get(int(load))
            if bus is None or bus >= len(topo.pos) or topo.pos[bus] < 0:
                continue
            self.p[:, sn[topo.pos[bus]]] += ctx.demand.p_matrix[:, i] * 1000.0
            self.q[:, sn[topo.pos[bus]]] += ctx.demand.q_matrix[:, i] * 1000.0
        self.bays = np.zeros(n, dtype=int)
        for point in ctx.case.connection_points:
            b = point.bus.index
            if b < len(topo.pos) and topo.pos[b] >= 0:
                self.bays[sn[topo.pos[b]]] += point.bays

    def _peak(self, mask: np.ndarray) -> tuple[float, float]:
        p = self.p[:, mask].sum(axis=1)
        k = int(np.argmax(p)) if len(p) else 0
        if not len(p) or p[k] <= 0:
            return 0.0, 0.0
        return float(p[k]), float(self.q[k, mask].sum())

    def candidate(self, switching, operations, labels, dead, fed):  # type: ignore[no-untyped-def]
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
            if int(self.bays[mask].sum()) < max(by_kw, 1):
                unserved += p_kw
                continue
            trucks += need
            trucks_kw += by_kw
        return switchsets.Candidate(switching, operations, trucks, trucks_kw, unserved, transferred)


def _ref_enumerate(ctx: StageContext, ties: list[ElementRef], limit: int, max_sets: int):  # type: ignore[no-untyped-def]
    closes, opens = operations_for(ctx, ties)
    topo = Topology(ctx.works_net)
    switches = [topo.switch_pos[r.index] for r in (*closes, *opens) if r.table == "switch"]
    lines = [topo.line_pos[r.index] for r in closes if r.table != "switch"]
    reduced = switchsets._Reduced(topo, ctx.base_graph, switches, lines)
    start_fed = _ref_judge(reduced, topo.closed, topo.line_on)[2]
    cut = np.zeros(len(topo.buses), dtype=bool)
    cut[[topo.pos[b] for b in ctx.cut_off if topo.pos[b] >= 0]] = True
    sizing = _RefSizing(ctx, topo, reduced.sn, reduced.n)
    cut_super = np.zeros(reduced.n, dtype=bool)
    cut_super[reduced.sn[cut]] = True
    seen: dict[bytes, switchsets.Candidate] = {}
    looked_at = 0
    exhaustive = True

    def apply(shut, opened):  # type: ignore[no-untyped-def]
        closed, line_on = topo.closed.copy(), topo.line_on.copy()
        for ref in shut:
            if ref.table == "switch":
                closed[topo.switch_pos[ref.index]] = True
            else:
                line_on[topo.line_pos[ref.index]] = True
        for ref in opened:
            closed[topo.switch_pos[ref.index]] = False
        return closed, line_on

    def sets():  # type: ignore[no-untyped-def]
        yield (), ()
        for n_close in range(1, min(limit, len(closes)) + 1):
            for shut in itertools.combinations(closes, n_close):
                on, _, fed, _ = _ref_judge(reduced, *apply(shut, ()))
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
        on, labels, fed, radial = _ref_judge(reduced, *apply(shut, opened))
        if (start_fed & ~fed).any() or not radial:
            continue
        key = np.packbits(on).tobytes()
        if key in seen:
            continue
        switching = Switching(
            tuple(r for r in shut if r.table == "switch"),
            opened,
            tuple(r for r in shut if r.table != "switch"),
        )
        seen[key] = sizing.candidate(
            switching, len(shut) + len(opened), labels, cut_super & ~fed, cut_super & fed
        )
    return list(seen.values()), looked_at, exhaustive, len(closes), len(opens)


# ---- the checks ------------------------------------------------------------------------


def _transfer_row(t: transfer.Transfer) -> tuple:
    return (t.tie, t.opened, t.buses, t.protected_kw, t.total_kw)


def _candidate_row(c: switchsets.Candidate) -> tuple:
    return (c.switching, c.operations, c.trucks, c.trucks_kw, c.unserved_kw, c.transferred_kw)


@pytest.fixture
def ac_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each switching's AC screen solved once for both ways (the screen itself is unchanged;
    its load flows are still counted per call)."""
    solved: dict[tuple, object] = {}
    problems = transfer.Screen.problems

    def once(self: transfer.Screen, switching: Switching):  # type: ignore[no-untyped-def]
        key = (id(self.ctx), tuple(id(g) for g in self.groups), switching)
        if key not in solved:
            solved[key] = problems(self, switching)
        else:
            self.load_flows += len(self.groups)
        return copy.copy(solved[key])

    monkeypatch.setattr(transfer.Screen, "problems", once)


@pytest.mark.parametrize(("path", "k"), STAGES, ids=IDS)
def test_transfers_are_the_slow_ways(path: Path, k: int, ac_once: None) -> None:
    ctx = _contexts(path)[k]
    assert transfer.screening_groups(ctx) == _ref_screening_groups(ctx)
    for buses in (ctx.cut_off, ctx.base_energised, ctx.works_energised):
        assert transfer.sectionalisers(ctx.base_net, buses, ctx.namer) == _ref_sectionalisers(
            ctx, buses
        )
    if not ctx.cut_off:
        return
    switching, transfers, flows = transfer.find_transfers(ctx)
    ref_switching, ref_transfers, ref_flows = _ref_find_transfers(ctx)
    assert switching == ref_switching
    assert [_transfer_row(t) for t in transfers] == [_transfer_row(t) for t in ref_transfers]
    assert flows == ref_flows


@pytest.mark.parametrize(("path", "k"), STAGES, ids=IDS)
def test_switch_sets_are_the_slow_ways(path: Path, k: int) -> None:
    ctx = _contexts(path)[k]
    if not ctx.cut_off:
        return
    ties = transfer.candidate_ties(ctx)
    limit = operation_limit(ctx)
    found = switchsets.enumerate_switch_sets(ctx, ties, limit, max_sets=600)
    candidates, looked_at, exhaustive, closes, opens = _ref_enumerate(ctx, ties, limit, 600)
    assert [_candidate_row(c) for c in found.candidates] == [_candidate_row(c) for c in candidates]
    assert (found.looked_at, found.exhaustive, found.closes, found.opens) == (
        looked_at,
        exhaustive,
        closes,
        opens,
    )


def _switchings(ctx: StageContext, seed: int) -> list[Switching]:
    """Random switchings of a stage: ties closed (switches and lines), closed switches
    opened, now and then a switch already in the state asked for or a transformer opened."""
    rng = np.random.default_rng(seed)
    net = ctx.works_net
    sw = net.switch
    open_sw = [int(i) for i in sw.index[~sw.closed.astype(bool)]]
    closed_sw = [int(i) for i in sw.index[sw.closed.astype(bool)]]
    off_lines = [int(i) for i in net.line.index[~net.line.in_service.astype(bool)]]
    out = [Switching()]
    for _ in range(25):
        close = [ref_for(net, "switch", int(i)) for i in rng.permutation(open_sw)[:2]]
        opened = [ref_for(net, "switch", int(i)) for i in rng.permutation(closed_sw)[:3]]
        lines = [ref_for(net, "line", int(i)) for i in rng.permutation(off_lines)[:1]]
        if rng.random() < 0.2 and closed_sw:
            close.append(ref_for(net, "switch", int(rng.choice(closed_sw))))
        if rng.random() < 0.1 and len(net.trafo):
            opened.append(ref_for(net, "trafo", int(rng.choice(net.trafo.index))))
        out.append(Switching(tuple(close), tuple(opened), tuple(lines)))
    return out


@pytest.mark.parametrize(("path", "k"), STAGES, ids=IDS)
def test_energised_buses_are_the_graphs(path: Path, k: int) -> None:
    """The screen's contracted topology (and its fall-back) against a graph of the switched
    network, and `Contraction` of every switch against `Topology`'s full labelling."""
    ctx = _contexts(path)[k]
    screen = transfer.Screen(ctx, list(ctx.demand.groups[:1]))
    reference = _RefScreen(ctx, list(ctx.demand.groups[:1]))
    for switching in _switchings(ctx, seed=k):
        assert screen.energised(switching) == reference.energised(switching), switching
    topo = screen.topology
    every = Contraction(topo, np.arange(len(ctx.works_net.switch)), np.arange(len(topo.line_on)))
    for switching in _switchings(ctx, seed=k + 100):
        if any(r.table == "trafo" for r in switching.open):
            continue
        _, labels = topo.state(switching)
        _, super_labels, fed = every.components(*topo.switched(switching))
        assert (fed[every.sn] == topo.energised(labels)).all()
        ours = super_labels[every.sn]  # the same partition of the buses
        pairs = set(zip(labels.tolist(), ours.tolist(), strict=True))
        assert len(pairs) == len(set(labels.tolist())) == len(set(ours.tolist()))


@pytest.mark.parametrize(("path", "k"), STAGES[::EVERY], ids=IDS[::EVERY])
def test_load_positions_are_get_indexers(path: Path, k: int) -> None:
    ctx = _contexts(path)[k]
    loads = [int(i) for i in ctx.demand.loads]
    for wanted in (loads, loads[::-1][::3], [], [loads[0], 10**9, -1, loads[-1]], loads[:1] * 3):
        assert ctx._positions(wanted).tolist() == _ref_positions(ctx, wanted).tolist()


def test_components_label_as_scipy_orders() -> None:
    """`components` partitions as scipy does, each label the smallest node of its part, on
    random graphs and on paths whose nodes are numbered at random."""
    rng = np.random.default_rng(16)
    for trial in range(200):
        n = int(rng.integers(1, 300))
        if trial % 2:
            edges = rng.integers(0, n, (int(rng.integers(0, 2 * n)), 2))
        else:
            perm = rng.permutation(n)
            edges = np.column_stack([perm[:-1], perm[1:]])[rng.permutation(max(n - 1, 0))]
        labels = components(n, edges)
        m = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
        scipy_labels = connected_components(m, directed=False)[1]
        assert (np.unique(labels, return_inverse=True)[1].ravel() == scipy_labels).all()
        assert (labels[labels] == labels).all() and (labels <= np.arange(n)).all()


def test_a_copy_of_the_works_net_is_left_as_it_was() -> None:
    """Screening switches the screen's own copy and puts it back: the stage's nets unchanged."""
    ctx = _contexts(ROOT / "cases" / "dashiqiao.toml")[1]
    before = copy.deepcopy(ctx.works_net.switch), copy.deepcopy(ctx.works_net.line)
    transfer.find_transfers(ctx)
    pd.testing.assert_frame_equal(ctx.works_net.switch, before[0])
    pd.testing.assert_frame_equal(ctx.works_net.line, before[1])
