"""The stage drawing: labels, collapsed feeders on a 5,000-bus net, geodata, chart ticks."""

from __future__ import annotations

import json
import re

import pandapower as pp
import pytest

from planner.core.plan import IslandPlan, StagePlan, Supply, TruckPlan, Verification
from planner.core.refs import ElementRef
from planner.core.switching import Switching
from planner.outputs.charts import line_chart, nice_ticks
from planner.outputs.drawing import network_svg
from planner.outputs.labels import Label, place_labels
from planner.outputs.layout import bus_geodata, layout

FEEDERS, LENGTH = 10, 500  # 5,002 buses: a 110 kV source, a 20 kV busbar, ten 500-bus feeders


def _radial(feeders: int = FEEDERS, length: int = LENGTH, geo: bool = False) -> pp.pandapowerNet:
    """Feeders F0.. as chains of buses `F<f> B<k>`, line `F<f> L<k>` into bus k, 10 kW each."""
    net = pp.create_empty_network()
    hv = pp.create_bus(net, 110, name="Source 110 kV", geodata=(0, 0) if geo else None)
    mv = pp.create_bus(net, 20, name="Busbar 20 kV", geodata=(1, 0) if geo else None)
    pp.create_ext_grid(net, hv)
    pp.create_transformer(net, hv, mv, "25 MVA 110/20 kV", name="T1")
    for f in range(feeders):
        xy = [(2 + k, -f) for k in range(length)] if geo else None
        names = [f"F{f} B{k}" for k in range(length)]
        buses = list(pp.create_buses(net, length, 20, name=names, geodata=xy))
        pp.create_lines(
            net,
            [mv, *buses[:-1]],
            buses,
            0.1,
            "NA2XS2Y 1x95 RM/25 12/20 kV",
            name=[f"F{f} L{k}" for k in range(length)],
        )
        pp.create_loads(net, buses, p_mw=0.01)
    return net


def _bus(net: pp.pandapowerNet, name: str) -> int:
    return int(net.bus.index[net.bus.name == name][0])


def _stage(net: pp.pandapowerNet, works: str, truck_bus: str, island: list[str]) -> StagePlan:
    line = int(net.line.index[net.line.name == works][0])
    bus = _bus(net, truck_bus)
    buses = tuple(_bus(net, b) for b in island)
    return StagePlan(
        name="<Stage> & one",
        start="2025-07-01T08:00:00+00:00",
        end="2025-07-01T20:00:00+00:00",
        out_of_service=(ElementRef("line", line, f"line:{works}"),),
        switching=Switching(),
        trucks=(TruckPlan("T1", bus, f"bus:{truck_bus}", "I1", 1000.0),),
        islands=(IslandPlan("I1", buses, Supply.TRUCKS, 480.0, ("T1",), 0),),
        design_peak_kw=480.0,
        peak_factor=1.0,
        margin=0.0,
        verification=Verification(True, 12, 0.98, 1.0, 50.0, 40.0, 60.0, 0.0),
    )


def _texts(svg: str) -> list[str]:
    """The text nodes of an SVG (what a browser shows without hovering; not <title>)."""
    return [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg)]


@pytest.fixture(scope="module")
def large() -> tuple[pp.pandapowerNet, StagePlan]:
    net = _radial()
    island = [f"F3 B{k}" for k in range(10, LENGTH)]
    return net, _stage(net, "F3 L10", "F3 B20", island)


def test_untouched_feeders_collapse_to_labelled_stubs(large) -> None:  # type: ignore[no-untyped-def]
    net, stage = large
    assert len(net.bus) == 5002
    svg = network_svg(net, stage)
    stubs = [t for t in _texts(svg) if t.startswith("feeder ") and ":" in t]
    expected = [f"feeder F{f} L0: 500 buses, 5.0 MW rated" for f in range(FEEDERS) if f != 3]
    assert sorted(stubs) == sorted([*expected, "feeder F3 L21: 479 buses, 4.8 MW rated"])
    # drawn bus by bus: the source, the busbar and feeder 3 up to the truck's bus
    assert svg.count("<circle") == 2 + 21
    assert svg.count('<g class="stub">') == 10 and "feeder collapsed" in svg
    assert len(svg.encode()) < 60_000


