"""The rules of LV trucks (`connects = "lv"`): where they connect and what their islands hold.

An LV truck feeds the LV bus of a distribution transformer whose MV side the works cut off
(`planner.grid.lv_points`), one truck per transformer, and carries that transformer's load only:
its island, once the switching opens the transformer, is the transformer's LV side with no bus of
1 kV or more and no other truck. Its load flow, limits and protection are any island's.
"""

from __future__ import annotations

from planner.checks.islands import Island, StageSetup
from planner.core.plan import Violation
from planner.core.refs import ref_for
from planner.grid.context import StageContext
from planner.grid.limits import Findings
from planner.grid.lv_points import LV_KV, lv_points
from planner.grid.powerflow import TruckAt
from planner.inputs.case import Fleet

__all__ = ["check_lv_trucks", "is_lv"]


def is_lv(fleet: Fleet, truck: TruckAt) -> bool:
    """Whether `truck` is of a type that connects at a transformer's LV side."""
    return fleet.machine(truck.id, truck.kind).connects == "lv"


def check_lv_trucks(
    ctx: StageContext, setup: StageSetup, islands: list[Island], f: Findings
) -> None:
    """Each LV truck at a distribution transformer the works cut off, alone on its LV side."""
    fleet, net = ctx.case.fleet, ctx.base_net
    trucks = [t for t in setup.trucks if is_lv(fleet, t)]
    if not trucks:
        return
    points = lv_points(net, ctx.case.switching.device)
    where = {t.id: isl for isl in islands for t in isl.trucks}
    per_bus: dict[int, int] = {}
    for truck in trucks:
        ref = ref_for(net, "bus", truck.bus).text
        point = points.get(truck.bus)
        per_bus[truck.bus] = per_bus.get(truck.bus, 0) + 1
        kind = fleet.machine(truck.id, truck.kind).name
        if point is None:
            message = (
                f"truck {truck.id} (type {kind}, connects at LV) is at {ref}, which is not the "
                f"low-voltage bus of a distribution transformer (LV side below {LV_KV:g} kV)"
                + (
                    ""
                    if len(net.bus.vn_kv) and (net.bus.vn_kv < LV_KV).any()
                    else " nor, the network having no LV bus, a bus with loads fed by one branch"
                )
            )
            f.add(Violation("lv_point", message, ref))
            continue
        fed_from = point.bus if point.lone else point.mv_bus
        if fed_from not in ctx.cut_off:
            mv = ref_for(net, "bus", fed_from).text
            message = (
                f"truck {truck.id} at {ref}: the works do not cut off "
                + (f"{point.what}'s MV side ({mv})" if not point.lone else mv)
                + "; an LV truck carries a transformer the works cut off"
            )
            f.add(Violation("lv_point", message, ref))
        island = where.get(truck.id)
        if island is None:
            continue
        if point.lone:
            beyond = sorted(b for b in island.buses if b != truck.bus)
            what = f"{len(beyond)} bus(es) besides {ref}" if beyond else ""
        else:
            beyond = sorted(b for b in island.buses if float(net.bus.at[b, "vn_kv"]) >= LV_KV)
            what = f"{len(beyond)} bus(es) of {LV_KV:g} kV or more" if beyond else ""
        others = sorted(t.id for t in island.trucks if t.id != truck.id)
        if beyond or others:
            what += (" and " if what and others else "") + (
                f"truck(s) {', '.join(others)}" if others else ""
            )
            message = (
                f"truck {truck.id} at {ref}: its island {island.id} holds {what}; an LV truck "
                f"carries {point.side} alone (open {point.opens.text})"
            )
            f.add(Violation("lv_island", message, ref))
    for bus, count in sorted(per_bus.items()):
        if count > 1 and bus in points:
            ref = ref_for(net, "bus", bus).text
            message = f"{ref}: {count} LV trucks placed, one per transformer"
            f.add(Violation("bays", message, ref, count, 1))
