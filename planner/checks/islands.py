"""A stage set-up's islands, derived from the network state alone (never from what a plan claims).

The switching is applied to the works' network; each bus the grid no longer reaches belongs to an
island that a transfer re-energises, trucks carry, or nobody supplies. Trucks are put in the island
of their bus; a truck on a grid-fed or dead bus and a switching that closes a loop are findings.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import pandapower as pp

from planner.core.plan import Supply, Violation
from planner.core.refs import ref_for
from planner.core.switching import Switching
from planner.grid.context import StageContext
from planner.grid.limits import Findings
from planner.grid.powerflow import TruckAt, curtail_kept_sgen, prepare_island, setpoint_pu
from planner.grid.state import apply_switching
from planner.grid.topology import build_graph, cyclomatic, energised_buses, islands_of
from planner.inputs.case import SgenMode

__all__ = ["Island", "StageSetup", "classify", "truck_island_net"]


@dataclass(frozen=True)
class StageSetup:
    """What a plan decides for one stage."""

    switching: Switching = field(default_factory=Switching)
    trucks: tuple[TruckAt, ...] = ()


@dataclass
class Island:
    id: str
    buses: frozenset[int]
    kind: Supply
    trucks: list[TruckAt] = field(default_factory=list)
    served: list[int] = field(default_factory=list)
    net: pp.pandapowerNet | None = None
    curtailed_kw: float = 0.0


def classify(ctx: StageContext, setup: StageSetup, findings: Findings):
    """The state's graph, grid-fed buses and islands, with each truck put in its island."""
    net = copy.deepcopy(ctx.works_net)
    apply_switching(net, setup.switching)
    graph = build_graph(net)
    grid = energised_buses(graph)
    transferred = grid - ctx.works_energised
    parts = [(b, Supply.TRANSFER) for b in islands_of(graph, transferred)]
    parts += [(b, Supply.NONE) for b in islands_of(graph, ctx.base_energised - grid)]
    parts.sort(key=lambda item: min(item[0]))
    islands = [Island(f"I{k + 1}", buses, kind) for k, (buses, kind) in enumerate(parts)]
    where = {b: isl for isl in islands for b in isl.buses}
    for truck in setup.trucks:
        ref = ref_for(ctx.base_net, "bus", truck.bus).text
        island = where.get(truck.bus)
        if truck.bus in grid:
            message = (
                f"truck {truck.id} at {ref} is on a bus the grid still supplies "
                "(trucks carry islands only)"
            )
            findings.add(Violation("truck_on_grid", message, ref))
        elif island is None or island.kind is Supply.TRANSFER:
            message = f"truck {truck.id} at {ref} is not inside an island cut off by the works"
            findings.add(Violation("truck_dead_bus", message, ref))
        else:
            island.trucks.append(truck)
    if ctx.case.fleet.types:  # largest first: the commitment brings trucks online in order
        for island in islands:
            island.trucks.sort(key=lambda t: (-t.rating_kva, -t.rating_kw))
    energised = set(grid)
    for island in islands:
        if island.trucks:
            island.kind = Supply.TRUCKS
            energised |= island.buses
        loads = ctx.loads_on(island.buses)
        island.served = (
            loads if island.kind is Supply.TRANSFER else [i for i in loads if i in ctx.protected]
        )
    extra_loops = cyclomatic(graph, energised) - cyclomatic(ctx.base_graph, energised)
    if extra_loops > 0:
        message = (
            f"the switching closes {extra_loops} loop(s) that the normal network does not have"
        )
        findings.add(Violation("not_radial", message, value=extra_loops, limit=0))
    return net, grid, islands


def truck_island_net(
    ctx: StageContext, net: pp.pandapowerNet, island: Island, trucks: list[TruckAt]
) -> tuple[pp.pandapowerNet, float]:
    """The island as its own network fed by `trucks`: unprotected loads shed, generation tripped,
    or with `islanded_sgen = "keep"` curtailed to the island's lowest served design load over the
    stage, so that its trucks never absorb active power. Returns the net and the kW curtailed."""
    keep = ctx.case.islanded_sgen == SgenMode.KEEP
    shed = set(ctx.loads_on(island.buses)) - set(island.served)
    vm_pu = setpoint_pu(ctx.case.fleet, trucks)
    sub = prepare_island(net, island.buses, trucks, vm_pu, keep, shed)
    if not keep:
        return sub, 0.0
    lowest_kw = min(ctx.load_kw(island.served, g)[0] for g in ctx.demand.groups)
    return sub, curtail_kept_sgen(sub, lowest_kw / 1000.0)
