"""`Namer` (each table's names scanned once, for the limit checks' messages) names every element
exactly as `ref_for` does, on names that are duplicated, empty, missing, numbers, start with `#`
or look like another element's reference."""

from __future__ import annotations

import math

import pandapower.networks as pn
import pytest

from planner.core.refs import Namer, ref_for, unique_names

NAMES = ["a", "a", "", None, math.nan, 7, "7", "#1", "# 2", "bus:#3", "b", " a", "A", "b "]


@pytest.mark.parametrize("table", ["bus", "line", "load", "switch"])
def test_the_namer_names_as_ref_for(table: str) -> None:
    net = pn.create_cigre_network_mv()
    df = net[table]
    assert len(df) > len(NAMES) // 2
    df["name"] = [NAMES[i % len(NAMES)] for i in range(len(df))]
    namer = Namer(net)
    for index in df.index:
        assert namer(table, int(index)) == ref_for(net, table, int(index))


def test_unique_names_leave_out_repeated_and_hashed_names() -> None:
    net = pn.case33bw()
    net.bus["name"] = None
    net.bus.loc[[0, 1, 2, 3, 4], "name"] = ["x", "x", "#5", "y", ""]
    assert unique_names(net, "bus") == {3: "y"}
    assert Namer(net)("bus", 3).text == "bus:y"
    assert Namer(net)("bus", 0).text == "bus:#0"