def test_names_that_must_show_are_text(large) -> None:  # type: ignore[no-untyped-def]
    net, stage = large
    texts = _texts(network_svg(net, stage))
    assert "F3 L10" in texts  # the works
    assert "F3 B20" in texts  # the truck's connection point
    assert "T1 1,000 kW" in texts  # the truck with its rating
    assert "T1" in texts  # the transformer, where there is room


def test_small_networks_are_drawn_whole_and_names_escaped() -> None:
    net = _radial(feeders=2, length=10)
    net.bus.at[_bus(net, "F1 B9"), "name"] = "<b>&\u202e"
    stage = _stage(net, "F0 L5", "F0 B6", [f"F0 B{k}" for k in range(5, 10)])
    svg = network_svg(net, stage)
    assert svg.count("<circle") == 22 and "feeder " not in svg
    assert "&lt;b&gt;&amp;\\u202e" in svg and "<b>" not in svg
    assert 'aria-label="network drawing of &lt;Stage&gt; &amp; one"' in svg
    assert "<script" not in svg


def test_tree_branches_take_disjoint_rows() -> None:
    """The tidy layout: a parent on its first child's row, feeders one below the other."""
    net = _radial(feeders=2, length=3)
    lay = layout(net, set(), {})
    rows = {net.bus.at[b, "name"]: xy for b, xy in lay.xy.items()}
    assert rows == {
        "Source 110 kV": (0.0, 0.0),
        "Busbar 20 kV": (1.0, 0.0),
        "F0 B0": (2.0, 0.0),
        "F0 B1": (3.0, 0.0),
        "F0 B2": (4.0, 0.0),
        "F1 B0": (2.0, -1.0),
        "F1 B1": (3.0, -1.0),
        "F1 B2": (4.0, -1.0),
    }
    assert not lay.geographic and lay.stubs == []


def test_geodata_is_used_when_every_bus_has_it() -> None:
    net = _radial(feeders=2, length=3, geo=True)
    line = int(net.line.index[net.line.name == "F0 L1"][0])
    net.line.at[line, "geo"] = json.dumps(
        {"type": "LineString", "coordinates": [[2, 0], [2.5, 0.5], [3, 0]]}
    )
    lay = layout(net, set(), {})
    assert lay.geographic and lay.xy[_bus(net, "F1 B2")] == (4.0, -1.0)
    assert lay.paths == {line: [(2.0, 0.0), (2.5, 0.5), (3.0, 0.0)]}
    net.bus.at[_bus(net, "F1 B2"), "geo"] = None
    assert bus_geodata(net) is None  # one bus without geodata: the tree layout


def test_labels_never_overlap_unless_they_must() -> None:
    free = [Label(f"name {k}", 100.0, 100.0, 2, False) for k in range(6)]
    must = [Label("works", 100.0, 100.0, 0, True), Label("tie", 100.0, 100.0, 0, True)]
    placed = place_labels(free, [], 400, 300)
    assert [re.sub(r"<[^>]+>", "", t) for t in placed] == ["name 0", "name 1", "name 2", "name 3"]
    placed = place_labels([*free, *must], [], 400, 300)
    shown = [re.sub(r"<[^>]+>", "", t) for t in placed]
    assert shown == ["works", "tie", "name 0", "name 1"]


def test_chart_ticks_carry_values_and_units() -> None:
    assert nice_ticks(0.95, 1.02) == [0.94, 0.96, 0.98, 1.0, 1.02]
    svg = line_chart({"min vm": [0.95, 1.02]}, ["01 08:00", "01 09:00"], "Voltage", "pu")
    texts = _texts(svg)
    assert [t for t in texts if t.endswith(" pu")] == [
        "0.94 pu",
        "0.96 pu",
        "0.98 pu",
        "1.00 pu",
        "1.02 pu",
    ]
    loading = line_chart({"T1": [40.0, 95.0]}, ["a", "b"], "Loading", "% of kVA rating", (100.0,))
    assert [t for t in _texts(loading) if t.endswith("%")] == ["40 %", "60 %", "80 %", "100 %"]
    assert "% of kVA rating" in _texts(loading) and "time" in _texts(loading)
