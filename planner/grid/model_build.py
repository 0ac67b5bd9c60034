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

from pathlib import Path
from typing import Any

import numpy as np
import pandapower as pp
from pandapower.auxiliary import _add_auxiliary_elements, _init_runpp_options, ppException
from pandapower.pd2ppc import _pd2ppc
from pandapower.pf.ppci_variables import _get_pf_variables_from_ppci
from pandapower.pypower.makeYbus import makeYbus

from planner.grid.pp_loops import array_loops

__all__ = [
    "SOLVER_FAILURES",
    "FactsDevices",
    "branch_rows",
    "internal_model",
    "solver_failure",
    "start_voltage",
]

# what pandapower and the numerics raise on a state they cannot solve: LoadflowNotConverged and
# its kin, a singular matrix, an overflow, and pandapower's way of refusing a network
SOLVER_FAILURES: tuple[type[BaseException], ...] = (
    ppException, np.linalg.LinAlgError, FloatingPointError, UserWarning
)  # fmt: skip
_PANDAPOWER = Path(pp.__file__).resolve().parent


class FactsDevices(NotImplementedError):
    """The state has FACTS devices (SVC, TCSC, SSC, VSC) in service: `runpp` solves them in
    its own Newton-Raphson, the admittance matrix alone does not hold them."""


def start_voltage(net: pp.pandapowerNet) -> dict[str, float]:
    """`runpp`'s flat-start voltage as pandapower works it out for `init="auto"` (the mean
    setpoint of the in-service slack sources), from arrays instead of six DataFrame queries.
    Empty (pandapower's own way) when a VSC holds the slack or nothing does."""
    if "vsc" in net and len(net.vsc) and net.vsc.in_service.to_numpy(dtype=bool).any():
        return {}
    setpoints = [
        net[table].vm_pu.to_numpy(dtype=float)[net[table].in_service.to_numpy(dtype=bool)]
        for table in ("ext_grid", "gen")
        if table in net and len(net[table])
    ]
    values = np.concatenate(setpoints) if setpoints else np.empty(0)
    if not len(values):
        return {}
    return {"init_vm_pu": float(values.sum() / len(values))}


def solver_failure(exc: BaseException) -> bool:
    """Whether `exc` from a pandapower run is a finding about the network state (one of
    `SOLVER_FAILURES`, or a ValueError/NotImplementedError pandapower raises itself on input
    it cannot model) rather than a bug (TypeError, KeyError, IndexError, ...: re-raise it)."""
    if isinstance(exc, SOLVER_FAILURES):
        return True
    if not isinstance(exc, ValueError | NotImplementedError) or exc.__traceback__ is None:
        return False
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(_PANDAPOWER)


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
    with array_loops():  # pandapower's per-element Python loops as arrays (numba absent)
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


def branch_rows(
    net: pp.pandapowerNet, table: str, branch_is: np.ndarray, internal_row: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ids of `table`'s ("line" or "trafo") branches in service with both ends energised
    (`branch_is` of the model `internal_model` built), their rows of the internal branch table
    (`internal_row` of each of pandapower's rows) and, for lines, their current limits (kA)."""
    lookups = net._pd2ppc_lookups["branch"]
    if table not in lookups or not len(net[table]):
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    f, t = lookups[table]
    rows = np.arange(f, t)
    alive = branch_is[rows] if len(branch_is) else np.ones(len(rows), bool)
    ids = net[table].index.to_numpy()[alive]  # in service with both ends energised
    internal = internal_row[rows[alive]]
    imax = np.zeros(0)
    if table == "line":
        d = net.line.loc[ids]
        imax = (d.max_i_ka * d.df * d.parallel).to_numpy()
    return ids, internal, imax
