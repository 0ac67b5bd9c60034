"""The operations a switch set may take in a stage: which ties to close, which switches to open.

Closes: the ties the case allows that reach the cut-off area, or a bus one branch or bus
coupler from the far end of such a tie (a neighbouring substation's coupler). Opens: closed
switches in the cut-off area, or at a bus within one branch of such a far end (incomers,
feeder breakers, couplers). Read from the element tables in one pass (no DataFrame row per
switch): networks of thousands of switches stay fast.
"""

from __future__ import annotations

import pandapower as pp

from planner.core.refs import ElementRef
from planner.grid.context import StageContext

__all__ = ["operations_for"]


class _Ends:
    """The buses at each switch (its bus and what it switches), each line and each trafo."""

    def __init__(self, net: pp.pandapowerNet) -> None:
        line, trafo = net.line, net.trafo
        self.line = {
            int(i): {a, b}
            for i, a, b in zip(
                line.index, line.from_bus.astype(int), line.to_bus.astype(int), strict=True
            )
        }
        trafos = {
            int(i): {a, b}
            for i, a, b in zip(
                trafo.index, trafo.hv_bus.astype(int), trafo.lv_bus.astype(int), strict=True
            )
        }
        sw = net.switch
        self.switch: dict[int, set[int]] = {}
        self.bus_bus: list[set[int]] = []
        for i, et, bus, element in zip(
            sw.index, sw.et.astype(str), sw.bus.astype(int), sw.element.astype(int), strict=True
        ):
            ends = {bus}
            if et == "b":
                ends.add(element)
                self.bus_bus.append(ends)
            elif et == "l":
                ends |= self.line.get(element, set())
            elif et == "t":
                ends |= trafos.get(element, set())
            self.switch[int(i)] = ends
        self.trafo = list(trafos.values())

    def of(self, ref: ElementRef) -> set[int]:
        return self.switch[ref.index] if ref.table == "switch" else self.line[ref.index]

    def neighbours(self, buses: set[int]) -> set[int]:
        """`buses` and the buses one branch or bus coupler away from them."""
        out = set(buses)
        for ends in (*self.line.values(), *self.trafo, *self.bus_bus):
            if ends & buses:
                out |= ends
        return out


def _switch_refs(net: pp.pandapowerNet, indices: list[int]) -> list[ElementRef]:
    """`ref_for` of many switches at once: by unique name, else by index."""
    names = net.switch["name"] if "name" in net.switch.columns else None
    counts = names.value_counts() if names is not None else None
    out = []
    for i in indices:
        name = names.at[i] if names is not None else None
        unique = isinstance(name, str) and name and counts is not None and counts[name] == 1
        out.append(ElementRef("switch", int(i), f"switch:{name}" if unique else f"switch:#{i}"))
    return out


def operations_for(
    ctx: StageContext, ties: list[ElementRef]
) -> tuple[list[ElementRef], list[ElementRef]]:
    """The closes (ties reaching the cut-off area or a neighbour of such a tie's far end) and
    the opens (closed switches in the cut-off area or within one branch of a tie's far end)."""
    net, cut = ctx.works_net, set(ctx.cut_off)
    ends = _Ends(net)
    touching = [t for t in ties if ends.of(t) & cut]
    far = set().union(*(ends.of(t) for t in touching)) - cut if touching else set()
    near = ends.neighbours(far) if far else set()
    closes = [t for t in ties if ends.of(t) & (cut | near)]
    sw = net.switch
    chosen = [
        int(i)
        for i, bus, closed in zip(sw.index, sw.bus.astype(int), sw.closed.astype(bool), strict=True)
        if closed and (bus in cut | near or ends.switch[int(i)] <= cut)
    ]
    return closes, _switch_refs(ctx.base_net, chosen)
