"""Batched AC load flow: all time steps of one network state solved at once.

pandapower builds the model (admittance matrices, bus and branch lookups, element models exactly
as its `runpp` makes them: `planner.grid.model_build`, the steps of `runpp` before it solves).
Then every time step is solved together by the implicit Z-bus method (`planner.grid.zbus`): with
the slack voltages fixed, the PQ-bus voltages satisfy
`V = Y_pp^-1 (conj(S(t) / V) - Y_ps V_s)`; `Y_pp` is factorised once and each iteration is one
sparse solve with a right-hand side per time step. Distribution networks converge in five to
eight iterations to about 1e-10 pu, well below pandapower's tolerance, and on until every time
step's power mismatch is under that tolerance too; a chunk of time steps without trucks or held
voltages starts from the chunk before's last solution (the first from the voltages at no load),
which saves one or two of them.

Truck islands: the first online truck is the slack; the other online trucks inject their share
(by rating) of the island total, which is updated inside the same iteration from the slack's
power, so that P and Q are shared in proportion at convergence.

Trucks paralleled with the grid are generators given per solve: PV buses holding a voltage
(`planner.grid.voltage_control`) or PQ injections at a fixed power factor. Networks the method
does not cover (their own PV generators, voltage-dependent loads) raise `Unsupported`; time
steps that do not converge are reported (pandapower's Newton-Raphson solves them instead).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandapower as pp
from scipy.sparse import csr_matrix
from scipy.sparse.linalg import SuperLU

from planner.grid.batch_result import BatchResult
from planner.grid.model_build import (
    SOLVER_FAILURES,
    FactsDevices,
    branch_rows,
    internal_model,
    solver_failure,
    start_voltage,
)
from planner.grid.sweeps import Sweeps
from planner.grid.voltage_control import reactive_correction, share_by_range
from planner.grid.zbus import factorise, iterate, solved

__all__ = ["SOLVER_FAILURES", "BatchModel", "BatchResult", "Unsupported", "solver_failure",
           "start_voltage"]  # fmt: skip

TOL_PU = 1e-10
MISMATCH_PU = 1e-8  # pandapower's `tolerance_mva`: its Newton-Raphson's limit of the pu mismatch
MAX_ITER = 200
CHUNK = 16  # time steps solved together: keeps the triangular solves in cache
SWEEP_WIDTH = 40  # rows per level of the factors from which full chunks solve by levels: faster
SQRT3 = np.sqrt(3.0)


class Unsupported(Exception):
    """The network state has something the batched engine does not model."""


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
        self.y_pq_rows, self.y_ref_rows = ybus[self.pq], ybus[self.ref]  # mismatch, slack power
        try:
            self.y_pp = factorise(self.y_pq_rows[:, self.pq])
        except RuntimeError as exc:  # SuperLU: "Factor is exactly singular"
            raise Unsupported(f"the admittance matrix cannot be factorised: {exc}") from exc
        self.y_ps = self.y_pq_rows[:, self.ref]
        self.v0 = np.asarray(ppci["V"], dtype=complex)
        self.rhs_s = self.y_ps @ self.v0[self.ref]  # the slack voltages' term, every time step
        self._v_no_load: np.ndarray | None = None
        self._sweeps: Sweeps | SuperLU | None = None  # `_solver`'s, once asked for
        self._stiff: bool | None = None  # `_iterate`'s
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
        yf, yt = csr_matrix(ppci["Yf"]), csr_matrix(ppci["Yt"])
        br = ppci["branch"]
        f_kv = self.base_kv[br[:, 0].real.astype(int)]
        t_kv = self.base_kv[br[:, 1].real.astype(int)]
        internal_row = np.cumsum(branch_is) - 1 if len(branch_is) else np.zeros(0, int)
        self.lines, line_rows, self.line_imax = branch_rows(net, "line", branch_is, internal_row)
        self.trafos, trafo_rows, _ = branch_rows(net, "trafo", branch_is, internal_row)
        # the rows of Yf, Yt and the end voltages (kV) of the lines, then of the transformers
        self.line_y = (yf[line_rows], yt[line_rows], f_kv[line_rows, None], t_kv[line_rows, None])
        self.trafo_y = (yf[trafo_rows], yt[trafo_rows], f_kv[trafo_rows, None],
                        t_kv[trafo_rows, None])  # fmt: skip
        self.trafo_scale_hv = self.trafo_scale_lv = np.zeros(0)
        if len(self.trafos):
            t = net.trafo.loc[self.trafos]
            self.trafo_scale_hv = t.vn_hv_kv.to_numpy() * SQRT3 / t.sn_mva.to_numpy() * 100 / (
                t.parallel.to_numpy() * t.df.to_numpy())  # fmt: skip
            self.trafo_scale_lv = t.vn_lv_kv.to_numpy() * SQRT3 / t.sn_mva.to_numpy() * 100 / (
                t.parallel.to_numpy() * t.df.to_numpy())  # fmt: skip

    def solve(
        self,
        p_mw: np.ndarray,
        q_mvar: np.ndarray,
        online: np.ndarray | None = None,
        shares: np.ndarray | None = None,
        pv: tuple[np.ndarray, np.ndarray, float | np.ndarray | None] | None = None,
        angles: bool = True,
    ) -> BatchResult:
        """Solve T load states: `p_mw`, `q_mvar` are (T, loads) in the net's load order.

        `online` (T, trucks) marks the PQ trucks running each step; `shares` (trucks + 1,) are the
        rating shares of the slack truck followed by the PQ trucks. `pv` gives the generators at
        `pv_buses`: their P (T, gens) in MW, reactive limit (T, gens) in Mvar (the same both
        ways) and voltage setpoint in pu (one for all, or each generator's: generators at one
        bus hold the first one's); with no setpoint (None) they run at a fixed power factor,
        injecting that Mvar (signed) instead. Time steps are solved in chunks that keep the
        sparse triangular solves in cache, each chunk without trucks or held voltages starting
        from the last solution of the chunk before (consecutive load states are close). Without
        `angles` the result has no `va_degree` (scans that read magnitudes only).
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
        start = None
        for a in range(0, max(steps, 1), CHUNK):
            cut = slice(a, a + CHUNK)
            pv_cut = (pv_p[cut], pv_q[cut], pv_vm)
            part, start = self._solve_chunk(
                p_mw[cut], q_mvar[cut], on[cut], shares, pv_cut, start, angles
            )
            parts.append(part)
        return BatchResult.stacked(parts)

    def _solve_chunk(
        self,
        p_mw: np.ndarray,
        q_mvar: np.ndarray,
        on: np.ndarray,
        shares: np.ndarray,
        pv: tuple[np.ndarray, np.ndarray, np.ndarray | None],
        start: np.ndarray | None,
        angles: bool = True,
    ) -> tuple[BatchResult, np.ndarray | None]:
        """One chunk of `solve`, and the PQ-bus voltages a next chunk may start from."""
        steps = p_mw.shape[0]
        loads = np.empty((p_mw.shape[1], steps), complex)  # (loads, T): no transposed copies
        loads.real, loads.imag = p_mw.T, q_mvar.T
        loads *= self.load_on[:, None]
        s_load = (self.load_matrix @ loads) / self.base_mva  # (n, T)
        s_bus = self.s_other[:, None] - s_load
        gen_p, gen_q, vm_set = pv
        held = self.pv_bus.size > 0 and vm_set is not None  # else at a fixed power factor
        truck_s = np.zeros((len(self.truck_idx), steps), complex)
        if self.pv_bus.size:
            to_bus = np.zeros((len(self.pv_bus), len(self.pv_of_gen)))
            to_bus[self.pv_of_gen, np.arange(len(self.pv_of_gen))] = 1.0
            p_pv = to_bus @ gen_p.T / self.base_mva  # (PV buses, T)
            q_lim = to_bus @ gen_q.T / self.base_mva
            if not held:  # at a fixed power factor: fixed injections
                s_bus[self.pv_bus] += p_pv + 1j * q_lim
        if held or len(self.truck_idx):
            given = (p_pv, q_lim, vm_set) if held else (None, None, None)
            v, s_bus, truck_s, q_pv, free, iterations = self._iterate_sharing(
                s_bus, on, shares, *given
            )
            converged = solved(self.y_pq_rows, v, self.pq, s_bus, MISMATCH_PU)
        else:
            v, iterations, converged = self._iterate(s_bus, start)
        if held:  # a PV bus in its limits holds its setpoint, one at a limit is at the one its
            error = vm_set - np.abs(v[self.pv_bus])  # voltage asks for (else pandapower's)
            wrong = ~free & (q_lim > 0) & (np.sign(q_pv) * error < -1e-4)
            converged &= ((np.abs(error) * free).max(axis=0, initial=0.0) < 1e-8) & ~wrong.any(0)
        slack = self._slack_power(v, s_bus) * self.base_mva  # (refs, T)
        line_loading = self._currents_ka(v, self.line_y)
        line_loading /= self.line_imax[:, None]
        line_loading *= 100.0
        hv, lv = self._currents_ka(v, self.trafo_y, both=True)
        trafo_loading = np.maximum(hv * self.trafo_scale_hv[:, None],
                                   lv * self.trafo_scale_lv[:, None])  # fmt: skip
        pv_q_mvar = share_by_range(q_pv * self.base_mva, self.pv_of_gen, gen_q) if held else gen_q
        at_bus = v[self.bus_pos]
        done = np.nonzero(converged)[0]
        result = BatchResult(
            converged=converged,
            vm_pu=np.abs(at_bus).T,
            line_loading_percent=line_loading.T,
            trafo_loading_percent=trafo_loading.T,
            slack_p_mw=slack.real.T,
            slack_q_mvar=slack.imag.T,
            truck_p_mw=(truck_s.real * self.base_mva).T,
            truck_q_mvar=(truck_s.imag * self.base_mva).T,
            iterations=iterations,
            va_degree=np.angle(at_bus, deg=True).T if angles else None,
            pv_q_mvar=pv_q_mvar,
        )
        return result, v[self.pq, done[-1]] if len(done) else None

    def _currents_ka(self, v: np.ndarray, rows: tuple, both: bool = False):
        """The current (kA) of branches `rows` (`line_y` or `trafo_y`) at both ends: the larger
        of the two, or (`both`) each."""
        y_f, y_t, f_kv, t_kv = rows
        ends = []
        for y, kv in ((y_f, f_kv), (y_t, t_kv)):  # |Y v| * MVA / sqrt(3) / kV, in place
            i_ka = np.abs(y @ v)
            i_ka *= self.base_mva
            i_ka /= SQRT3
            i_ka /= kv
            ends.append(i_ka)
        return (ends[0], ends[1]) if both else np.maximum(ends[0], ends[1], out=ends[0])

    def _iterate(
        self, s_bus: np.ndarray, start: np.ndarray | None
    ) -> tuple[np.ndarray, int, np.ndarray]:
        """The bus voltages (n, T) at injections `s_bus` (n, T, pu) (`planner.grid.zbus`) from
        `start` (PQ-bus voltages), else the no-load voltages; the iterations and which time steps
        have their mismatch under pandapower's tolerance: read from the last change, and where
        rounding could take it near that (branches of next to no impedance) as pandapower does."""
        if start is None:
            if self._v_no_load is None:  # the phase shifts of the transformers included
                self._v_no_load = self.y_pp.solve(-self.rhs_s)
            start = self._v_no_load
        solver = self._solver(s_bus.shape[1])
        x, iterations, converged = iterate(
            solver, self.rhs_s, s_bus[self.pq], start, TOL_PU, MAX_ITER, MISMATCH_PU
        )
        v = np.empty((self.n, x.shape[1]), complex)
        v[:] = self.v0[:, None]
        v[self.pq] = x
        if self._stiff is None:  # rounding alone could take `Y V` near the tolerance
            largest = float(np.asarray(abs(self.y_pq_rows).sum(axis=1)).max(initial=0.0))
            self._stiff = bool(largest * np.finfo(float).eps > MISMATCH_PU / 100)
        if self._stiff:  # branches of next to no impedance: the mismatch pandapower computes
            converged &= solved(self.y_pq_rows, v, self.pq, s_bus, MISMATCH_PU)
        return v, iterations, converged

    def _solver(self, steps: int) -> SuperLU | Sweeps:
        """What `_iterate` solves `steps` time steps with: by levels (`Sweeps`) a full chunk of a
        wide grid, where they repay their building (10 ms at 10,000 buses), else SuperLU."""
        if steps < CHUNK:
            return self.y_pp
        if self._sweeps is None:
            self._sweeps = Sweeps.of(self.y_pp, wide=SWEEP_WIDTH) or self.y_pp
        return self._sweeps

    def _iterate_sharing(self, s_fixed, on, shares, p_pv, q_lim, vm_set):
        """`_iterate` with the PQ trucks' shares of the island load and the PV buses'
        reactive power (`p_pv`, `q_lim` (PV buses, T) and `vm_set` when held) updated every
        iteration; from the start voltage (held PV buses at their setpoints). Returns the
        voltages, the injections with the trucks' and generators', the trucks' (trucks, T),
        the PV buses' reactive power and which of them are inside their limits, iterations."""
        steps = s_fixed.shape[1]
        n_trucks = len(self.truck_idx)
        v = np.repeat(self.v0[:, None], steps, axis=1)
        pq = self.pq
        rhs_s = self.rhs_s[:, None]
        truck_s = np.zeros((n_trucks, steps), complex)
        s_bus = s_fixed
        held = vm_set is not None
        q_pv, free = np.zeros((len(self.pv_bus), steps)), np.ones((len(self.pv_bus), steps), bool)
        if held:  # PV buses start at their setpoint
            v[self.pv_bus] = vm_set * np.exp(1j * np.angle(v[self.pv_bus]))
        v_pq = v[pq]
        s_pq = s_fixed[pq]
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
            s_now = s_pq
            if held:
                s_now = s_pq.copy()
                s_now[self.pv_rows] += p_pv + 1j * q_pv
            new = self.y_pp.solve(np.conj(s_now / v_pq) - rhs_s)
            change = float(np.abs(new - v_pq).max(initial=0.0))
            v_pq = new
            if held:  # the reactive power that holds each PV bus, within its limits
                q_pv, free = self._pv_q(vm_set - np.abs(v_pq[self.pv_rows]), q_pv, q_lim)
            if change < TOL_PU:
                break
        v[pq] = v_pq
        if held:  # the generators' injections at the solution found
            s_bus = s_bus.copy()
            s_bus[self.pv_bus] += p_pv + 1j * q_pv
        return v, s_bus, truck_s, q_pv, free, iterations

    def _pv_q(self, error: np.ndarray, q: np.ndarray, q_lim: np.ndarray):
        """`reactive_correction` with this model's dV/dQ between its PV buses."""
        if self._dv_dq is None:  # Im(Z) between the PV buses: dV/dQ near a flat voltage
            unit = np.zeros((len(self.pq), len(self.pv_bus)), complex)
            unit[self.pv_rows, np.arange(len(self.pv_bus))] = 1.0
            self._dv_dq = self.y_pp.solve(unit)[self.pv_rows].imag
        return reactive_correction(self._dv_dq, error, q, q_lim)

    def _slack_power(self, v: np.ndarray, s_bus: np.ndarray) -> np.ndarray:
        """Power the slack sources inject: the bus's computed injection minus its other elements."""
        s_calc = v[self.ref] * np.conj(self.y_ref_rows @ v)
        return s_calc - s_bus[self.ref]
