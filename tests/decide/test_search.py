"""The search over switch sets: the planner's trucks equal a brute force minimum.

The brute force here is the test's own: every set of at most three switch operations on the
network (any switch toggled), kept when the energised network loses nobody and gains no loop
(pandapower's graph), when pandapower's AC load flow at the design peak keeps the grid within
the case's limits, and when its cut-off islands can take trucks; each island then gets the
fewest trucks by kW and kVA, more while hour-by-hour verification of a placement fails.
"""

from __future__ import annotations

import copy
import itertools
import math

import networkx as nx
import pandapower as pp
import pandapower.topology as top
import pytest

import planner
from planner.checks.stage import StageSetup, check_stage
from planner.core.refs import ref_for
from planner.core.switching import Switching
from planner.decide.optimality import stage_bounds
from planner.decide.planning import truck_islands
from planner.decide.search import stage_search
from planner.decide.switchsets import enumerate_switch_sets
from planner.decide.transfer import candidate_ties, find_transfers
from planner.grid.context import StageContext
from planner.grid.powerflow import TruckAt
from tests.conftest import DATA

SEARCH = DATA / "cases" / "search"
OPERATIONS = 3


def _loops(graph: nx.MultiGraph, nodes: set[int]) -> int:
    sub = graph.subgraph(nodes)
    return sub.number_of_edges() - sub.number_of_nodes() + nx.number_connected_components(sub)


def _fewest_trucks(case) -> tuple[int, Switching]:  # type: ignore[no-untyped-def]
    ctx = StageContext.build(case, case.stages[0])
    fleet, limits, margin = case.fleet, case.limits, case.loads.margin
    base_graph = top.create_nxgraph(ctx.base_net, respect_switches=True)
    sources = set(ctx.works_net.ext_grid.bus)
    works_fed = {
        b
        for c in nx.connected_components(top.create_nxgraph(ctx.works_net))
        for b in c
        if c & sources
    }
    switches = list(ctx.works_net.switch.index)
    points = {p.bus.index: p.bays for p in case.connection_points}
    best: tuple[int, Switching] | None = None
    for n in range(OPERATIONS + 1):
        for toggled in itertools.combinations(switches, n):
            net = copy.deepcopy(ctx.works_net)
            for i in toggled:
                net.switch.at[i, "closed"] = not net.switch.at[i, "closed"]
            graph = top.create_nxgraph(net, respect_switches=True)
            fed = {b for c in nx.connected_components(graph) for b in c if c & sources}
            if works_fed - fed or _loops(graph, fed) > _loops(base_graph, fed):
                continue
            net.load["p_mw"] *= 1 + margin
            net.load["q_mvar"] *= 1 + margin
            pp.runpp(net)
            vm = net.res_bus.vm_pu[sorted(fed)]
            if (vm < limits.vm_min_pu).any() or (vm > limits.vm_max_pu).any():
                continue
            if (net.res_line.loading_percent.fillna(0) > limits.max_line_loading_percent).any():
                continue
            dead = set(ctx.cut_off) - fed
            islands = list(nx.connected_components(graph.subgraph(dead)))
            needs = []
            for island in islands:
                loads = net.load[net.load.bus.isin(island)]
                p_kw, q_kvar = loads.p_mw.sum() * 1e3, loads.q_mvar.sum() * 1e3
                if p_kw <= 0:
                    continue
                need = max(
                    math.ceil(p_kw / fleet.rating_kw - 1e-9),
                    math.ceil(math.hypot(p_kw, q_kvar) / fleet.rating_kva - 1e-9),
                )
                needs.append((island, need))
            if any(sum(points.get(b, 0) for b in isl) < k for isl, k in needs):
                continue
            bound = sum(k for _, k in needs)
            if best is not None and bound >= best[0]:
                continue
            refs = [ref_for(ctx.base_net, "switch", int(i)) for i in toggled]
            switching = Switching(
                tuple(r for r in refs if not ctx.works_net.switch.at[r.index, "closed"]),
                tuple(r for r in refs if ctx.works_net.switch.at[r.index, "closed"]),
            )
            trucks = _verified_trucks(ctx, switching, needs, points)
            if trucks is not None and (best is None or trucks < best[0]):
                best = (trucks, switching)
    assert best is not None
    return best


def _verified_trucks(ctx, switching, needs, points) -> int | None:  # type: ignore[no-untyped-def]
    """The fewest trucks, from each island's kW/kVA bound up, whose placement verifies."""
    fleet = ctx.case.fleet
    counts = [k for _, k in needs]
    while True:
        slots = [[b for b in sorted(isl) for _ in range(points.get(b, 0))] for isl, _ in needs]
        if any(len(s) < k for s, k in zip(slots, counts, strict=True)):
            return None
        for choice in itertools.product(
            *(sorted(set(itertools.combinations(s, k))) for s, k in zip(slots, counts, strict=True))
        ):
            buses = [b for group in choice for b in group]
            trucks = tuple(
                TruckAt(f"B{i}", b, fleet.rating_kw, fleet.rating_kva) for i, b in enumerate(buses)
            )
            if check_stage(ctx, StageSetup(switching, trucks)).verification.passed:
                return sum(counts)
        counts = [k + 1 for k in counts]  # more trucks everywhere: an upper bound is enough here


