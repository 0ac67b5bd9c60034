"""Switching devices: what type operates an element, which buses it joins, what flows through it.

A switch's type comes from the network's `switch.type` column (pandapower's "CB", "LBS", "LS",
"DS"; "LS" is a load-break switch); a line or transformer is operated by the best switch at its
ends, and anything else (or a switch of unknown type) by the case's `[switching] device`.
"""

from __future__ import annotations

import math
from typing import Protocol

import pandapower as pp

from planner.core.refs import ElementRef
from planner.grid.topology import build_graph, islands_of

__all__ = [
    "CAN_BREAK",
    "RANK",
    "Flows",
    "ResultFlows",
    "across_kva",
    "dead_section_has_load",
    "device_of",
    "reading_bus",
    "sides_of",
]

_TYPES = {"CB": "CB", "LBS": "LBS", "LS": "LBS", "DS": "DS"}
RANK = {"CB": 3, "LBS": 2, "DS": 1}
CAN_BREAK = ("CB", "LBS")  # a disconnector never makes or breaks load
_ET_TABLE = {"l": "line", "t": "trafo", "t3": "trafo3w"}


def _switch_type(net: pp.pandapowerNet, index: int, default: str) -> str:
    raw = net.switch.at[index, "type"] if "type" in net.switch.columns else None
    return _TYPES.get(str(raw).strip().upper(), default) if isinstance(raw, str) else default


def device_of(net: pp.pandapowerNet, ref: ElementRef, default: str) -> str:
    """The type of device that operates `ref`: "CB", "LBS" or "DS"."""
    if ref.table == "switch":
        return _switch_type(net, ref.index, default)
    et = {"line": "l", "trafo": "t", "trafo3w": "t3"}.get(ref.table)
    if et is None:
        return default
    sw = net.switch
    at_ends = sw.index[(sw.et == et) & (sw.element == ref.index)]
    types = [_switch_type(net, int(i), default) for i in at_ends]
    return max(types, key=RANK.__getitem__) if types else default


def sides_of(net: pp.pandapowerNet, ref: ElementRef) -> tuple[int, int, float] | None:
    """The two buses a closing of `ref` joins (for a branch switch, its bus and the branch's
    other end) and the angle the second lags the first by at no load (a transformer's vector
    group shift), or None for an element that joins nothing."""
    if ref.table == "switch":
        row = net.switch.loc[ref.index]
        bus, element, et = int(row["bus"]), int(row["element"]), str(row["et"])
        if et == "b":
            return bus, element, 0.0
        table = _ET_TABLE.get(et)
        if table is None or element not in net[table].index:
            return None
        branch = ElementRef(table, element, "")
        ends = _ends(net, branch)
        other = [b for b in ends if b != bus]
        if not other:
            return None
        shift = _shift(net, branch)
        return bus, other[0], (shift if bus == ends[0] else -shift)
    if ref.table not in ("line", "trafo", "trafo3w"):
        return None
    ends = _ends(net, ref)
    return (ends[0], ends[1], _shift(net, ref)) if len(ends) >= 2 else None


def _shift(net: pp.pandapowerNet, ref: ElementRef) -> float:
    """The phase shift (degrees) a transformer puts between its HV and LV side."""
    if ref.table != "trafo" or "shift_degree" not in net.trafo.columns:
        return 0.0
    value = float(net.trafo.at[ref.index, "shift_degree"])
    return value if math.isfinite(value) else 0.0


def _ends(net: pp.pandapowerNet, ref: ElementRef) -> list[int]:
    row = net[ref.table].loc[ref.index]
    columns = {
        "line": ("from_bus", "to_bus"),
        "trafo": ("hv_bus", "lv_bus"),
        "trafo3w": ("hv_bus", "mv_bus", "lv_bus"),
    }.get(ref.table, ())
    return [int(row[c]) for c in columns]


class Flows(Protocol):
    """Where `across_kva` reads flows (MW, Mvar): pandapower's result tables (`ResultFlows`) or
    a solution they can be derived from (`planner.grid.branch_flow.EngineFlows`)."""

    def end_flow(self, table: str, index: int, bus: int) -> tuple[float, float]: ...

    def load_flow(self, index: int) -> tuple[float, float]: ...

    def switch_flow(self, index: int) -> tuple[float, float] | None: ...


