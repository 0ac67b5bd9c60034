"""States a switching phase's steps reach again are looked up, not solved again
(`planner.checks.step_models.Models`, `planner.checks.solved_state.KeptState`).

Looked up, a state answers every question a solved one does, alike: voltages, angles, sources,
findings, unfed loads, truck outputs, and the parts pandapower solves on demand, tied to the
looking step's own network. What is kept holds no network. The control of the paralleled
trucks is part of what a state is looked up by wherever it can change it. The start and end
phases of a stage share their models and states where their networks' parameters are alike.
"""

from __future__ import annotations

from dataclasses import replace

import pandapower.networks as pn
import pytest

import planner
from planner.checks.paralleled import CONTROLS, Paralleled
from planner.checks.replay import _parameters
from planner.checks.sequence import StepReplay
from planner.checks.step_models import Models, state_key, topology_key
from planner.checks.step_state import solve_states
from planner.decide.planning import plan_stage
from planner.grid.context import StageContext
from planner.grid.powerflow import TruckAt
from planner.grid.state import with_switching
from tests.conftest import CASES, DATA

FAR_END = DATA / "cases" / "safety" / "far_end.toml"
CASES_STAGES = [(FAR_END, 0), (CASES / "dashiqiao.toml", 1)]


def _step(path, stage: int):  # type: ignore[no-untyped-def]
    """A stage's checked state with its trucks connected and ramped, at its first two loads."""
    case = planner.load_case(path)
    ctx = StageContext.build(case, case.stages[stage])
    plan, check = plan_stage(ctx)
    net = with_switching(ctx.works_net, plan.switching)
    trucks = {t.id: t for t in check.setup.trucks}
    replay = StepReplay(ctx, check)
    replay.carrying = set(trucks)
    groups = list(ctx.demand.groups[:2])
    outputs = [replay.output(trucks, g) for g in groups]
    whens = [g.times[0].isoformat() for g in groups]
    return ctx, net, trucks, (outputs, groups, whens)


@pytest.mark.parametrize(("path", "stage"), CASES_STAGES)
def test_a_state_looked_up_answers_as_one_solved(path, stage: int) -> None:  # type: ignore[no-untyped-def]
    ctx, net, trucks, loads = _step(path, stage)
    models = Models(list(trucks.values()))
    solved = solve_states(ctx, net, trucks, *loads, models)
    assert len(models.states) == 1
    looked_up = solve_states(ctx, net, trucks, *loads, models)
    assert len(models.states) == 1  # found, not solved again
    fresh = solve_states(ctx, net, trucks, *loads, Models(list(trucks.values())))
    for one, again, other in zip(solved, looked_up, fresh, strict=True):
        assert again is not one and again.va is not one.va
        assert (again.vm, again.source, again.unfed, again.truck_kw, again.converged) == (
            other.vm, other.source, other.unfed, other.truck_kw, other.converged
        )  # fmt: skip
        assert [v.message for v in again.findings.sorted_violations()] == [
            v.message for v in other.findings.sorted_violations()
        ]
        assert len(again.nets) == len(other.nets) >= 2  # the grid and an island at least
        for buses, _ in other.nets:  # each part, solved by pandapower on demand
            bus = min(buses)
            mine, theirs = again.net_of(bus), other.net_of(bus)
            assert mine is not None and theirs is not None
            assert mine.res_bus.vm_pu.equals(theirs.res_bus.vm_pu)
            assert again.angle(bus) == other.angle(bus)
        line = next(iter(ctx.base_net.line.index))
        ref = planner.core.refs.ref_for(ctx.base_net, "line", int(line))
        bus = int(ctx.base_net.line.at[line, "from_bus"])
        assert again.across_kva(bus, ref) == other.across_kva(bus, ref)
    kept = next(iter(models.states.values()))
    for one in kept:  # results only: no network kept
        assert all(part is None for _, part in one.state.nets)
        assert not one.state.unsolved and not one.state.rows
        assert all("net" not in row for row in one.rows.values())


