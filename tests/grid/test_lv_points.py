"""Which switch an LV point opens (`planner.grid.lv_points`): the transformer's best closed switch,
a breaker before a load-break switch, the MV side before the LV side, the lowest index among
equals, a disconnector only when the transformer has no other switch, else the transformer."""

from __future__ import annotations

import pandapower as pp
import pytest

from planner.grid.lv_points import lv_points

MV, LV = 1, 2  # the transformer's MV and LV buses

# switches on the transformer in index order: (bus, type, closed); None: no `type` given
CASES = [
    (
        "a CB of higher index beats a DS at the MV side",
        [(MV, "DS", True), (MV, "CB", True)],
        "LBS",
        "switch:#1",
    ),
    ("a CB beats an LBS at the MV side", [(MV, "LBS", True), (MV, "CB", True)], "LBS", "switch:#1"),
    (
        "LS is a load-break switch, the lower index of two",
        [(MV, "LS", True), (MV, "LBS", True)],
        "LBS",
        "switch:#0",
    ),
    ("the MV side before the LV side", [(LV, "CB", True), (MV, "LBS", True)], "LBS", "switch:#1"),
    (
        "a CB at the LV side beats a DS at the MV side",
        [(MV, "DS", True), (LV, "CB", True)],
        "LBS",
        "switch:#1",
    ),
    ("a DS when there is nothing else", [(LV, "DS", True), (MV, "DS", True)], "LBS", "switch:#1"),
    ("an open CB is no candidate", [(MV, "DS", True), (MV, "CB", False)], "LBS", "switch:#0"),
    ("no type: [switching] device", [(MV, None, True), (MV, "LBS", True)], "CB", "switch:#0"),
    ("no type, device DS: the typed LBS", [(MV, None, True), (MV, "LBS", True)], "DS", "switch:#1"),
    ("no switch: the transformer", [], "LBS", "trafo:T1"),
    ("only open switches: the transformer", [(MV, "CB", False)], "LBS", "trafo:T1"),
]


def _net(switches: list[tuple[int, str | None, bool]]) -> pp.pandapowerNet:
    net = pp.create_empty_network()
    grid = pp.create_bus(net, 10.0)
    mv = pp.create_bus(net, 10.0)
    lv = pp.create_bus(net, 0.4)
    assert (mv, lv) == (MV, LV)
    pp.create_ext_grid(net, grid)
    pp.create_line(net, grid, mv, 1.0, "NA2XS2Y 1x95 RM/25 12/20 kV")
    pp.create_transformer(net, mv, lv, "0.4 MVA 10/0.4 kV", name="T1")
    pp.create_load(net, lv, 0.1)
    for bus, kind, closed in switches:
        pp.create_switch(net, bus, 0, et="t", closed=closed, type=kind)
    return net


@pytest.mark.parametrize(
    ("switches", "device", "opens"),
    [pytest.param(s, d, o, id=name) for name, s, d, o in CASES],
)
def test_the_lv_point_opens_the_best_switch(
    switches: list[tuple[int, str | None, bool]], device: str, opens: str
) -> None:
    (point,) = lv_points(_net(switches), device).values()
    assert (point.bus, point.mv_bus, point.opens.text) == (LV, MV, opens)
