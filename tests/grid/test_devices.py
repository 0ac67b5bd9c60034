"""Switching devices: their type, what a closing joins, the flow an opening breaks."""

from __future__ import annotations

import pandapower as pp
import pytest

from planner.core.refs import ElementRef
from planner.grid.devices import across_kva, device_of, sides_of


@pytest.fixture()
def net() -> pp.pandapowerNet:
    net = pp.create_empty_network()
    hv = pp.create_bus(net, 110.0)
    mv, a, b = (pp.create_bus(net, 20.0) for _ in range(3))
    pp.create_ext_grid(net, hv)
    pp.create_transformer(net, hv, mv, "25 MVA 110/20 kV")  # Yy0... vector group from stdtype
    net.trafo.loc[0, "shift_degree"] = 150.0
    pp.create_line(net, mv, a, 2.0, "NA2XS2Y 1x95 RM/25 12/20 kV")
    pp.create_switch(net, mv, 0, et="l", type="CB")  # 0: feeder breaker
    pp.create_switch(net, a, 0, et="l", type="LS")  # 1: load switch at the far end
    pp.create_switch(net, a, b, et="b", type="DS")  # 2: disconnector, bus to bus
    pp.create_switch(net, hv, 0, et="t", type="")  # 3: unknown type
    pp.create_load(net, b, p_mw=1.0, q_mvar=0.3)
    pp.runpp(net)
    return net


def test_device_types_from_the_network_else_the_case_default(net) -> None:  # type: ignore[no-untyped-def]
    def ref(table: str, index: int) -> ElementRef:
        return ElementRef(table, index, f"{table}:#{index}")

    assert device_of(net, ref("switch", 0), "LBS") == "CB"
    assert device_of(net, ref("switch", 1), "CB") == "LBS"  # "LS" is a load-break switch
    assert device_of(net, ref("switch", 2), "CB") == "DS"
    assert device_of(net, ref("switch", 3), "DS") == "DS"  # empty type: the case's default
    assert device_of(net, ref("line", 0), "DS") == "CB"  # the best switch at its ends
    assert device_of(net, ref("load", 0), "LBS") == "LBS"


def test_a_closing_through_a_transformer_expects_its_vector_group_shift(net) -> None:  # type: ignore[no-untyped-def]
    assert sides_of(net, ElementRef("trafo", 0, "")) == (0, 1, 150.0)
    assert sides_of(net, ElementRef("switch", 3, "")) == (0, 1, 150.0)  # at the HV end
    assert sides_of(net, ElementRef("switch", 0, "")) == (1, 2, 0.0)
    assert sides_of(net, ElementRef("switch", 2, "")) == (2, 3, 0.0)
    assert sides_of(net, ElementRef("load", 0, "")) is None


def test_the_flow_an_opening_breaks(net) -> None:  # type: ignore[no-untyped-def]
    kw, kva = across_kva(net, ElementRef("switch", 0, "")) or (0.0, 0.0)
    assert kw == pytest.approx(1000.0 + net.res_line.pl_mw.iloc[0] * 1000.0, rel=1e-6)
    assert kva > kw
    kw, kva = across_kva(net, ElementRef("load", 0, "")) or (0.0, 0.0)
    assert (kw, kva) == pytest.approx((1000.0, 1044.03), abs=0.01)
    # a fused bus-bus switch: pandapower does not know the flow through it
    assert across_kva(net, ElementRef("switch", 2, "")) is None