def test_what_a_state_is_looked_up_by() -> None:
    """The control: with no truck paralleled, none, unless pandapower solved the grid (then at
    a power factor apart: it runs without reactive limits); with trucks paralleled, at a power
    factor apart, "setpoint" and "voltage" alike where the trucks hold the same voltage, apart
    where they do not. Other truck orders, outputs, loads and times apart."""
    net = pn.case33bw()
    topology = topology_key(net)
    truck = TruckAt("T1", 17, 1000.0, 1250.0)
    other = TruckAt("T2", 17, 1000.0, 1250.0)
    group = replace_times(1)

    def key(held, paralleled=(), pandapower=False, trucks=(truck,), out=((10.0, 0.0),),
            groups=(group,)):  # type: ignore[no-untyped-def]  # fmt: skip
        outputs = [{t.id: o for t, o in zip(trucks, out, strict=False)}]
        trucks_at = {t.id: t for t in trucks}
        return state_key(net, topology, trucks_at, outputs, list(groups), ["t"],
                         list(paralleled), held, pandapower)  # fmt: skip

    free = {c: key(Paralleled(c).held([], 1.0)) for c in CONTROLS}
    assert len(set(free.values())) == 1
    by_pandapower = {c: key(Paralleled(c).held([], 1.0), pandapower=True) for c in CONTROLS}
    assert by_pandapower["setpoint"] == by_pandapower["voltage"] != by_pandapower["power_factor"]
    setpoint = Paralleled("setpoint").held([truck], 1.0)
    synchronised = Paralleled("voltage", before_vm={17: 1.0}).held([truck], 1.02)
    assert setpoint == synchronised == {"T1": 1.0}  # the voltage it synchronised at: 1.0
    assert key(setpoint, [truck]) == key(synchronised, [truck])
    moved = Paralleled("voltage", before_vm={17: 1.02}).held([truck], 1.0)
    assert len({key(setpoint, [truck]), key(moved, [truck]), key(None, [truck])}) == 3
    assert key(None, trucks=(truck, other)) != key(None, trucks=(other, truck))
    assert key(None, out=((20.0, 0.0),)) != key(None)
    assert key(None, groups=(replace_times(2),)) != key(None)


def replace_times(hour: int):  # type: ignore[no-untyped-def]
    """A load state at `hour` (only its times enter the key)."""
    from datetime import datetime

    import numpy as np

    from planner.inputs.demand import StepGroup

    return StepGroup((datetime(2026, 1, 1, hour),), np.zeros(1), np.zeros(1))


def test_start_and_end_phases_share_where_the_after_changes_only_states() -> None:
    case = planner.load_case(str(FAR_END))
    ctx = StageContext.build(case, case.stages[0])
    assert _parameters(ctx, "start") == _parameters(ctx, "end") == "start"
    line = planner.core.refs.ref_for(ctx.base_net, "line", int(ctx.base_net.line.index[0]))
    for fields, shared in (((("in_service", False),), True), ((("length_km", 2.0),), False)):
        changed = replace(ctx, stage=replace(ctx.stage, after=((line, fields),)))
        assert (_parameters(changed, "end") == "start") is shared
        assert _parameters(changed, "start") == "start"


def _tight(text: str) -> str:
    text = text.replace("[fleet]", "[limits]\nvm_max_pu = 1.05\n\n[fleet]")
    return text.replace("[[stages]]", "[switching]\nsync_max_dv_percent = 0.5\n\n[[stages]]")


def _dashiqiao(text: str) -> str:
    root = str(CASES.parent / "networks" / "dashiqiao.json")
    text = text.replace("vm_min_pu = 0.93", "vm_min_pu = 0.98")
    return text.replace('"../networks/dashiqiao.json"', repr(root))


# sequences replayed in more than one order or control: (case, edit, stage, states solved with
# those reached again looked up, states solved with none looked up)
REPLAYED = {
    "far end, a join that cannot be synchronised": (FAR_END, _tight, 0, 29, 35),
    "dashiqiao, the voltage floor at 0.98 pu": (CASES / "dashiqiao.toml", _dashiqiao, 1, 180, 210),
}


