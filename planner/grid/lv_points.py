"""Where LV trucks connect: the low-voltage bus of a distribution transformer (`connects = "lv"`).

An LV truck carries one distribution transformer's load: its island is the transformer's LV side,
separated from the MV side by opening the transformer there (its switch at the MV bus, else at the
LV bus, else the transformer itself taken out of service). A distribution transformer is one whose
`vn_lv_kv` is below 1 kV with its LV bus below 1 kV; one LV truck per transformer.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandapower as pp

from planner.core.refs import ElementRef, ref_for

__all__ = ["LV_KV", "LvPoint", "lv_points"]

LV_KV = 1.0  # below this a bus or a transformer's low-voltage side is LV


@dataclass(frozen=True)
class LvPoint:
    """A distribution transformer an LV truck may feed: the LV bus it connects at, the MV bus
    the transformer hangs on, and what the switching opens to separate the two."""

    bus: int
    mv_bus: int
    trafo: int
    opens: ElementRef

    def separated(self, opened: set[tuple[str, int]]) -> bool:
        """Whether the switching opens what separates this transformer."""
        return (self.opens.table, self.opens.index) in opened


def lv_points(net: pp.pandapowerNet) -> dict[int, LvPoint]:
    """Every distribution transformer in service, by its LV bus (the lowest transformer index
    where one LV bus has several)."""
    out: dict[int, LvPoint] = {}
    trafo, bus = net.trafo, net.bus
    for index in sorted(trafo.index):
        row = trafo.loc[index]
        lv, hv = int(row["lv_bus"]), int(row["hv_bus"])
        if not bool(row["in_service"]) or float(row["vn_lv_kv"]) >= LV_KV:
            continue
        if lv in out or float(bus.at[lv, "vn_kv"]) >= LV_KV or float(bus.at[hv, "vn_kv"]) < LV_KV:
            continue
        out[lv] = LvPoint(lv, hv, int(index), _opens(net, int(index), hv, lv))
    return out


def _opens(net: pp.pandapowerNet, trafo: int, hv: int, lv: int) -> ElementRef:
    """The transformer's closed switch at its MV bus, else at its LV bus, else the transformer."""
    sw = net.switch
    if len(sw):
        mine = sw[(sw.et == "t") & (sw.element == trafo) & sw.closed.astype(bool)]
        for side in (hv, lv):
            at = sorted(int(i) for i in mine.index[mine.bus == side])
            if at:
                return ref_for(net, "switch", at[0])
    return ref_for(net, "trafo", trafo)
