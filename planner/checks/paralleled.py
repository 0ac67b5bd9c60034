"""How a truck paralleled with the grid is controlled while it is, and the voltage it matched.

A truck closes onto a live bus only when its voltage matches the bus's, so at that moment it
carries no current; then it is ramped to its share of the island it is to carry (or carried).
Its regulators run in one of three settings the crew chooses for the whole phase, tried in
this order (the first with which every step holds stands, else the one with fewest problems):

- "setpoint": once synchronised, the crew moves the truck's voltage regulator to the fleet's
  setpoint (`vm_setpoint_pu`, as the island will run) and the truck holds its bus there with
  the reactive power its kVA leaves (beyond that its voltage floats).
- "power_factor": the truck carries its share of the island's P and Q; the grid holds the
  voltage (what paralleling controllers do by default). The island's feed from the grid falls
  to nothing before the grid's breaker opens it.
- "voltage": the truck holds the voltage it synchronised at, with the reactive power its kVA
  leaves: it pulls the bus nowhere when it closes and resists what later steps do to it.

A truck island joined to the grid through a synchronising breaker holds what its bus had,
moved by the setpoint change that matched the two sides (`match_voltage`). A truck that leaves
the grid (islanded, disconnected) forgets its voltage: its next synchronisation sets it again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandapower as pp

from planner.grid.context import StageContext, set_design_loads
from planner.grid.limits import Findings
from planner.grid.powerflow import TruckAt, run, setpoint_pu, solve_island
from planner.grid.state import copy_net
from planner.inputs.demand import StepGroup

if TYPE_CHECKING:
    from planner.checks.solved_state import SolvedState

__all__ = [
    "CONTROLS",
    "Paralleled",
    "Power",
    "match_voltage",
    "on_grid",
    "paralleled_run",
    "ramped",
]

CONTROLS = ("setpoint", "power_factor", "voltage")
Power = tuple[float, float]  # kW, kvar


def ramped(truck: TruckAt, output: dict[str, Power]) -> Power:
    """A paralleled truck's (kW, kvar) from its ramped `output`, within its rating and kVA."""
    p_kw, q_kvar = output.get(truck.id, (0.0, 0.0))
    p_kw = min(max(p_kw, 0.0), truck.rating_kw)
    q_max = math.sqrt(max(truck.rating_kva**2 - p_kw**2, 0.0))
    return p_kw, min(max(q_kvar, -q_max), q_max)


@dataclass
class Paralleled:
    """The phase's `control` and each paralleled truck's held voltage (pu, by truck id), with
    the state before the step being solved: its bus voltages and sources, and how far the step
    moved a joined island's setpoint (`shift_pu`)."""

    control: str = "setpoint"
    pu: dict[str, float] = field(default_factory=dict)
    before_vm: dict[int, float] = field(default_factory=dict)
    before_source: dict[int, str] = field(default_factory=dict)
    shift_pu: float = 0.0

    def held(self, paralleled: Iterable[TruckAt], setpoint_pu: float) -> dict[str, float] | None:
        """The voltage each of `paralleled` holds, or None when they run at a power factor."""
        if self.control == "power_factor":
            return None
        if self.control == "setpoint":
            return {t.id: setpoint_pu for t in paralleled}
        return self.settle(paralleled, setpoint_pu)

    def before(self, vm: dict[int, float], source: dict[int, str], shift_pu: float = 0.0) -> None:
        """The state the next step starts from."""
        self.before_vm, self.before_source, self.shift_pu = vm, source, shift_pu

    def settle(self, paralleled: Iterable[TruckAt], default_pu: float) -> dict[str, float]:
        """The voltage each of `paralleled` holds: kept from its synchronisation, else its bus's
        voltage before this step (its island's, moved by `shift_pu`), else `default_pu`; trucks
        at one bus hold one voltage. Trucks no longer paralleled are forgotten."""
        trucks = list(paralleled)
        ids = {t.id for t in trucks}
        self.pu = {tid: vm for tid, vm in self.pu.items() if tid in ids}
        at_bus: dict[int, float] = {}
        for truck in trucks:
            if truck.id in self.pu:
                at_bus.setdefault(truck.bus, self.pu[truck.id])
        for truck in trucks:
            if truck.id not in self.pu:
                vm = self.before_vm.get(truck.bus)
                if vm is None:
                    vm = default_pu
                elif self.before_source.get(truck.bus, "").startswith("island"):
                    vm += self.shift_pu
                self.pu[truck.id] = at_bus.setdefault(truck.bus, vm)
        return {t.id: at_bus[t.bus] for t in trucks}


