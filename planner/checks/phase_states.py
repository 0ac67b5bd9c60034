"""Where a switching sequence starts and must arrive: the stage's state (works out, switching
made, unprotected load of truck islands disconnected) and the network's normal state."""

from __future__ import annotations

import pandapower as pp

from planner.checks.findings import StageCheck
from planner.core.plan import Supply
from planner.core.refs import ElementRef, ref_for
from planner.grid.context import StageContext
from planner.grid.powerflow import TruckAt
from planner.grid.state import apply_switching, apply_works, copy_net, is_on

__all__ = ["after_stage", "differences", "shed_loads", "stage_state", "works_stay_out"]


def after_stage(ctx: StageContext) -> pp.pandapowerNet:
    """The network's normal state once the stage is over: its `[stages.after]` changes made."""
    net = copy_net(ctx.base_net)
    for ref, fields in ctx.stage.after:
        for column, value in fields:
            net[ref.table].at[ref.index, column] = value
    return net


def stage_state(
    ctx: StageContext, check: StageCheck, base: pp.pandapowerNet | None = None
) -> pp.pandapowerNet:
    """The network as the stage runs (on `base`, else the network before the stage): works out,
    switching made, unprotected load of truck islands disconnected."""
    net = copy_net(ctx.base_net if base is None else base)
    apply_works(net, ctx.stage)
    apply_switching(net, check.setup.switching)
    net.load.loc[shed_loads(ctx, check), "in_service"] = False
    return net


def shed_loads(ctx: StageContext, check: StageCheck) -> list[int]:
    """The unprotected loads of the stage's truck islands: disconnected while trucks carry them."""
    return [
        load
        for island in check.islands
        if island.supply is Supply.TRUCKS
        for load in island.loads
        if load not in ctx.protected
    ]


def differences(net, target, trucks: dict[str, TruckAt], want: dict[str, TruckAt]) -> list[str]:
    """How a network state and its connected trucks differ from where a phase should end."""
    out = []
    words = {"closed": ("open", "closed"), "in_service": ("out of service", "in service")}
    tables = ("bus", "line", "trafo", "trafo3w", "load", "sgen", "gen", "ext_grid")
    for table, column in (("switch", "closed"), *((t, "in_service") for t in tables)):
        if table not in net or not len(net[table]):
            continue
        have = net[table][column].astype(bool)
        should = target[table][column].astype(bool).reindex(have.index)
        word = words[column] if table != "load" else ("disconnected", "connected")
        for index in have.index[have != should]:
            ref = ref_for(target, table, int(index)).text
            out.append(
                f"{ref} is {word[int(have[index])]}, it should be {word[int(should[index])]}"
            )
    for tid in sorted(set(trucks) ^ set(want)):
        out.append(f"truck {tid} is {'still' if tid in trucks else 'not'} connected")
    return out


def works_stay_out(
    works: tuple[ElementRef, ...], net: pp.pandapowerNet, out: set[tuple[str, int]]
) -> list[str]:
    """Once a works element is out it stays out: no step may put it back or close it. `out`
    collects the works elements taken out so far (a step's net after the one before)."""
    found = []
    for ref in works:
        if not is_on(net, ref):
            out.add((ref.table, ref.index))
        elif (ref.table, ref.index) in out:
            found.append(f"re-energises {ref.text}, which the works have taken out")
            out.discard((ref.table, ref.index))
    return found
