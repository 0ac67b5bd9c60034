"""The reference network: the builder is deterministic, matches the committed JSON and is sound."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandapower as pp
import pytest

from planner.grid.topology import build_graph, cyclomatic, energised_buses
from planner.inputs.network import network_sha256
from tests.conftest import ROOT

NETWORKS = ROOT / "networks"


def _builder():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "build_dashiqiao", NETWORKS / "build_dashiqiao.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture(scope="module")
def net():  # type: ignore[no-untyped-def]
    return pp.from_json(str(NETWORKS / "dashiqiao.json"))


def test_builder_is_deterministic_and_matches_committed_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    builder = _builder()
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    pp.to_json(builder.build(), str(a))
    pp.to_json(builder.build(), str(b))
    assert a.read_text() == b.read_text()
    committed = pp.from_json(str(NETWORKS / "dashiqiao.json"))
    assert network_sha256(pp.from_json(str(a))) == network_sha256(committed)


def test_base_load_flow_within_limits(net) -> None:  # type: ignore[no-untyped-def]
    pp.runpp(net, numba=False)
    energised = net.res_bus.vm_pu.dropna()
    assert len(energised) == len(net.bus)
    assert energised.min() >= 0.95 and energised.max() <= 1.05
    assert net.res_line.loading_percent.max() < 80.0
    assert net.res_trafo.loading_percent.max() < 80.0


def test_distribution_network_is_radial_in_normal_operation(net) -> None:  # type: ignore[no-untyped-def]
    graph = build_graph(net)
    mv = set(net.bus.index[net.bus.vn_kv == 10.0])
    assert mv <= energised_buses(graph)
    assert cyclomatic(graph, mv) == 0
    # the 66 kV double circuit is the only loop: Qiao A and Qiao B in parallel
    assert cyclomatic(graph, set(net.bus.index)) == 1


def test_planner_columns_and_elements(net) -> None:  # type: ignore[no-untyped-def]
    assert net.bus.rmu.dtype == bool and net.bus.rmu.sum() == 24
    assert int(net.bus.rmu_bays.sum()) == 14
    assert set(net.load.category) == {"residential", "commercial", "critical"}
    assert net.load.households.dtype.kind == "i"
    names = set(net.line.name)
    assert {"Qiao A", "Qiao B"} <= names
    qiao = net.line[net.line.name.isin(["Qiao A", "Qiao B"])]
    assert np.allclose(qiao.length_km, 5.056) and np.allclose(qiao.r_ohm_per_km, 0.1181)
    ties = net.switch[~net.switch.closed]
    assert sorted(ties.name) == ["Qiaonan 10 kV bus coupler", "Tie F3-F5", "Tie F4-F6"]
    assert set(net.bus.vn_kv) == {220.0, 66.0, 10.0}


def test_readme_documents_the_columns() -> None:
    text = (NETWORKS / "README.md").read_text()
    for column in ("bus.rmu", "bus.rmu_bays", "load.category", "load.households"):
        assert column in text


def test_committed_json_is_valid_json() -> None:
    data = json.loads((NETWORKS / "dashiqiao.json").read_text())
    assert "_object" in data or "bus" in str(data)[:2000]
