"""Where a crew finds a device, and which switches operate and isolate an element.

Places are named from the network: an RMU (marked, or a connection point), a substation (a
transformer or ext_grid on the bus) or a plain bus; a switch is placed at its bus, in the bay of
its line or transformer, or as a coupler. Which switches isolate a line or transformer: a crew
opens every end, not just one.

A works element taken out of service in the plan is dead at all its ends. On the sheet the best
device at its ends (a breaker before a load-break switch before a disconnector) breaks the load,
and the switches at its other ends isolate it; an end with no switch is named, so the crew
isolates and earths it by local rules.
"""

from __future__ import annotations

import pandapower as pp

from planner.core.refs import ElementRef, ref_for, resolve_ref
from planner.grid.devices import RANK, device_of
from planner.inputs.case import Case

__all__ = ["Ends", "device_at", "ends_of", "name_of", "place_of", "switch_place"]

_BAY_OF = {"l": ("line", "bay to line"), "t": ("trafo", "bay of transformer")}
_ET = {"line": "l", "trafo": "t", "trafo3w": "t3"}
_END_COLUMNS = {
    "line": ("from_bus", "to_bus"),
    "trafo": ("hv_bus", "lv_bus"),
    "trafo3w": ("hv_bus", "mv_bus", "lv_bus"),
}


class Ends:
    """The switches at an element's ends, best first, and the end buses without one."""

    def __init__(self, switches: list[int], bare: list[int]) -> None:
        self.switches = switches
        self.bare = bare


def ends_of(net: pp.pandapowerNet, ref: ElementRef, default: str) -> Ends | None:
    """The ends of a line or transformer; None for any other element."""
    if ref.table not in _ET or ref.index not in net[ref.table].index:
        return None
    sw = net.switch
    at = [int(i) for i in sw.index[(sw.et == _ET[ref.table]) & (sw.element == ref.index)]]
    at.sort(key=lambda i: (-RANK[device_of(net, ref_for(net, "switch", i), default)], i))
    switched = {int(sw.at[i, "bus"]) for i in at}
    buses = [int(net[ref.table].at[ref.index, c]) for c in _END_COLUMNS[ref.table]]
    return Ends(at, [b for b in buses if b not in switched])


def name_of(net: pp.pandapowerNet, table: str, index: int) -> str:
    name = net[table].at[index, "name"] if "name" in net[table].columns else None
    return name if isinstance(name, str) and name.strip() else f"#{index}"


def place_of(net: pp.pandapowerNet, bus: int, points: frozenset[int]) -> str:
    """Where a bus is for a crew: "RMU <name>" for a bus marked `rmu` or a connection point,
    "substation <name>" for a bus with a transformer or an ext_grid, else "bus <name>"."""
    name = name_of(net, "bus", bus)
    if name.startswith("#"):
        name = f"bus {name}"
    marked = "rmu" in net.bus.columns and net.bus.at[bus, "rmu"] in (True, 1)
    if marked or bus in points:
        kind = "RMU"
    elif bus in set(net.trafo.hv_bus) | set(net.trafo.lv_bus) or bus in set(net.ext_grid.bus):
        kind = "substation"
    else:
        kind = "bus"
    if name.lower().startswith(kind.lower()):
        return name
    return f"{kind} at {name}" if name.startswith("bus #") else f"{kind} {name}"


def switch_place(net: pp.pandapowerNet, index: int, points: frozenset[int]) -> str:
    sw = net.switch.loc[index]
    where = place_of(net, int(sw.bus), points)
    if sw.et in _BAY_OF:
        table, bay = _BAY_OF[sw.et]
        return f"{where}, {bay} {name_of(net, table, int(sw.element))}"
    if sw.et == "b":
        return f"{where}, coupler to {place_of(net, int(sw.element), points)}"
    return where


def device_at(net: pp.pandapowerNet, text: str, case: Case) -> tuple[str, str, str]:
    """The device that operates a plan step's element: name, type and location."""
    points = frozenset(p.bus.index for p in case.connection_points)
    default = case.switching.device
    ref = resolve_ref(net, text)
    if isinstance(ref, str):
        return text, default, ""
    kind = device_of(net, ref, default)
    if ref.table == "switch":
        return name_of(net, "switch", ref.index), kind, switch_place(net, ref.index, points)
    if ref.table == "load":
        bus = int(net.load.at[ref.index, "bus"])
        return f"load {name_of(net, 'load', ref.index)}", kind, place_of(net, bus, points)
    at = ends_of(net, ref, default)
    if at is not None and at.switches:  # the best switch at its ends breaks it
        best = at.switches[0]
        return name_of(net, "switch", best), kind, switch_place(net, best, points)
    if ref.table == "line":
        ends = [int(net.line.at[ref.index, c]) for c in ("from_bus", "to_bus")]
    elif ref.table == "trafo":
        ends = [int(net.trafo.at[ref.index, c]) for c in ("hv_bus", "lv_bus")]
    else:
        return f"{ref.table} {name_of(net, ref.table, ref.index)}", kind, ""
    where = " and ".join(place_of(net, b, points) for b in ends)
    return f"{ref.table} {name_of(net, ref.table, ref.index)}", kind, f"between {where}"