CASES = [
    # name, fewest trucks, trucks the greedy transfer alone leaves by its bound
    ("split", 0, 1),
    ("tail", 2, 2),
    ("busbar", 0, 2),
]


@pytest.mark.parametrize(("name", "fewest", "greedy"), CASES)
def test_the_planner_finds_the_brute_force_minimum(name: str, fewest: int, greedy: int) -> None:
    case = planner.load_case(SEARCH / f"{name}.toml")
    found, _ = _fewest_trucks(case)
    assert found == fewest
    ctx = StageContext.build(case, case.stages[0])
    switching, _, _ = find_transfers(ctx)
    assert sum(i.lower_bound for i in truck_islands(ctx, switching)) == greedy
    labels: list[str] = []
    plan = planner.plan_case(case, progress=lambda label, _a, _t: labels.append(label))
    assert plan.feasible
    assert plan.trucks_used == fewest
    optimality = plan.summary["optimality"]
    assert optimality["proven_minimal"] is True
    assert optimality["trucks_lower_bound"] == fewest
    assert [s["exhaustive"] for s in optimality["search"]] == [True]
    if greedy > fewest:
        assert any(label.endswith("screening switch sets") for label in labels)
        assert any(n.startswith("switch set found by search") for n in plan.stages[0].notes)
    assert planner.validate(case, plan.as_json()).passed


def test_the_switch_sets_found_for_reconfiguration_at_a_neighbouring_busbar() -> None:
    case = planner.load_case(SEARCH / "busbar.toml")
    plan = planner.plan_case(case)
    switching = plan.stages[0].switching
    assert sorted(r.text for r in switching.close) == [
        "switch:coupler Na-Nb",
        "switch:spare cable breaker",
    ]
    assert [r.text for r in switching.open] == ["switch:Nb incomer"]


def test_a_search_cut_short_proves_nothing() -> None:
    case = planner.load_case(SEARCH / "split.toml")
    ctx = StageContext.build(case, case.stages[0])
    full = enumerate_switch_sets(ctx, candidate_ties(ctx))
    assert (full.looked_at, len(full.candidates), full.exhaustive) == (19, 17, True)
    short = enumerate_switch_sets(ctx, candidate_ties(ctx), max_sets=5)
    assert (short.looked_at, short.exhaustive) == (5, False)
    search = stage_search(ctx)
    search.found = short
    assert stage_bounds(ctx, Switching())[0] is None
    search.found = full
    assert stage_bounds(ctx, Switching())[0] == 0


def test_no_switch_set_within_the_limit_needs_fewer_trucks_than_the_tail_plan() -> None:
    case = planner.load_case(SEARCH / "tail.toml")
    ctx = StageContext.build(case, case.stages[0])
    search = stage_search(ctx)
    passing = [
        c for c in search.found.candidates if c.unserved_kw <= 0 and search.passes(c.switching)
    ]
    assert min(c.trucks_kw for c in passing) == 2
    # the whole island through the tie would overload N's cable: it is not among them
    assert all(c.trucks_kw > 0 for c in passing)


@pytest.mark.parametrize(
    ("path", "stage"),
    [
        (DATA.parent.parent / "cases" / "dashiqiao.toml", 1),
        *((SEARCH / f"{n}.toml", 0) for n, *_ in CASES),
    ],
)
def test_a_switch_set_the_flow_bound_rejects_fails_the_ac_screen(path, stage) -> None:  # type: ignore[no-untyped-def]
    """The flow bound only saves load flows: each set it rejects, the screen rejects too."""
    case = planner.load_case(path)
    ctx = StageContext.build(case, case.stages[stage])
    search = stage_search(ctx)
    search.passes(Switching())  # builds the screen and the bound
    screen, bound, baseline = search._screen, search._bound, search._baseline
    assert screen is not None and bound is not None and baseline is not None
    rejected = [
        c.switching for c in search.found.candidates if bound.must_fail(c.switching, baseline)
    ]
    for switching in rejected:
        problems = screen.problems(switching)
        assert problems is None or not problems <= baseline, switching
    if stage == 1:  # the reference case: most of the 197 sets overload Yumin's transformer
        assert len(rejected) >= 60


def test_the_case_sets_how_many_switching_operations_the_search_may_take(tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    # the busbar reconfiguration takes 3 operations: with 2 allowed the trucks stay
    text = (SEARCH / "busbar.toml").read_text()
    network = (SEARCH / "busbar.toml").parent
    text = text.replace('network = "', f'network = "{network}/', 1)
    assert "[transfer]" in text
    limited = tmp_path / "limited.toml"
    limited.write_text(text.replace("[transfer]", "[transfer]\nmax_operations = 2", 1))
    case = planner.load_case(limited)
    assert case.max_switching_operations == 2
    plan = planner.plan_case(case)
    assert plan.trucks_used >= 1  # the plan without trucks is out of reach
    assert [s["max_operations"] for s in plan.summary["optimality"]["search"]] == [2]
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(text.replace("[transfer]", "[transfer]\nmax_operations = 11", 1))
    result = cli("check", wrong)
    assert result.exit_code == 2
    assert "transfer.max_operations: must be at most 10, got 11" in result.output