@pytest.mark.parametrize("name", sorted(REPLAYED))
def test_states_reached_again_are_looked_up_and_the_sequence_is_the_same(
    name: str, monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """The stage's switching sequence with the states reached again looked up, with every state
    solved, and with the start and end phases solving their own: the same steps (numbers,
    readings and controls included), violations and interruptions, in fewer solves."""
    from planner.checks import replay as replay_module
    from planner.checks import step_models
    from planner.dispatch.sequence import switching_sequence

    path, edit, stage, fewer, every = REPLAYED[name]
    source = path
    (tmp_path / source.name).write_text(edit(source.read_text()))
    network = source.with_suffix(".json")
    if network.exists():
        (tmp_path / network.name).write_bytes(network.read_bytes())
    case = planner.load_case(str(tmp_path / source.name))
    ctx = StageContext.build(case, case.stages[stage])
    _, check = plan_stage(ctx)
    solved: list[int] = []
    real = step_models.Models.keep

    def counted(self, key, states):  # type: ignore[no-untyped-def]
        solved.append(1)
        real(self, key, states)

    monkeypatch.setattr(step_models.Models, "keep", counted)
    looked_up = switching_sequence(ctx, check)
    with_lookups = len(solved)
    solved.clear()
    monkeypatch.setattr(replay_module, "_parameters", lambda ctx, what: what)
    apart = switching_sequence(ctx, check)
    monkeypatch.setattr(step_models.Models, "kept", lambda self, key: None)
    solved.clear()
    every_one = switching_sequence(ctx, check)
    for other in (apart, every_one):
        assert looked_up.steps == other.steps
        assert [v.message for v in looked_up.violations] == [v.message for v in other.violations]
        assert looked_up.interruptions == other.interruptions
    assert (with_lookups, len(solved)) == (fewer, every)


class _Solved:
    """A solved state as `Models.keep` sees it: something to keep the results of."""

    def kept(self) -> object:
        return object()


def test_at_most_so_many_states_are_kept_the_oldest_step_s_dropped_first() -> None:
    models = Models([], capacity=5)
    for key, count in (("a", 2), ("b", 2), ("c", 1)):
        models.keep((key,), [_Solved()] * count)  # type: ignore[list-item]
    assert list(models.states) == [("a",), ("b",), ("c",)]
    models.keep(("d",), [_Solved()] * 2)  # type: ignore[list-item]
    assert list(models.states) == [("b",), ("c",), ("d",)]
    models.keep(("e",), [_Solved()] * 6)  # type: ignore[list-item]  # more than all: not kept
    assert list(models.states) == [("b",), ("c",), ("d",)]
    assert Models([]).capacity == 64
    nothing = Models([], capacity=0)
    nothing.keep(("a",), [_Solved()])  # type: ignore[list-item]
    assert not nothing.states


@pytest.mark.parametrize(("path", "stage"), CASES_STAGES)
def test_a_state_pandapower_solved_is_looked_up_in_its_own_control_only(
    path, stage: int, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Where the engine does not apply and pandapower solves the grid, at a power factor (no
    reactive limits) is apart from the other controls; looked up in the same one, the state
    answers as one solved afresh."""
    from planner.checks import step_state

    monkeypatch.setattr(step_state, "_grid_model", lambda net, grid, trucks: None)
    ctx, net, trucks, loads = _step(path, stage)
    models = Models(list(trucks.values()))
    free = {}  # no truck connected: nothing paralleled

    def solve(control: str, with_models: Models):  # type: ignore[no-untyped-def]
        _, groups, whens = loads
        return solve_states(ctx, net, free, [{} for _ in groups], groups, whens, with_models,
                            Paralleled(control))  # fmt: skip

    solve("setpoint", models)
    assert len(models.states) == 1
    solve("power_factor", models)
    assert len(models.states) == 2  # apart
    looked_up = solve("voltage", models)  # held alike ({}): the setpoint's
    assert len(models.states) == 2
    fresh = solve("voltage", Models(list(trucks.values())))
    for again, other in zip(looked_up, fresh, strict=True):
        assert (again.vm, again.va, again.source, again.unfed) == (
            other.vm, other.va, other.source, other.unfed
        )  # fmt: skip
        assert [v.message for v in again.findings.sorted_violations()] == [
            v.message for v in other.findings.sorted_violations()
        ]
        assert all(part is None for _, part in again.nets)  # solved again on demand
        for buses, _ in other.nets:
            mine, theirs = again.net_of(min(buses)), other.net_of(min(buses))
            assert mine is not None and theirs is not None
            assert mine.res_bus.vm_pu.equals(theirs.res_bus.vm_pu)
