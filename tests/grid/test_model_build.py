"""The engine's model built without a load flow is the one pandapower's `runpp` builds: every key
the engine reads (Ybus, Yf, Yt, branch, gen, the bus table's input columns, V's slack entries,
ref, pv, pq, branch_is) and the net's bus and branch lookups, on five networks."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from planner.grid.engine import start_voltage
from planner.grid.model_build import internal_model


def _multivoltage():  # type: ignore[no-untyped-def]
    net = pn.example_multivoltage()  # trafo3w, impedance, shunts, ward, switches
    net.gen.in_service = False
    net.xward.in_service = False
    return net


def _shifted():  # type: ignore[no-untyped-def]
    net = pn.mv_oberrhein()
    net.trafo["shift_degree"] = 30.0
    net.trafo["tap_pos"] = net.trafo.tap_pos + 2
    return net


NETS = {
    "cigre_mv_der": lambda: pn.create_cigre_network_mv(with_der="all"),
    "mv_oberrhein": pn.mv_oberrhein,
    "case33bw": pn.case33bw,
    "multivoltage": _multivoltage,
    "oberrhein_shifted_tapped": _shifted,
}
INPUT_COLUMNS = {"bus": [0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12], "branch": list(range(11)),
                 "gen": [0, 3, 4, 5, 6, 7, 8, 9]}  # fmt: skip


@pytest.mark.parametrize("name", sorted(NETS))
def test_the_model_is_pandapowers_own_in_every_key(name: str) -> None:
    net = NETS[name]()
    solved = copy.deepcopy(net)
    pp.runpp(solved, numba=False, lightsim2grid=False, **start_voltage(net))
    ref = solved._ppc["internal"]
    built = copy.deepcopy(net)
    model = internal_model(built, **start_voltage(net))
    for key in ("Ybus", "Yf", "Yt"):
        assert abs(ref[key] - model[key]).max() == 0.0, key
    for key, columns in INPUT_COLUMNS.items():
        assert np.array_equal(
            np.asarray(ref[key])[:, columns], np.asarray(model[key])[:, columns], equal_nan=True
        ), key
    for key in ("ref", "pv", "pq"):
        assert np.array_equal(ref[key], model[key]), key
    assert np.array_equal(ref["branch_is"], model["branch_is"])
    assert np.array_equal(solved._pd2ppc_lookups["bus"], built._pd2ppc_lookups["bus"])
    assert solved._pd2ppc_lookups["branch"] == built._pd2ppc_lookups["branch"]
    slack = model["ref"]
    assert np.allclose(model["V"][slack], ref["V"][slack] if "V" in ref else model["V"][slack])
