"""The switch-set search's shortcuts against what they replace, to the last bit: the base
network's branches from the stage graph, components of toggled graphs, island peaks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import planner
from planner.core.switching import Switching
from planner.decide import switchsets, transfer
from planner.decide.operations import operations_for
from planner.grid.context import StageContext
from planner.grid.switch_topology import Topology, works_topology
from planner.grid.topology import Toggled, components

ROOT = Path(__file__).resolve().parents[2]
CASES = [
    ROOT / "cases" / "dashiqiao.toml",
    ROOT / "cases" / "oberrhein_transfer_and_trucks.toml",
    ROOT / "cases" / "cigre_transfer_and_trucks.toml",
    *sorted((ROOT / "tests" / "data" / "cases" / "search").glob("*.toml")),
]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_base_branches_are_the_topologys(path: Path) -> None:
    """The stage graph's branches are the live branches of `Topology` of the base network, so
    the loops before the works count the same."""
    case = planner.load_case(path)
    for stage in case.stages:
        ctx = StageContext.build(case, stage)
        base = Topology(ctx.base_net)
        ours = ctx.base_graph.buses[ctx.base_graph.edges].reshape(-1, 2)
        theirs = base.buses[base.ends[base.live(base.closed, base.line_on)]].reshape(-1, 2)
        assert sorted(map(tuple, ours.tolist())) == sorted(map(tuple, theirs.tolist()))
        if not ctx.cut_off:
            continue
        closes, opens = operations_for(ctx, transfer.candidate_ties(ctx))
        topo = works_topology(ctx)
        switches = [topo.switch_pos[r.index] for r in (*closes, *opens) if r.table == "switch"]
        lines = [topo.line_pos[r.index] for r in closes if r.table != "switch"]
        reduced = switchsets._Reduced(topo, ctx.base_graph, switches, lines)
        states = switchsets._States(topo, reduced, [*closes, *opens])
        assert np.array_equal(states.live((), ()), reduced.live(topo.closed, topo.line_on))
        for shut in closes:
            closed, line_on = topo.switched(
                Switching(
                    (shut,) if shut.table == "switch" else (),
                    tuple(opens[:2]),
                    (shut,) if shut.table != "switch" else (),
                )
            )
            on = states.live((shut,), tuple(opens[:2]))
            assert np.array_equal(on, reduced.live(closed, line_on))
            labels, fed = reduced.labelled(on)
            assert np.array_equal(labels, components(reduced.n, reduced.var_ends[on]))
            exact = reduced.base_loops(fed)
            for loops in range(exact - 3, exact + 4):  # the bounds never decide otherwise
                assert reduced._no_more_loops(fed, loops) == (loops <= exact)


def test_toggled_components_are_components() -> None:
    rng = np.random.default_rng(7)
    for _ in range(2000):
        n = int(rng.integers(1, 40))
        edges = rng.integers(0, n, (int(rng.integers(0, 60)), 2))
        reference = rng.random(len(edges)) < rng.random()
        toggled = Toggled(n, edges, reference, limit=int(rng.integers(0, 20)))
        for _ in range(4):
            on = reference ^ (rng.random(len(edges)) < rng.random() * 0.3)
            assert np.array_equal(toggled.labels(on), components(n, edges[on]))


def test_peaks_sum_as_the_column_gather() -> None:
    """`pt[mask].sum(axis=0)` adds what `p[:, mask].sum(axis=1)` adds, in its order (numpy's
    reductions differ with the memory order: this catches a numpy that changes either)."""
    rng = np.random.default_rng(3)
    for steps, n in ((672, 300), (5, 40), (1, 9), (96, 1)):
        p = rng.random((steps, n)) * 10.0 ** rng.integers(-6, 6, (steps, n))
        pt = np.ascontiguousarray(p.T)
        for k in sorted({0, 1, 2, 7, 8, 9, 17, 128, 129, n // 2, n}):
            for _ in range(3):
                mask = np.zeros(n, dtype=bool)
                mask[rng.choice(n, min(k, n), replace=False)] = True
                assert pt[mask].sum(axis=0).tobytes() == p[:, mask].sum(axis=1).tobytes()
