"""Where LV trucks connect: the low-voltage bus of a distribution transformer (`connects = "lv"`).

An LV truck carries one distribution transformer's load: its island is the transformer's LV side,
separated from the MV side by opening the transformer there: its best closed switch at the MV bus,
else at the LV bus, else the transformer itself taken out of service. A distribution transformer is
one whose `vn_lv_kv` is below 1 kV with its LV bus below 1 kV; one LV truck per transformer.

The best switch is one that can break load (a breaker, then a load-break switch, by the effective
type `planner.grid.devices.device_of` gives: the network's `switch.type`, else `[switching]
device`), at the MV side before the LV side, the lowest index among equals; a disconnector only
where the transformer has no other switch, since opening one under load is a break the plan must
report (a DS on the MV side and a CB on the LV side: the CB is opened).

On a network with no bus below 1 kV (MV-only: a load at an MV bus stands for the transformer and
LV network behind it), an LV truck may carry the loads at one MV bus fed by a single branch (an
end of a feeder or lateral): the bus is separated by opening that branch, at its switch on the
bus (the RMU's bay), else at its other end, else the branch taken out of service; the island is
that bus alone. A bus in the middle of a feeder cannot be separated without cutting off the buses
beyond it, so it is no LV point.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pandapower as pp

from planner.core.refs import ElementRef, ref_for
from planner.grid.devices import CAN_BREAK, RANK, device_of

__all__ = ["LV_KV", "LvPoint", "lv_points"]

LV_KV = 1.0  # below this a bus or a transformer's low-voltage side is LV


@dataclass(frozen=True)
class LvPoint:
    """A distribution transformer an LV truck may feed: the LV bus it connects at, the MV bus
    the transformer hangs on, what the truck takes over (the transformer, or on an MV-only
    network the loads at the bus) and what the switching opens to separate it. `lone`: an
    MV-only network's bus, whose island is the bus alone."""

    bus: int
    mv_bus: int
    what: str
    opens: ElementRef
    lone: bool = False

    @property
    def side(self) -> str:
        """What the LV truck's island is, for messages."""
        return f"{self.what}'s LV side" if not self.lone else self.what


def lv_points(net: pp.pandapowerNet, device: str = "LBS") -> dict[int, LvPoint]:
    """Every LV point of `net` by the bus an LV truck feeds: its distribution transformers in
    service (the lowest index where one LV bus has several), or on an MV-only network its
    singly fed buses with loads. `device`: the case's `[switching] device`, the type of a
    switch whose `type` the network leaves empty or unknown."""
    if not (net.bus.vn_kv < LV_KV).any():
        return _mv_only(net, device)
    out: dict[int, LvPoint] = {}
    trafo, bus = net.trafo, net.bus
    for index in sorted(trafo.index):
        row = trafo.loc[index]
        lv, hv = int(row["lv_bus"]), int(row["hv_bus"])
        if not bool(row["in_service"]) or float(row["vn_lv_kv"]) >= LV_KV:
            continue
        if lv in out or float(bus.at[lv, "vn_kv"]) >= LV_KV or float(bus.at[hv, "vn_kv"]) < LV_KV:
            continue
        what = ref_for(net, "trafo", int(index)).text
        out[lv] = LvPoint(lv, hv, what, _opens(net, "t", "trafo", int(index), (hv, lv), device))
    return out


def _mv_only(net: pp.pandapowerNet, device: str) -> dict[int, LvPoint]:
    """The buses with loads in service fed by one branch (line or transformer), no source."""
    lines = net.line[net.line.in_service.astype(bool)]
    trafos = net.trafo[net.trafo.in_service.astype(bool)]
    ends = Counter([*lines.from_bus, *lines.to_bus, *trafos.hv_bus, *trafos.lv_bus])
    sources = {int(b) for t in ("ext_grid", "gen") if t in net for b in net[t].bus}
    loaded = {int(b) for b in net.load.bus[net.load.in_service.astype(bool)]}
    out: dict[int, LvPoint] = {}
    for b in sorted(loaded - sources):
        if ends[b] != 1:
            continue
        what = f"the loads at {ref_for(net, 'bus', b).text}"
        at_line = lines.index[(lines.from_bus == b) | (lines.to_bus == b)]
        if len(at_line):
            i = int(at_line[0])
            other = int(lines.at[i, "to_bus" if lines.at[i, "from_bus"] == b else "from_bus"])
            opens = _opens(net, "l", "line", i, (b, other), device)
            out[b] = LvPoint(b, other, what, opens, lone=True)
            continue
        i = int(trafos.index[(trafos.hv_bus == b) | (trafos.lv_bus == b)][0])
        other = int(trafos.at[i, "lv_bus" if trafos.at[i, "hv_bus"] == b else "hv_bus"])
        opens = _opens(net, "t", "trafo", i, (b, other), device)
        out[b] = LvPoint(b, other, what, opens, lone=True)
    return out


def _opens(
    net: pp.pandapowerNet, et: str, table: str, index: int, sides: tuple[int, int], device: str
) -> ElementRef:
    """The branch's best closed switch (a breaker, then a load-break switch, at its first side
    before its second, the lowest index among equals; a disconnector only when it has nothing
    else), else the branch itself."""
    sw = net.switch
    if not len(sw):
        return ref_for(net, table, index)
    mine = sw[(sw.et == et) & (sw.element == index) & sw.closed.astype(bool)]
    ranked: list[tuple[bool, int, int, int]] = []
    for side, bus in enumerate(sides):
        for i in (int(i) for i in mine.index[mine.bus == bus]):
            kind = device_of(net, ref_for(net, "switch", i), device)
            ranked.append((kind not in CAN_BREAK, side, -RANK.get(kind, 0), i))
    return ref_for(net, "switch", min(ranked)[3]) if ranked else ref_for(net, table, index)
