"""Make-before-break switching sequences, every intermediate state load-flow checked.

At the start of a stage: trucks are connected at their bays, started, synchronised and
paralleled with the grid (while paralleled they are PQ injections at the output they will carry);
unprotected load in the future truck islands is disconnected; ties are closed before the
sectionalisers open (a short closed-loop transfer); then the works' elements are taken out and
the islands form with the trucks already carrying them. At the end the same in reverse: the
works' elements go back (each island is resynchronised to the grid at that breaker), loads are
restored, sectionalisers closed, ties opened, and the trucks ramp down and disconnect.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pandapower as pp

from planner.checks.stage import StageCheck
from planner.core.plan import Violation
from planner.core.refs import ElementRef, ref_for
from planner.grid.context import StageContext, set_design_loads
from planner.grid.limits import Findings
from planner.grid.powerflow import (
    TruckAt,
    curtail_kept_sgen,
    prepare_island,
    solve_grid,
    solve_island_fast,
)
from planner.grid.topology import build_graph, energised_buses, islands_of
from planner.inputs.case import SgenMode
from planner.inputs.demand import StepGroup

__all__ = ["switching_sequence"]


@dataclass
class _State:
    net: pp.pandapowerNet
    paralleled: dict[str, TruckAt]


def _solve(
    ctx: StageContext,
    state: _State,
    group: StepGroup,
    output: dict[str, tuple[float, float]],
    when: str,
    normal: frozenset[tuple[str, str]] = frozenset(),
) -> dict[str, Any]:
    """Load flow of one intermediate state: grid with paralleled trucks, islands on trucks.

    Limits already broken in the network's normal state at that hour (`normal`: kind and
    element) are not the switching's doing and are not reported against the step.
    """
    net = copy.deepcopy(state.net)
    set_design_loads(net, ctx, group)
    graph = build_graph(net)
    grid = energised_buses(graph)
    findings = Findings(ctx.base_net, ctx.case.limits)
    for truck in state.paralleled.values():
        if truck.bus in grid:
            p_kw, q_kvar = output.get(truck.id, (0.0, 0.0))
            pp.create_sgen(net, truck.bus, p_mw=p_kw / 1000, q_mvar=q_kvar / 1000, name=truck.id)
    sol = solve_grid(net, grid)
    converged = sol.converged
    if converged:
        findings.check(sol, "grid", when)
    live = set(grid)
    unfed = set(ctx.base_energised) - grid
    keep = ctx.case.islanded_sgen == SgenMode.KEEP
    for buses in islands_of(graph, unfed):
        trucks = [t for t in state.paralleled.values() if t.bus in buses]
        if not trucks:
            continue
        sub = prepare_island(net, buses, trucks, ctx.case.fleet.vm_setpoint_pu, keep, set())
        if keep:  # kept generation beyond the island's load at this hour is curtailed
            served = sub.load.in_service.astype(bool)
            curtail_kept_sgen(sub, float((sub.load.p_mw * sub.load.scaling)[served].sum()))
        island_sol = solve_island_fast(sub, trucks)
        converged = converged and island_sol.converged
        if island_sol.converged:
            findings.check(
                island_sol, f"island at {ref_for(ctx.base_net, 'bus', min(buses)).text}", when
            )
            findings.observe_trucks(
                trucks, island_sol.truck_p_kw or {}, island_sol.truck_q_kvar or {}, "", when
            )
        live |= buses
    in_service = net.load.in_service.astype(bool)
    lost = [
        int(i)
        for i in net.load.index[in_service]
        if int(i) in ctx.protected and int(net.load.at[i, "bus"]) not in live
    ]
    unserved_kw = float(net.load.p_mw.loc[lost].sum() * 1000) if lost else 0.0
    violations = [
        v.message for v in findings.sorted_violations() if (v.kind, v.element) not in normal
    ]
    if not converged:
        violations.insert(0, "load flow did not converge")
    if unserved_kw > 0:
        violations.append(f"{unserved_kw:,.0f} kW of protected load without supply")
    f = findings
    return {
        "converged": converged,
        "min_vm_pu": round(f.min_vm.value, 5) if f.min_vm else None,
        "max_vm_pu": round(f.max_vm.value, 5) if f.max_vm else None,
        "max_line_loading_percent": round(f.max_line.value, 2) if f.max_line else 0.0,
        "max_trafo_loading_percent": round(f.max_trafo.value, 2) if f.max_trafo else 0.0,
        "max_truck_loading_percent": round(f.max_truck.value, 2) if f.max_truck else 0.0,
        "unserved_protected_kw": round(unserved_kw, 1),
        "violations": violations,
        "_broken": frozenset((v.kind, v.element) for v in findings.sorted_violations()),
    }


def _toggle(net: pp.pandapowerNet, ref: ElementRef, on: bool) -> None:
    if ref.table == "switch":
        net.switch.at[ref.index, "closed"] = on
    else:
        net[ref.table].at[ref.index, "in_service"] = on


def switching_sequence(ctx: StageContext, check: StageCheck) -> tuple[list[dict], list[Violation]]:
    """The stage's start and end sequences, each step with its load-flow result."""
    stage, setup = ctx.stage, check.setup
    if not setup.trucks and not setup.switching.close and not setup.switching.in_service:
        return [], []
    by_id = {t.id: t for t in setup.trucks}
    bay = {t.id: t.connection_point for t in check.trucks}
    first, last = check.hours[0], check.hours[-1]
    group_at = {t: g for g in ctx.demand.groups for t in g.times}
    truck_loads = set()
    for island in check.islands:
        if island.trucks:
            truck_loads |= {i for i in island.loads if i not in ctx.protected}
    shed = [ref_for(ctx.base_net, "load", i) for i in sorted(truck_loads)]
    ties = [*setup.switching.close, *setup.switching.in_service]
    steps: list[dict] = []
    problems: list[Violation] = []

    normal_state = _State(copy.deepcopy(ctx.base_net), {})
    normal = {
        hour.time: _solve(ctx, normal_state, group_at[hour.time], {}, "")["_broken"]
        for hour in (first, last)
    }

    def record(action: str, element: str, at: str, state: _State, hour, when: str, **extra) -> None:
        output = {t: (hour.truck_kw.get(t, 0.0), hour.truck_kvar.get(t, 0.0)) for t in hour.online}
        result = _solve(ctx, state, group_at[hour.time], output, when, normal[hour.time])
        del result["_broken"]
        step = {
            "step": len(steps) + 1,
            "time": when,
            "action": action,
            "element": element,
            "at": at,
            "checked": True,
            **extra,
            "result": result,
        }
        steps.append(step)
        for text in result["violations"]:
            problems.append(
                Violation(
                    "sequence",
                    f"switching step {step['step']} ({action} {element}) at {when}: {text}",
                    element,
                    time=when,
                )
            )

    when = stage.start.isoformat()
    state = _State(copy.deepcopy(ctx.base_net), {})
    for truck_id in first.online:
        truck = by_id[truck_id]
        record("connect_truck", truck_id, bay[truck_id], state, first, when)
        state.paralleled[truck_id] = truck
        record("parallel_truck", truck_id, bay[truck_id], state, first, when)
    for ref in shed:
        state.net.load.at[ref.index, "in_service"] = False
        record("disconnect_load", ref.text, ref.text, state, first, when)
    for ref in ties:
        _toggle(state.net, ref, True)
        record(
            "close" if ref.table == "switch" else "put_in_service",
            ref.text,
            ref.text,
            state,
            first,
            when,
        )
    for ref in setup.switching.open:
        _toggle(state.net, ref, False)
        record("open", ref.text, ref.text, state, first, when)
    for ref in stage.out_of_service:
        _toggle(state.net, ref, False)
        record("take_out", ref.text, ref.text, state, first, when)

    when = stage.end.isoformat()
    state.paralleled = {t: by_id[t] for t in last.online}

    def switch_back(action: str, ref: ElementRef, on: bool) -> None:
        """Operate `ref`; a truck island that joins the grid here is resynchronised."""
        before = energised_buses(build_graph(state.net))
        _toggle(state.net, ref, on)
        after = energised_buses(build_graph(state.net))
        joined = sorted(
            t.id for t in state.paralleled.values() if t.bus not in before and t.bus in after
        )
        extra = {"synchronise": joined} if joined else {}
        record(action, ref.text, ref.text, state, last, when, **extra)

    for ref in reversed(stage.out_of_service):
        switch_back("put_back", ref, True)
    for ref in reversed(setup.switching.open):
        switch_back("close", ref, True)
    for ref in reversed(ties):
        switch_back("open" if ref.table == "switch" else "take_out_of_service", ref, False)
    for ref in shed:
        state.net.load.at[ref.index, "in_service"] = True
        record("reconnect_load", ref.text, ref.text, state, last, when)
    for truck_id in last.online:
        del state.paralleled[truck_id]
        record("disconnect_truck", truck_id, bay[truck_id], state, last, when)
    return steps, problems
