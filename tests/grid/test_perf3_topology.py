"""The vectorised graph build and the switched copy agree with pandapower and with the slow way.

`build_graph` reads the element tables as arrays; its energised buses and islands must be
pandapower's own topology's for any switch and service state. `with_switching` copies only the
tables a switching writes; the state it gives must be a deep copy's with the switching applied.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import networkx as nx
import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pandapower.topology as top
import pandas as pd
import pytest

from planner.core.refs import ElementRef
from planner.core.switching import Switching
from planner.grid.state import apply_switching, with_switching
from planner.grid.topology import build_graph, energised_buses, islands_of

NETWORKS: dict[str, Callable[[], pp.pandapowerNet]] = {
    "cigre MV": pn.create_cigre_network_mv,
    "mv_oberrhein": pn.mv_oberrhein,
    "case33bw": pn.case33bw,
}
SEEDS = (1, 2, 3, 4)


def _scrambled(make: Callable[[], pp.pandapowerNet], seed: int) -> pp.pandapowerNet:
    """The network with about a tenth of its switches, lines, transformers and buses flipped."""
    net = make()
    rng = np.random.default_rng(seed)
    for table, column in (
        ("switch", "closed"),
        ("line", "in_service"),
        ("trafo", "in_service"),
        ("bus", "in_service"),
    ):
        if len(net[table]):
            flip = rng.random(len(net[table])) < 0.1
            net[table].loc[flip, column] = ~net[table].loc[flip, column].astype(bool)
    return net


def _pandapower_view(net: pp.pandapowerNet) -> tuple[set[int], list[frozenset[int]]]:
    """Energised buses and the islands of the rest, by pandapower's networkx graph."""
    graph = top.create_nxgraph(net, respect_switches=True, include_out_of_service=False)
    fed: set[int] = set()
    for bus in net.ext_grid.bus[net.ext_grid.in_service.astype(bool)]:
        if bus in graph:
            fed |= set(top.connected_component(graph, int(bus)))
    dead = graph.subgraph([b for b in graph.nodes if b not in fed])
    islands = sorted((frozenset(int(b) for b in c) for c in nx.connected_components(dead)), key=min)
    return fed, islands


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", NETWORKS)
def test_build_graph_agrees_with_pandapower(name: str, seed: int) -> None:
    net = _scrambled(NETWORKS[name], seed)
    fed, islands = _pandapower_view(net)
    graph = build_graph(net)
    assert energised_buses(graph) == fed
    live = set(int(b) for b in net.bus.index[net.bus.in_service.astype(bool)])
    assert islands_of(graph, live - fed) == islands


def test_slack_generators_are_sources_and_missing_slack_flags_are_not() -> None:
    net = pn.case33bw()
    net.ext_grid["in_service"] = False
    assert energised_buses(build_graph(net)) == frozenset()
    pp.create_gen(net, 20, p_mw=0.1, slack=True)
    pp.create_gen(net, 30, p_mw=0.1)
    net.gen["slack"] = pd.Series([True, np.nan], index=net.gen.index, dtype=object)
    assert build_graph(net).sources == frozenset({20})


SWITCHINGS = {
    "close a tie line's switch": Switching(close=(ElementRef("switch", 1, "switch 1"),)),
    "open a line switch": Switching(open=(ElementRef("switch", 0, "switch 0"),)),
    "put a line back": Switching(in_service=(ElementRef("line", 3, "line 3"),)),
    "all three": Switching(
        close=(ElementRef("switch", 1, "switch 1"),),
        open=(ElementRef("switch", 5, "switch 5"),),
        in_service=(ElementRef("line", 3, "line 3"),),
    ),
}


@pytest.mark.parametrize("name", SWITCHINGS)
def test_with_switching_is_a_deep_copy_switched(name: str) -> None:
    net = pn.create_cigre_network_mv()
    net.line.at[3, "in_service"] = False
    before = copy.deepcopy(net)
    switching = SWITCHINGS[name]
    slow = copy.deepcopy(net)
    apply_switching(slow, switching)
    fast = with_switching(net, switching)
    for table in ("bus", "line", "trafo", "switch", "load", "ext_grid"):
        pd.testing.assert_frame_equal(fast[table], slow[table])
        pd.testing.assert_frame_equal(net[table], before[table])  # the original is untouched
    written = {ref.table for ref in (*switching.close, *switching.open, *switching.in_service)}
    for table in ("bus", "line", "switch", "load"):
        assert (fast[table] is net[table]) == (table not in written)
    assert energised_buses(build_graph(fast)) == energised_buses(build_graph(slow))
