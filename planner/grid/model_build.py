"""pandapower's internal model of a network state, built without solving it.

The batched engine needs what pandapower's `runpp` builds before its Newton-Raphson starts: the
internal bus and branch tables (`ppci`), the admittance matrices and the bus and branch lookups.
`internal_model` runs exactly those steps of `runpp` (its options, `_pd2ppc`, pandapower's own
`makeYbus`) and stops before the solve, so every element is still modelled as pandapower models
it, at a fraction of a load flow's cost. The engine's results are checked against `runpp` in
tests/grid/test_engine.py.

The net's result tables are not written (they keep whatever they held); the net's `_ppc` and
`_pd2ppc_lookups` are, as `runpp` writes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandapower as pp
from pandapower.auxiliary import _add_auxiliary_elements, _init_runpp_options
from pandapower.pd2ppc import _pd2ppc
from pandapower.pf.ppci_variables import _get_pf_variables_from_ppci
from pandapower.pypower.makeYbus import makeYbus

__all__ = ["FactsDevices", "internal_model"]


class FactsDevices(NotImplementedError):
    """The state has FACTS devices (SVC, TCSC, SSC, VSC) in service: `runpp` solves them in
    its own Newton-Raphson, the admittance matrix alone does not hold them."""


_NO_LOOKUPS = ("bus", "bus_dc", "ext_grid", "gen", "branch", "branch_dc")


def internal_model(net: pp.pandapowerNet, **start: float) -> dict[str, Any]:
    """The internal model `runpp(net, numba=False, lightsim2grid=False)` would solve: `ppci`
    keys `baseMVA`, `bus`, `branch`, `gen`, `Ybus`, `Yf`, `Yt`, `V` (the start voltage), `ref`,
    `pv`, `pq`, `branch_is`. `start` passes `init_vm_pu` as `runpp` takes it. Raises what
    pandapower raises on a network it cannot model."""
    _init_runpp_options(
        net,
        algorithm="nr",
        calculate_voltage_angles=True,
        init="auto",
        max_iteration="auto",
        tolerance_mva=1e-8,
        trafo_model="t",
        trafo_loading="current",
        enforce_p_lims=False,
        enforce_q_lims=False,
        check_connectivity=True,
        voltage_depend_loads=True,
        consider_line_temperature=False,
        tdpf=False,
        tdpf_delay_s=None,
        distributed_slack=False,
        passed_parameters={},
        numba=False,
        lightsim2grid=False,
        **start,
    )
    net["converged"] = False
    _add_auxiliary_elements(net)
    net._pd2ppc_lookups = {key: np.array([], dtype=np.int64) for key in _NO_LOOKUPS}
    ppc, ppci = _pd2ppc(net)
    net["_ppc"] = ppc
    for facts in ("svc", "tcsc", "ssc", "vsc"):
        if facts in ppci and len(ppci[facts]):
            raise FactsDevices(f"{facts.upper()} devices")
    variables = _get_pf_variables_from_ppci(ppci, True)
    base_mva, bus, gen, branch = variables[:4]
    ref, pv, pq = variables[8:11]
    v0 = variables[-2]
    ybus, yf, yt = makeYbus(base_mva, bus, branch)
    return {
        "baseMVA": base_mva,
        "bus": bus,
        "branch": branch,
        "gen": gen,
        "Ybus": ybus,
        "Yf": yf,
        "Yt": yt,
        "V": np.asarray(v0, dtype=complex),
        "ref": ref,
        "pv": pv,
        "pq": pq,
        "branch_is": ppci["internal"]["branch_is"],
    }