def paralleled_run(
    ctx: StageContext,
    net: pp.pandapowerNet,
    group: StepGroup,
    paralleled: list[TruckAt],
    output: dict[str, Power],
    held: dict[str, float] | None,
) -> tuple[pp.pandapowerNet, bool]:
    """pandapower's run of the grid-fed part of `net` (a copy) at the design load `group`, the
    trucks paralleled at their ramped `output`: static generators at its P and Q, or with
    `held` voltages generators holding them within the reactive power their kVA leaves."""
    one = copy_net(net, "gen", "sgen")
    set_design_loads(one, ctx, group)
    for truck in paralleled:
        p_kw, q_kvar = ramped(truck, output)
        if held is None:
            pp.create_sgen(one, truck.bus, p_kw / 1000.0, q_kvar / 1000.0, name=truck.id)
            continue
        q_max = math.sqrt(max(truck.rating_kva**2 - p_kw**2, 0.0)) / 1000.0
        pp.create_gen(
            one, truck.bus, p_mw=p_kw / 1000.0, vm_pu=held[truck.id],
            max_q_mvar=q_max, min_q_mvar=-q_max, name=truck.id,
        )  # fmt: skip
    return one, not run(one, enforce_q_lims=held is not None)


def match_voltage(
    ctx: StageContext, a: int, b: int, before: SolvedState, trucks: dict[str, TruckAt]
) -> tuple[float, float | None, float, list[str]]:
    """Before a truck island is joined to another system its trucks' voltage setpoint is
    moved (within the case's voltage band) so that the two sides match; the island is
    solved again at that setpoint. Returns the remaining dV %, the setpoint, how far it moved
    from the island's own (its slack's type's) and problems."""
    dv = abs(before.vm[a] - before.vm[b]) * 100.0
    side, other = (a, b) if before.source[a].startswith("island") else (b, a)
    if not before.source[side].startswith("island"):
        return dv, None, 0.0, []
    limits = ctx.case.limits
    sub = before.net_of(side)
    carried = [t for t in trucks.values() if sub is not None and t.bus in sub.bus.index]
    held = setpoint_pu(ctx.case.fleet, carried)  # its slack's type's (the fleet's: one type)
    wanted = held + before.vm[other] - before.vm[side]
    setpoint = min(max(wanted, limits.vm_min_pu), limits.vm_max_pu)
    if sub is None or not carried or abs(setpoint - held) < 1e-4:
        return dv, None, 0.0, []
    sub = copy_net(sub)
    sub.ext_grid["vm_pu"] = setpoint
    sol = solve_island(sub, carried)
    if not sol.converged or side not in sol.vm_pu:
        problem = f"the island does not solve at a setpoint of {setpoint:.3f} pu"
        return dv, setpoint, setpoint - held, [problem]
    findings = Findings(ctx.base_net, ctx.case.limits, namer=ctx.namer)
    findings.check(sol, "island, voltage matched", "")
    problems = [f"with the trucks at {setpoint:.3f} pu to match: {v.message}"
                for v in findings.sorted_violations()]  # fmt: skip
    return abs(before.vm[other] - sol.vm_pu[side]) * 100.0, setpoint, setpoint - held, problems


def on_grid(state: SolvedState, trucks: dict[str, TruckAt]) -> bool:
    """Whether a truck of `trucks` runs paralleled with the grid in `state`: the only states the
    paralleled trucks' control changes (a truck island runs at the fleet's setpoint whatever
    the control; see `planner.checks.step_state.solve_states`). A state that did not converge
    counts as one (where its buses are fed from is then not all recorded)."""
    if not state.converged:
        return True
    return any(state.source.get(t.bus) == "grid" for t in trucks.values())
