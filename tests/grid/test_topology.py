"""The planner's own graph agrees with pandapower's topology."""

from __future__ import annotations

import copy

import pandapower.networks as pn
import pandapower.topology as top
import pytest

from planner.grid.topology import build_graph, cyclomatic, energised_buses, islands_of


def _pandapower_energised(net) -> set[int]:  # type: ignore[no-untyped-def]
    graph = top.create_nxgraph(net, respect_switches=True, include_out_of_service=False)
    fed: set[int] = set()
    for bus in net.ext_grid.bus[net.ext_grid.in_service]:
        fed |= set(top.connected_component(graph, int(bus)))
    return fed


@pytest.mark.parametrize("lines_out", [[], [12], [7, 70], [0, 25, 60]])
def test_energised_buses_match_pandapower(lines_out: list[int]) -> None:
    net = pn.mv_oberrhein()
    for line in lines_out:
        net.line.at[line, "in_service"] = False
    assert energised_buses(build_graph(net)) == _pandapower_energised(net)


def test_switches_and_tie_lines() -> None:
    net = pn.case33bw()
    base = energised_buses(build_graph(net))
    assert len(base) == 33
    assert cyclomatic(build_graph(net), base) == 0
    cut = copy.deepcopy(net)
    cut.line.at[28, "in_service"] = False
    lost = base - energised_buses(build_graph(cut))
    assert lost == {29, 30, 31, 32}
    assert islands_of(build_graph(cut), lost) == [frozenset({29, 30, 31, 32})]
    cut.line.at[35, "in_service"] = True  # tie line 17-32
    graph = build_graph(cut)
    assert energised_buses(graph) == base
    assert cyclomatic(graph, base) == 0
    net.line.at[35, "in_service"] = True
    assert cyclomatic(build_graph(net), base) == 1


def test_open_line_switch_cuts_the_line() -> None:
    net = pn.create_cigre_network_mv()
    graph = build_graph(net)
    assert energised_buses(graph) == _pandapower_energised(net)
    net.switch.at[1, "closed"] = True  # S2 closes the loop 6-7
    assert cyclomatic(build_graph(net), set(net.bus.index)) == 1


def test_building_the_graph_leaves_the_network_as_it_was() -> None:
    from planner.inputs.network import network_sha256

    net = pn.create_cigre_network_mv()
    net.switch.at[6, "closed"] = False  # an open transformer switch
    net.line.at[3, "in_service"] = False
    before = network_sha256(net)
    build_graph(net)
    assert network_sha256(net) == before


def test_a_name_that_reads_as_an_index_never_stands_for_another_element() -> None:
    import pandapower as pp

    from planner.core.refs import ref_for, resolve_ref

    net = pp.create_empty_network()
    plain = [pp.create_bus(net, 10.0) for _ in range(4)]
    posing = pp.create_bus(net, 10.0, name="#3")
    named = pp.create_bus(net, 10.0, name="RMU 7")
    assert ref_for(net, "bus", plain[3]).text == "bus:#3"
    assert ref_for(net, "bus", posing).text == f"bus:#{posing}"  # not "bus:#3"
    assert ref_for(net, "bus", named).text == "bus:RMU 7"
    for index in (plain[3], posing, named):
        text = ref_for(net, "bus", index).text
        found = resolve_ref(net, text)
        assert not isinstance(found, str) and found.index == index
