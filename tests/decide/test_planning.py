"""Planning outcomes on the shipped cases, minimality by brute force, and an independent check."""

from __future__ import annotations

import copy
import itertools
import json
import math

import numpy as np
import pandapower as pp
import pytest

import planner
from planner.checks.stage import StageSetup, check_stage
from planner.core.plan import Supply
from planner.core.switching import Switching
from planner.decide.affected import affected_area
from planner.decide.transfer import candidate_ties, sectionalisers
from planner.grid.context import StageContext
from planner.grid.powerflow import TruckAt
from tests.conftest import CASES


def test_reference_case_plans_six_trucks_and_verifies(planned) -> None:  # type: ignore[no-untyped-def]
    case, plan = planned("dashiqiao")
    assert plan.feasible and plan.trucks_used == 6 and plan.trucks_available == 6
    assert all(s.verification.passed for s in plan.stages)
    before, works, after = plan.stages
    assert before.trucks == () and after.trucks == ()
    assert len(works.trucks) == 6
    truck_islands = [i for i in works.islands if i.supply is Supply.TRUCKS]
    assert sorted(len(i.trucks) for i in truck_islands) == [3, 3]
    assert {r.text for r in works.switching.close} == {"switch:Tie F3-F5", "switch:Tie F4-F6"}
    assert works.verification.time_steps == 312
    assert 80.0 < works.verification.max_truck_loading_percent <= 100.0
    assert works.verification.unserved_protected_kw == 0.0
    # the protected design load that the trucks carry: 11.6 MW / 12.8 MVA, more than 5 trucks
    kw = sum(i.design_peak_kw for i in truck_islands)
    kvar = sum(i.design_peak_kvar for i in truck_islands)
    assert kw == pytest.approx(1.1 * 10510.0, rel=1e-6)
    assert 5 * case.fleet.rating_kva < math.hypot(kw, kvar) < 6 * case.fleet.rating_kva
    # stage 3 runs on the new, longer route
    assert plan.stages[2].verification.max_line_loading_percent > 0


def test_transfer_only_case_plans_zero_trucks(planned) -> None:  # type: ignore[no-untyped-def]
    _, plan = planned("oberrhein_transfer")
    assert plan.feasible and plan.trucks_used == 0
    [stage] = plan.stages
    assert [i.supply for i in stage.islands] == [Supply.TRANSFER]
    assert [r.text for r in stage.switching.close] == ["switch:Switch 14"]


@pytest.mark.parametrize("name", ["oberrhein_trucks", "case33bw_trucks", "simbench_mv_urban"])
def test_trucks_only_case_plans_the_lower_bound(planned, name: str) -> None:  # type: ignore[no-untyped-def]
    case, plan = planned(name)
    bound = sum(area.lower_bound_trucks for area in affected_area(case))
    assert plan.feasible
    assert plan.trucks_used == bound or (
        plan.trucks_used == bound + 1
        and any("not enough by load flow" in n for s in plan.stages for n in s.notes)
    )


def test_substation_transformer_out(planned) -> None:  # type: ignore[no-untyped-def]
    case, plan = planned("oberrhein_transformer_out")
    [stage] = plan.stages
    assert plan.feasible
    assert sorted(str(i.supply) for i in stage.islands) == ["transfer", "trucks"]
    [trucks] = [i for i in stage.islands if i.supply is Supply.TRUCKS]
    fleet = case.fleet
    bound = math.ceil(  # trucks are held to their kW and their kVA
        max(
            trucks.design_peak_kw / fleet.rating_kw,
            math.hypot(trucks.design_peak_kw, trucks.design_peak_kvar) / fleet.rating_kva,
        )
    )
    assert len(trucks.trucks) in (bound, bound + 1)
    assert stage.verification.max_trafo_loading_percent <= 100.0


def test_truck_islands_are_paralleled_where_that_saves_a_truck(planned) -> None:  # type: ignore[no-untyped-def]
    case, plan = planned("case33bw_paralleled")
    [stage] = plan.stages
    assert plan.feasible and plan.trucks_used == 2
    assert [r.text for r in stage.switching.in_service] == ["line:#35"]
    [island] = stage.islands
    assert island.supply is Supply.TRUCKS and len(island.buses) == 10
    assert any(
        "paralleled through line:#35: 3 trucks by lower bound become 2" in n for n in stage.notes
    )
    # separately, the two islands need 1 + 2 trucks
    assert [a.lower_bound_trucks for a in affected_area(case)[0].islands] == [1, 2]