def across_kva(
    net: pp.pandapowerNet, ref: ElementRef, flows: Flows | None = None
) -> tuple[float, float] | None:
    """(kW, kVA) flowing through `ref` in `net`'s last load flow (or as `flows` tells it); None
    where the flow through it is not known (a bus-bus switch that the load flow merged)."""
    read = flows if flows is not None else ResultFlows(net)
    if ref.table == "switch":
        row = net.switch.loc[ref.index]
        et, element, bus = str(row["et"]), int(row["element"]), int(row["bus"])
        table = _ET_TABLE.get(et)
        if table is None:
            flow = read.switch_flow(ref.index)
            if flow is None:
                return None
            p, q = flow
        else:
            p, q = read.end_flow(table, element, bus)
    elif ref.table == "load":
        if not bool(net.load.at[ref.index, "in_service"]):
            return 0.0, 0.0
        p, q = read.load_flow(ref.index)
    else:
        ends = _ends(net, ref)
        flows_at = [read.end_flow(ref.table, ref.index, b) for b in ends[:2]]
        p, q = max(flows_at, key=lambda f: math.hypot(*f))
    if not (math.isfinite(p) and math.isfinite(q)):
        return 0.0, 0.0
    return abs(p) * 1000.0, math.hypot(p, q) * 1000.0


class ResultFlows:
    """Flows as pandapower's last load flow of `net` left them in its result tables."""

    def __init__(self, net: pp.pandapowerNet) -> None:
        self.net = net

    def end_flow(self, table: str, index: int, bus: int) -> tuple[float, float]:
        """P and Q (MW, Mvar) into a branch at its end at `bus`."""
        net = self.net
        res = net.get(f"res_{table}")
        if res is None or index not in res.index:
            return 0.0, 0.0
        row = net[table].loc[index]
        if table == "line":
            end = "from" if int(row["from_bus"]) == bus else "to"
        elif table == "trafo":
            end = "hv" if int(row["hv_bus"]) == bus else "lv"
        else:
            end = next((e for e in ("hv", "mv", "lv") if int(row[f"{e}_bus"]) == bus), "hv")
        return float(res.at[index, f"p_{end}_mw"]), float(res.at[index, f"q_{end}_mvar"])

    def load_flow(self, index: int) -> tuple[float, float]:
        res = self.net.res_load
        if index not in res.index:
            return 0.0, 0.0
        return float(res.at[index, "p_mw"]), float(res.at[index, "q_mvar"])

    def switch_flow(self, index: int) -> tuple[float, float] | None:
        """A bus-bus switch's P and Q at its bus; None where pandapower gives none (fused)."""
        res = self.net.get("res_switch")
        if res is None or index not in res.index or "p_from_mw" not in res.columns:
            return None
        p = float(res.at[index, "p_from_mw"])
        q = float(res.at[index, "q_from_mvar"]) if "q_from_mvar" in res.columns else 0.0
        if not (math.isfinite(p) and math.isfinite(q)):
            return None  # a fused zero-impedance switch: the flow through it is not known
        return p, q


def reading_bus(net: pp.pandapowerNet, ref: ElementRef) -> int | None:
    """The bus a crew reads the voltage at after operating `ref`: a switch's or load's bus, a
    line's from end, a transformer's high-voltage side."""
    table = net.get(ref.table, None)
    column = {"line": "from_bus", "trafo": "hv_bus", "trafo3w": "hv_bus"}.get(ref.table, "bus")
    if table is None or ref.index not in table.index or column not in table.columns:
        return None
    return int(table.at[ref.index, column])


def dead_section_has_load(net: pp.pandapowerNet, bus: int, fed: set[int]) -> bool:
    """Does the dead section (buses not in `fed`) that closing onto `bus` would energise hold load
    in service? No graph is built when no dead bus holds any."""
    load = net.load
    on = load.in_service.to_numpy(bool) & ~load.bus.isin(list(fed)).to_numpy()
    if not on.any():
        return False
    dead = set(net.bus.index.tolist()) - fed
    section = next((c for c in islands_of(build_graph(net), dead) if bus in c), frozenset({bus}))
    return bool((on & load.bus.isin(list(section)).to_numpy()).any())
