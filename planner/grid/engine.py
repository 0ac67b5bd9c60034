"""Batched AC load flow: all time steps of one network state solved at once.

pandapower builds the model (admittance matrices, bus and branch lookups, element models exactly
as its `runpp` makes them: `planner.grid.model_build`, the steps of `runpp` before it solves).
Then every time step is solved together by the implicit Z-bus method: with the slack voltages
fixed, the PQ-bus voltages satisfy
`V = Y_pp^-1 (conj(S(t) / V) - Y_ps V_s)`; `Y_pp` is factorised once and each iteration is one
sparse solve with a right-hand side per time step. Distribution networks converge in a few
dozen iterations to well below pandapower's tolerance.

Truck islands: the first online truck is the slack; the other online trucks inject their share
(by rating) of the island total, which is updated inside the same iteration from the slack's
power, so that P and Q are shared in proportion at convergence.

Trucks paralleled with the grid are generators given per solve: PV buses holding a voltage
(`planner.grid.voltage_control`) or PQ injections at a fixed power factor. Networks the method
does not cover (their own PV generators, voltage-dependent loads) raise `Unsupported`; time
steps that do not converge are reported, and the caller falls back to pandapower's
Newton-Raphson for them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandapower as pp
from pandapower.auxiliary import ppException
from scipy.sparse import csc_matrix, csr_matrix
from scipy.sparse.linalg import splu

from planner.grid.model_build import FactsDevices, internal_model
from planner.grid.voltage_control import reactive_correction, share_by_range

__all__ = ["SOLVER_FAILURES", "BatchModel", "BatchResult", "Unsupported", "solver_failure",
           "start_voltage"]  # fmt: skip

TOL_PU = 1e-10
MAX_ITER = 200
CHUNK = 16  # time steps solved together: keeps the triangular solves in cache
SQRT3 = np.sqrt(3.0)


class Unsupported(Exception):
    """The network state has something the batched engine does not model."""


# what pandapower and the numerics raise on a state they cannot solve: LoadflowNotConverged and
# its kin, a singular matrix, an overflow, and pandapower's way of refusing a network
SOLVER_FAILURES: tuple[type[BaseException], ...] = (
    ppException, np.linalg.LinAlgError, FloatingPointError, UserWarning
)  # fmt: skip
_PANDAPOWER = Path(pp.__file__).resolve().parent


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


@dataclass(frozen=True)
class BatchResult:
    """Results per time step (rows) and element (columns, in the model's element order)."""

    converged: np.ndarray  # (T,)
    vm_pu: np.ndarray  # (T, buses)
    line_loading_percent: np.ndarray  # (T, lines)
    trafo_loading_percent: np.ndarray  # (T, trafos)
    slack_p_mw: np.ndarray  # (T, slacks)
    slack_q_mvar: np.ndarray
    truck_p_mw: np.ndarray  # (T, trucks) for PQ trucks; the slack truck is in slack_p_mw
    truck_q_mvar: np.ndarray
    iterations: int
    va_degree: np.ndarray | None = None  # (T, buses), as pandapower's res_bus.va_degree
    pv_q_mvar: np.ndarray | None = None  # (T, PV generators): their reactive power

    def outputs_kw(self, row: int, ids: list[str]) -> tuple[dict[str, float], dict[str, float]]:
        """kW and kvar of the trucks `ids` online at time step `row`: the slack truck first,
        then the model's PQ trucks in order."""
        slack, *others = ids
        p_kw = {slack: float(self.slack_p_mw[row, 0]) * 1000.0}
        q_kvar = {slack: float(self.slack_q_mvar[row, 0]) * 1000.0}
        for j, truck in enumerate(others):
            p_kw[truck] = float(self.truck_p_mw[row, j]) * 1000.0
            q_kvar[truck] = float(self.truck_q_mvar[row, j]) * 1000.0
        return p_kw, q_kvar


class BatchModel:
    """A pandapower state turned into matrices for batched solves of other load levels.

    `net` is modelled as it stands (not solved: its result tables are left as they were; its
    `_ppc` and lookups are pandapower's, as after a `runpp`); it must not be changed afterwards.
    `pq_trucks` are the indices of sgens that share the island load with the slack.
    `pv_buses` are the buses of generators that are not in `net` (trucks paralleled with the
    grid), voltage-controlled or at a fixed power factor: their output, setpoint and reactive
    limits (or reactive power) are given per solve,
    so one model serves any of them connected (the admittance matrix does not depend on them).
    """

    def __init__(
        self,
        net: pp.pandapowerNet,
        pq_trucks: list[int] | None = None,
        pv_buses: list[int] | None = None,
    ) -> None:
        if len(net.gen) and net.gen.in_service.any():
            raise Unsupported("PV generators")
        for col in ("const_z_p_percent", "const_i_p_percent", "const_z_q_percent",
                    "const_i_q_percent", "const_z_percent", "const_i_percent"):  # fmt: skip
            if col in net.load.columns and (net.load[col].fillna(0) != 0).any():
                raise Unsupported("voltage-dependent loads")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ppci = internal_model(net, **start_voltage(net))
        except FactsDevices as exc:  # pandapower's own load flow solves them, per state
            raise Unsupported(str(exc)) from exc
        except Exception as exc:
            if not solver_failure(exc):
                raise  # a bug, not a state pandapower cannot model
            raise Unsupported(f"pandapower cannot model the state: {exc}") from exc
        if not len(ppci["pq"]) and not len(ppci["ref"]):
            raise Unsupported("pandapower built no internal model (nothing energised?)")
        self.base_mva = float(ppci["baseMVA"])
        lookup = net._pd2ppc_lookups["bus"]
        n = ppci["bus"].shape[0]
        self.n = n
        self.ref = np.asarray(ppci["ref"], dtype=int)
        if len(ppci["pv"]):
            raise Unsupported("PV buses")
        self.pq = np.asarray(ppci["pq"], dtype=int)
        pv_at = lookup[np.asarray(pv_buses or [], dtype=int)]
        if ((pv_at < 0) | (pv_at >= n)).any() or np.isin(pv_at, self.ref).any():
            raise Unsupported("a voltage-controlled generator off the grid or at its slack")
        self.pv_input = list(pv_buses or [])
        self.pv_bus, self.pv_of_gen = np.unique(pv_at, return_inverse=True)
        self.pv_rows = np.searchsorted(self.pq, self.pv_bus)  # pq is sorted: rows of PV buses
        self._dv_dq: np.ndarray | None = None
        ybus = csr_matrix(ppci["Ybus"])
        self.ybus = ybus
        try:
            self.y_pp = splu(csc_matrix(ybus[self.pq][:, self.pq]), permc_spec="MMD_ATA")
        except RuntimeError as exc:  # SuperLU: "Factor is exactly singular"
            raise Unsupported(f"the admittance matrix cannot be factorised: {exc}") from exc
        self.y_ps = ybus[self.pq][:, self.ref]
        self.v0 = np.asarray(ppci["V"], dtype=complex)
        self.base_kv = ppci["bus"][:, 9].real  # BASE_KV
        # bus order of the results: the net's in-service, energised buses
        buses = net.bus.index.to_numpy()
        pos = lookup[buses]
        alive = (pos >= 0) & (pos < n)
        self.bus_ids = buses[alive]
        self.bus_pos = pos[alive]
        # loads: aggregation matrix (internal bus x load), for loads on energised buses
        load_bus = lookup[net.load.bus.to_numpy()]
        on = net.load.in_service.to_numpy(bool) & (load_bus >= 0) & (load_bus < n)
        on &= np.isin(net.load.bus.to_numpy(), self.bus_ids)
        self.load_ids = net.load.index.to_numpy()
        self.load_on = on
        rows = load_bus[on]
        cols = np.nonzero(on)[0]
        self.load_matrix = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(on)))
        p0 = net.load.p_mw.to_numpy() * net.load.scaling.to_numpy()
        sgen = net.sgen
        q0 = net.load.q_mvar.to_numpy() * net.load.scaling.to_numpy()
        # truck injections (PQ sgens that share with the slack)
        self.truck_idx = list(pq_trucks or [])
        truck_bus = lookup[net.sgen.bus.loc[self.truck_idx].to_numpy()] if self.truck_idx else []
        self.truck_matrix = csr_matrix(
            (np.ones(len(self.truck_idx)), (np.asarray(truck_bus, dtype=int),
                                            np.arange(len(self.truck_idx)))),
            shape=(n, len(self.truck_idx)),
        )  # fmt: skip
        t0 = np.zeros(0, complex)
        if self.truck_idx:
            scale = sgen.scaling.loc[self.truck_idx].to_numpy()
            t0 = (
                sgen.p_mw.loc[self.truck_idx].to_numpy()
                + 1j * sgen.q_mvar.loc[self.truck_idx].to_numpy()
            ) * scale
        # every PQ element is in the bus demand (sgens negative); shunts are in Ybus
        bus = ppci["bus"]
        s_pq0 = -(bus[:, 2].real + 1j * bus[:, 3].real) / self.base_mva
        s_load0 = self.load_matrix @ ((p0 + 1j * q0) * on) / self.base_mva
        s_truck0 = self.truck_matrix @ t0 / self.base_mva if len(t0) else 0.0
        self.s_other = s_pq0 + s_load0 - s_truck0
        # branches
        branch_is = np.asarray(ppci.get("branch_is", np.ones(0, bool)), dtype=bool)
        self.yf = csr_matrix(ppci["Yf"])
        self.yt = csr_matrix(ppci["Yt"])
        br = ppci["branch"]
        self.f_kv = self.base_kv[br[:, 0].real.astype(int)]
        self.t_kv = self.base_kv[br[:, 1].real.astype(int)]
        internal_row = np.cumsum(branch_is) - 1 if len(branch_is) else np.zeros(0, int)
        self.lines, self.line_rows, self.line_imax = self._branch(net, "line", branch_is,
                                                                  internal_row)  # fmt: skip
        self.trafos, self.trafo_rows, _ = self._branch(net, "trafo", branch_is, internal_row)
        if len(self.trafos):
            t = net.trafo.loc[self.trafos]
            self.trafo_scale_hv = t.vn_hv_kv.to_numpy() * SQRT3 / t.sn_mva.to_numpy() * 100 / (
                t.parallel.to_numpy() * t.df.to_numpy())  # fmt: skip
            self.trafo_scale_lv = t.vn_lv_kv.to_numpy() * SQRT3 / t.sn_mva.to_numpy() * 100 / (
                t.parallel.to_numpy() * t.df.to_numpy())  # fmt: skip

    def _branch(self, net, table, branch_is, internal_row):
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

    def solve(
        self,
        p_mw: np.ndarray,
        q_mvar: np.ndarray,
        online: np.ndarray | None = None,
        shares: np.ndarray | None = None,
        pv: tuple[np.ndarray, np.ndarray, float | np.ndarray | None] | None = None,
    ) -> BatchResult:
        """Solve T load states: `p_mw`, `q_mvar` are (T, loads) in the net's load order.

        `online` (T, trucks) marks the PQ trucks running each step; `shares` (trucks + 1,) are the
        rating shares of the slack truck followed by the PQ trucks. `pv` gives the generators at
        `pv_buses`: their P (T, gens) in MW, reactive limit (T, gens) in Mvar (the same both
        ways) and voltage setpoint in pu (one for all, or each generator's: generators at one
        bus hold the first one's); with no setpoint (None) they run at a fixed power factor,
        injecting that Mvar (signed) instead. Time steps are solved in chunks that keep the
        sparse triangular solves in cache.
        """
        steps = p_mw.shape[0]
        n_trucks = len(self.truck_idx)
        on = np.ones((steps, n_trucks), bool) if online is None else online.astype(bool)
        shares = np.ones(n_trucks + 1) if shares is None else np.asarray(shares, dtype=float)
        none = np.zeros((steps, len(self.pv_of_gen)))
        pv_p, pv_q, vm = pv if pv is not None else (none, none, 1.0)
        pv_vm = None  # each PV bus's setpoint (its first generator's), the same at every step
        if vm is not None:
            pv_vm = np.zeros((len(self.pv_bus), 1))
            pv_vm[self.pv_of_gen[::-1], 0] = np.broadcast_to(vm, self.pv_of_gen.shape)[::-1]
        parts = []
        for a in range(0, max(steps, 1), CHUNK):
            cut = slice(a, a + CHUNK)
            pv_cut = (pv_p[cut], pv_q[cut], pv_vm)
            parts.append(self._solve_chunk(p_mw[cut], q_mvar[cut], on[cut], shares, pv_cut))
        rows = {f.name: [getattr(p, f.name) for p in parts] for f in fields(BatchResult)}
        return BatchResult(
            converged=np.concatenate(rows.pop("converged")),
            iterations=max(rows.pop("iterations")),
            **{name: np.vstack(values) for name, values in rows.items()},
        )

    def _solve_chunk(
        self,
        p_mw: np.ndarray,
        q_mvar: np.ndarray,
        on: np.ndarray,
        shares: np.ndarray,
        pv: tuple[np.ndarray, np.ndarray, np.ndarray | None],
    ) -> BatchResult:
        steps = p_mw.shape[0]
        loads = (p_mw + 1j * q_mvar) * self.load_on
        s_load = (self.load_matrix @ loads.T) / self.base_mva  # (n, T)
        s_fixed = self.s_other[:, None] - s_load
        n_trucks = len(self.truck_idx)
        v = np.repeat(self.v0[:, None], steps, axis=1)
        pq = self.pq
        rhs_s = self.y_ps @ v[self.ref]
        truck_s = np.zeros((n_trucks, steps), complex)
        s_bus = s_fixed
        gen_p, gen_q, vm_set = pv
        gens = self.pv_bus.size > 0
        held = gens and vm_set is not None  # voltage-controlled, else at a fixed power factor
        if gens:
            to_bus = np.zeros((len(self.pv_bus), len(self.pv_of_gen)))
            to_bus[self.pv_of_gen, np.arange(len(self.pv_of_gen))] = 1.0
            p_pv = to_bus @ gen_p.T / self.base_mva  # (PV buses, T)
            q_lim = to_bus @ gen_q.T / self.base_mva
            q_pv = np.zeros_like(p_pv) if held else q_lim
            free = np.ones(q_pv.shape, bool)
        if held:  # PV buses start at their setpoint
            v[self.pv_bus] = vm_set * np.exp(1j * np.angle(v[self.pv_bus]))
        v_pq = v[pq]
        s_fixed_pq = s_fixed[pq]
        iterations = 0
        while iterations < MAX_ITER:
            iterations += 1
            if n_trucks:
                v[pq] = v_pq
                total = self._slack_power(v, s_bus)[0] + truck_s.sum(axis=0)  # (T,)
                weight = on.T * shares[1:, None]
                norm = shares[0] + weight.sum(axis=0)
                truck_s = weight * (total / norm)[None, :]
                s_bus = s_fixed + self.truck_matrix @ truck_s
                s_pq = s_bus[pq]
            else:
                s_pq = s_fixed_pq
            if gens:
                s_pq = s_pq.copy()
                s_pq[self.pv_rows] += p_pv + 1j * q_pv
            new = self.y_pp.solve(np.conj(s_pq / v_pq) - rhs_s)
            change = float(np.abs(new - v_pq).max(initial=0.0))
            v_pq = new
            if held:  # the reactive power that holds each PV bus, within its limits
                q_pv, free = self._pv_q(vm_set - np.abs(v_pq[self.pv_rows]), q_pv, q_lim)
            if change < TOL_PU:
                break
        v[pq] = v_pq
        if gens:  # the generators' injections at the solution found
            s_bus = s_bus.copy()
            s_bus[self.pv_bus] += p_pv + 1j * q_pv
        mismatch = v * np.conj(self.ybus @ v) - s_bus
        converged = np.abs(mismatch[pq]).max(axis=0, initial=0.0) < 1e-8
        if held:  # a PV bus in its limits holds its setpoint, one at a limit is at the one its
            error = vm_set - np.abs(v[self.pv_bus])  # voltage asks for (else pandapower's)
            wrong = ~free & (q_lim > 0) & (np.sign(q_pv) * error < -1e-4)
            converged &= ((np.abs(error) * free).max(axis=0, initial=0.0) < 1e-8) & ~wrong.any(0)
        slack = self._slack_power(v, s_bus) * self.base_mva  # (refs, T)
        i_f = np.abs(self.yf @ v) * self.base_mva / SQRT3
        i_t = np.abs(self.yt @ v) * self.base_mva / SQRT3
        line_loading = np.zeros((steps, len(self.lines)))
        if len(self.lines):
            r = self.line_rows
            i_ka = np.maximum(i_f[r] / self.f_kv[r, None], i_t[r] / self.t_kv[r, None])
            line_loading = (i_ka / self.line_imax[:, None] * 100.0).T
        trafo_loading = np.zeros((steps, len(self.trafos)))
        if len(self.trafos):
            r = self.trafo_rows
            hv = i_f[r] / self.f_kv[r, None] * self.trafo_scale_hv[:, None]
            lv = i_t[r] / self.t_kv[r, None] * self.trafo_scale_lv[:, None]
            trafo_loading = np.maximum(hv, lv).T
        pv_q_mvar = share_by_range(q_pv * self.base_mva, self.pv_of_gen, gen_q) if held else gen_q
        return BatchResult(
            converged=converged,
            vm_pu=np.abs(v[self.bus_pos]).T,
            line_loading_percent=line_loading,
            trafo_loading_percent=trafo_loading,
            slack_p_mw=slack.real.T,
            slack_q_mvar=slack.imag.T,
            truck_p_mw=(truck_s.real * self.base_mva).T,
            truck_q_mvar=(truck_s.imag * self.base_mva).T,
            iterations=iterations,
            va_degree=np.angle(v[self.bus_pos], deg=True).T,
            pv_q_mvar=pv_q_mvar,
        )

    def _pv_q(self, error: np.ndarray, q: np.ndarray, q_lim: np.ndarray):
        """`reactive_correction` with this model's dV/dQ between its PV buses."""
        if self._dv_dq is None:  # Im(Z) between the PV buses: dV/dQ near a flat voltage
            unit = np.zeros((len(self.pq), len(self.pv_bus)), complex)
            unit[self.pv_rows, np.arange(len(self.pv_bus))] = 1.0
            self._dv_dq = self.y_pp.solve(unit)[self.pv_rows].imag
        return reactive_correction(self._dv_dq, error, q, q_lim)

    def _slack_power(self, v: np.ndarray, s_bus: np.ndarray) -> np.ndarray:
        """Power the slack sources inject: the bus's computed injection minus its other elements."""
        ref = self.ref
        s_calc = v[ref] * np.conj(self.ybus[ref] @ v)
        return s_calc - s_bus[ref]