def test_transfer_and_trucks_together(planned) -> None:  # type: ignore[no-untyped-def]
    _, plan = planned("oberrhein_transfer_and_trucks")
    [stage] = plan.stages
    assert plan.feasible
    supplies = sorted(str(i.supply) for i in stage.islands)
    assert supplies == ["transfer", "trucks"]
    assert stage.switching.close and stage.switching.open
    assert plan.trucks_used == 3  # 4,825 kW on 2,000 kW trucks (2 by kVA alone)


def test_infeasible_case_exits_1_and_names_the_shortfall(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = cli("plan", CASES / "cigre_infeasible.toml", "--out", tmp_path)
    assert result.exit_code == 1
    assert "INFEASIBLE" in result.output
    # 1,127 kW on 500 kW trucks: the engine rating binds (the 625 kVA alternators would take 2)
    text = "island I1 (3 buses, 1,127 kW design peak) needs 3 trucks, 1 available: short by 627 kW"
    assert text in result.output
    data = json.loads((tmp_path / "plan.json").read_text())
    assert data["feasible"] is False
    messages = [v["message"] for v in data["stages"][0]["verification"]["violations"]]
    assert text in messages
    # the schedule shows what the one truck can carry, never more than its rating; the rest is
    # named as unserved, at every hour and in every switching state
    stage = data["stages"][0]
    shed = "island I1 at 2025-08-05T07:00:00+02:00: its 1 truck(s) carry at most 500 of 1,127 kW"
    assert any(m.startswith(shed) and m.endswith("627 kW unserved") for m in messages)
    assert all(0 <= kw <= 500.0 for row in stage["schedule"] for kw in row["truck_kw"].values())
    assert all(step["solved"]["max_truck_kw"] <= 500.0 for step in stage["sequence"])


def test_simbench_profiles_drive_the_demand(planned) -> None:  # type: ignore[no-untyped-def]
    case, plan = planned("simbench_mv_urban")
    ctx = StageContext.build(case, case.stages[0])
    assert len(ctx.demand.groups) == 48  # every quarter hour its own load state
    assert 0.0 < plan.stages[0].peak_factor < 1.0


def _placements(points: list[tuple[int, int]], n: int) -> list[tuple[int, ...]]:
    slots = [bus for bus, bays in points for _ in range(bays)]
    return sorted(set(itertools.combinations(slots, n)))


def _switchings(ctx: StageContext) -> list[Switching]:
    options = [Switching()]
    for tie in candidate_ties(ctx):
        options.append(Switching().with_tie(tie, ()))
        for s in sectionalisers(ctx.base_net, ctx.cut_off):
            options.append(Switching().with_tie(tie, (s,)))
    return options


@pytest.mark.parametrize(
    "name",
    ["case33bw_trucks", "oberrhein_trucks", "cigre_transfer_and_trucks", "case33bw_paralleled"],
)
def test_no_plan_with_fewer_trucks_verifies(planned, name: str) -> None:  # type: ignore[no-untyped-def]
    """Brute force: every switching with one tie (and one sectionaliser) and every placement."""
    case, plan = planned(name)
    assert plan.feasible
    [stage] = case.stages
    ctx = StageContext.build(case, stage)
    points = [(p.bus.index, p.bays) for p in case.connection_points]
    fleet = case.fleet
    tried = 0
    for n in range(plan.trucks_used):
        for switching in _switchings(ctx):
            for buses in _placements(points, n):
                trucks = tuple(
                    TruckAt(f"T{i + 1}", b, fleet.rating_kw, fleet.rating_kva)
                    for i, b in enumerate(buses)
                )
                check = check_stage(ctx, StageSetup(switching, trucks))
                tried += 1
                assert not check.verification.passed, (switching, buses)
    assert tried > 0


def _design_loads(case, net) -> None:  # type: ignore[no-untyped-def]
    factor = case.loads.scaling * (1 + case.loads.margin)
    net.load["p_mw"] = net.load.p_mw * net.load.scaling * factor
    net.load["q_mvar"] = net.load.q_mvar * net.load.scaling * factor
    net.load["scaling"] = 1.0


def test_independent_check_from_plan_json(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Rebuild every state from plan.json alone and solve it with plain pandapower."""
    assert cli("plan", CASES / "case33bw_trucks.toml", "--out", tmp_path).exit_code == 0
    data = json.loads((tmp_path / "plan.json").read_text())
    case = planner.load_case(CASES / "case33bw_trucks.toml")
    [stage] = data["stages"]
    net = copy.deepcopy(case.network.net)
    _design_loads(case, net)
    for item in stage["out_of_service"]:
        net[item["table"]].at[item["index"], "in_service"] = False
    pp.runpp(net, numba=False)
    vm = list(net.res_bus.vm_pu.dropna())
    loadings = []
    for island in stage["islands"]:
        trucks = [t for t in stage["trucks"] if t["island"] == island["id"]]
        sub = pp.toolbox.select_subnet(net, island["buses"])
        first, *rest = trucks
        pp.create_ext_grid(sub, first["bus"], vm_pu=case.fleet.vm_setpoint_pu)
        share = 1.0 / len(trucks)
        total_p, total_q = sub.load.p_mw.sum(), sub.load.q_mvar.sum()
        sgens = [pp.create_sgen(sub, t["bus"], 0.0, 0.0) for t in rest]
        for _ in range(50):  # fixed point on the slack's share
            sub.sgen.loc[sgens, "p_mw"] = share * total_p
            sub.sgen.loc[sgens, "q_mvar"] = share * total_q
            pp.runpp(sub, numba=False)
            total_p = sub.res_ext_grid.p_mw.iloc[0] + share * total_p * len(rest)
            total_q = sub.res_ext_grid.q_mvar.iloc[0] + share * total_q * len(rest)
        vm += list(sub.res_bus.vm_pu)
        # a truck's loading: the tighter of its kW (engine) and kVA (alternator) limits
        p_kw = sub.res_ext_grid.p_mw.iloc[0] * 1000
        s_kva = np.hypot(sub.res_ext_grid.p_mw.iloc[0], sub.res_ext_grid.q_mvar.iloc[0]) * 1000
        assert p_kw >= 0.0
        loadings.append(max(p_kw / case.fleet.rating_kw, s_kva / case.fleet.rating_kva) * 100)
    v = stage["verification"]
    assert min(vm) == pytest.approx(v["min_vm_pu"], abs=1e-4)
    assert max(vm) == pytest.approx(v["max_vm_pu"], abs=1e-4)
    assert max(loadings) == pytest.approx(v["max_truck_loading_percent"], abs=0.01)


def test_n_1_reserve_adds_a_truck_and_is_checked_every_hour(planned) -> None:  # type: ignore[no-untyped-def]
    case, plan = planned("case33bw_reserve")
    [stage] = plan.stages
    assert plan.feasible and plan.trucks_used == 3
    assert all(len(hour["online"]) == 3 for hour in stage.schedule)
    # the two trucks that suffice without reserve fail the n-1 check, with the numbers
    ctx = StageContext.build(case, case.stages[0])
    two = tuple(TruckAt(f"T{i}", bus, 500.0, 625.0) for i, bus in ((1, 30), (2, 30)))
    check = check_stage(ctx, StageSetup(Switching(), two))
    reserve = [v for v in check.verification.violations if v.kind == "reserve"]
    assert reserve and not check.verification.passed
    message = reserve[0].message
    assert message.startswith("island I1 with truck T1 tripped: truck T2 at ")
    assert message.endswith("% of its 625 kVA rating") and reserve[0].value > 150.0
    assert reserve[0].time  # the hour it happens
    # without the reserve rule the same two trucks verify
    plain = planner.load_case(CASES / "case33bw_trucks.toml")
    assert check_stage(
        StageContext.build(plain, plain.stages[0]), StageSetup(Switching(), two)
    ).verification.passed
