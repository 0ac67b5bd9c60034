"""AC load flow of one network state: the grid-connected part, and truck islands each on its own.

Trucks in an island are grid-forming and share P and Q in proportion to their rating (governor
and reactive droop). pandapower has no such sharing, so it is imposed explicitly: the first truck
is the island's slack (an ext_grid at `vm_setpoint_pu`), the others are PQ injections set to their
share of the island total, and the total is re-read from the slack until the slack's own share
agrees (losses make the total move a little between iterations).
"""

from __future__ import annotations

import functools
import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandapower as pp
import pandas as pd

from planner.grid.engine import (
    BatchModel,
    BatchResult,
    Unsupported,
    solver_failure,
    start_voltage,
)
from planner.grid.state import copy_net
from planner.inputs.case import Fleet, TruckType
from planner.inputs.network import BUS_COLUMNS

__all__ = [
    "GridSolution",
    "IslandSolution",
    "TruckAt",
    "curtail_kept_sgen",
    "prepare_island",
    "run",
    "setpoint_pu",
    "solve_grid",
    "solve_island",
    "solve_island_batch",
    "truck_loading_percent",
]

log = logging.getLogger(__name__)

SHARING_TOL_MW = 1e-6
SHARING_MAX_ITER = 30


@dataclass(frozen=True)
class TruckAt:
    """A truck placed at a bus, with its two limits: active power and apparent power, and
    its type where the fleet has `[[fleet.types]]` (None: the fleet's, or its id's, type)."""

    id: str
    bus: int
    rating_kw: float
    rating_kva: float
    kind: TruckType | None = None

    def loading_percent(self, p_kw: float, q_kvar: float) -> float:
        """This truck's loading at the given output (see `truck_loading_percent`)."""
        return truck_loading_percent(p_kw, q_kvar, self.rating_kw, self.rating_kva)


def setpoint_pu(fleet: Fleet, trucks: Sequence[TruckAt]) -> float:
    """The voltage an island's trucks hold: the setpoint of its slack's (the first truck's)
    type; the fleet's without trucks."""
    if not trucks:
        return fleet.vm_setpoint_pu
    return fleet.machine(trucks[0].id, trucks[0].kind).vm_setpoint_pu


def truck_loading_percent(p_kw: float, q_kvar: float, rating_kw: float, rating_kva: float) -> float:
    """A truck's loading against the tighter of its two limits: kW over `rating_kw` (the engine)
    and kVA over `rating_kva` (the alternator). 100 % is the most a truck may run at."""
    return max(p_kw / rating_kw, math.hypot(p_kw, q_kvar) / rating_kva) * 100.0


@dataclass(frozen=True)
class GridSolution:
    converged: bool
    vm_pu: dict[int, float]
    line_loading_percent: dict[int, float]
    trafo_loading_percent: dict[int, float]
    error: str = ""


@dataclass(frozen=True)
class IslandSolution(GridSolution):
    truck_p_kw: dict[str, float] | None = None
    truck_q_kvar: dict[str, float] | None = None

    def truck_loading_percent(self, trucks: list[TruckAt]) -> dict[str, float]:
        """Each truck's loading against the tighter of its kW and kVA limits."""
        p, q = self.truck_p_kw or {}, self.truck_q_kvar or {}
        return {t.id: t.loading_percent(p.get(t.id, 0.0), q.get(t.id, 0.0)) for t in trucks}


def run(net: pp.pandapowerNet, *, enforce_q_lims: bool = False) -> str:
    """Run pandapower's Newton-Raphson; returns '' on success, else why it failed. With
    `enforce_q_lims` a generator at its reactive limit lets its voltage float."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runpp(
                net, numba=False, lightsim2grid=False, init="auto", max_iteration=30,
                enforce_q_lims=enforce_q_lims, **start_voltage(net),
            )  # fmt: skip
    except pp.LoadflowNotConverged:
        return "load flow did not converge"
    except Exception as exc:
        if not solver_failure(exc):
            raise  # a bug in the planner, not a finding about the network
        return f"load flow failed: {type(exc).__name__}: {exc}"
    return ""


def results(net: pp.pandapowerNet, buses: set[int] | None) -> tuple[dict, dict, dict]:
    """Solved bus voltages (of `buses`, or all), line and transformer loadings, finite only."""
    vm = net.res_bus.vm_pu
    if buses is not None:
        vm = vm[vm.index.isin(list(buses))]
    line = net.res_line.loading_percent if len(net.line) else None
    trafo = net.res_trafo.loading_percent if len(net.trafo) else None
    return _finite(vm), _finite(line), _finite(trafo)


def _finite(values: pd.Series | None) -> dict[int, float]:
    """The finite entries of a result column, by element index (Python ints and floats)."""
    if values is None:
        return {}
    data = values.to_numpy(dtype=float)
    keep = np.isfinite(data)
    ids = values.index.to_numpy()[keep].astype(int)
    return dict(zip(ids.tolist(), data[keep].tolist(), strict=True))


def solve_grid(net: pp.pandapowerNet, energised: frozenset[int]) -> GridSolution:
    """Solve the grid-connected part of `net` (unfed buses are left out by pandapower)."""
    error = run(net)
    if error:
        return GridSolution(False, {}, {}, {}, error)
    vm, line, trafo = results(net, set(energised))
    return GridSolution(True, vm, line, trafo)


_CREATED = ("ext_grid", "sgen", "gen", "load", "storage", "switch")  # written to in an island


@functools.cache
def _empty_network() -> pp.pandapowerNet:
    return pp.create_empty_network(add_stdtypes=False)


def subnet(net: pp.pandapowerNet, buses: frozenset[int] | set[int]) -> pp.pandapowerNet:
    """The part of `net` on `buses`: what `pandapower.toolbox.select_subnet` gives for elements
    with every bus inside, built directly from the tables (select_subnet is slow)."""
    keep = pd.Index(sorted(buses))
    # creating an empty network costs ~0.1 s; its tables that get rows are copied below
    sub = copy_net(_empty_network(), *_CREATED)
    sub.name, sub.f_hz, sub.sn_mva = net.name, net.f_hz, net.sn_mva
    sub.bus = net.bus.loc[net.bus.index.isin(keep)].copy()
    for table, columns in BUS_COLUMNS.items():
        if table != "switch" and table in net and len(net[table]):
            df = net[table]
            mask = np.ones(len(df), bool)
            for column in columns:
                mask &= df[column].isin(keep).to_numpy()
            sub[table] = df.loc[mask].copy()
    if len(net.switch):
        sw = net.switch
        inside = sw.bus.isin(keep).to_numpy()
        element_ok = np.zeros(len(sw), bool)
        for et, table in (("b", "bus"), ("l", "line"), ("t", "trafo"), ("t3", "trafo3w")):
            rows = (sw.et == et).to_numpy()
            if rows.any():
                element_ok[rows] = sw.element[rows].isin(sub[table].index).to_numpy()
        sub.switch = sw.loc[inside & element_ok].copy()
    return sub


def prepare_island(
    net: pp.pandapowerNet,
    buses: frozenset[int],
    trucks: list[TruckAt],
    vm_setpoint_pu: float,
    keep_sgen: bool,
    shed_loads: set[int],
) -> pp.pandapowerNet:
    """A sub-network of one island with its trucks added (slack first, then PQ injections)."""
    sub = subnet(net, buses)
    sub.ext_grid = sub.ext_grid.iloc[0:0]
    if not keep_sgen:
        for table in ("sgen", "gen", "storage"):
            if table in sub and len(sub[table]):
                sub[table]["in_service"] = False
    if shed_loads and len(sub.load):
        sub.load.loc[sub.load.index.isin(list(shed_loads)), "in_service"] = False
    slack, *others = trucks
    pp.create_ext_grid(sub, slack.bus, vm_pu=vm_setpoint_pu, name=slack.id)
    for truck in others:
        pp.create_sgen(sub, truck.bus, p_mw=0.0, q_mvar=0.0, name=truck.id, type="truck")
    return sub


def curtail_kept_sgen(sub: pp.pandapowerNet, limit_mw: float) -> float:
    """Scale an island's kept generation down to `limit_mw` in total (P and Q alike), so that
    its trucks never absorb power; returns the kW curtailed (0 when it fits)."""
    kept = (sub.sgen.type != "truck") & sub.sgen.in_service.astype(bool)
    if not kept.any():
        return 0.0
    total_mw = float((sub.sgen.p_mw[kept] * sub.sgen.scaling[kept]).sum())
    limit_mw = max(limit_mw, 0.0)
    if total_mw <= limit_mw:
        return 0.0
    factor = limit_mw / total_mw
    sub.sgen.loc[kept, "p_mw"] = sub.sgen.p_mw[kept] * factor
    sub.sgen.loc[kept, "q_mvar"] = sub.sgen.q_mvar[kept] * factor
    return (total_mw - limit_mw) * 1000.0


def solve_island(sub: pp.pandapowerNet, trucks: list[TruckAt]) -> IslandSolution:
    """Solve a prepared island with `trucks` online (the island's slack truck first), the
    others of the island off, and proportional P/Q sharing among those online."""
    slack, *others = trucks
    total_rating = sum(t.rating_kva for t in trucks)
    shares = np.array([t.rating_kva / total_rating for t in trucks])
    is_truck = sub.sgen.type == "truck"
    sub.sgen.loc[is_truck, "in_service"] = sub.sgen.loc[is_truck, "name"].isin(
        [t.id for t in others]
    )
    by_name = {str(name): idx for idx, name in sub.sgen.name[is_truck].items()}
    truck_sgens = [by_name[t.id] for t in others]
    load_on = sub.load.in_service.astype(bool)
    p_total = float((sub.load.p_mw * load_on).sum())
    q_total = float((sub.load.q_mvar * load_on).sum())
    error = ""
    for _ in range(SHARING_MAX_ITER):
        if len(others):
            sub.sgen.loc[truck_sgens, "p_mw"] = shares[1:] * p_total
            sub.sgen.loc[truck_sgens, "q_mvar"] = shares[1:] * q_total
        error = run(sub)
        if error:
            break
        p_slack = float(sub.res_ext_grid.p_mw.iloc[0])
        q_slack = float(sub.res_ext_grid.q_mvar.iloc[0])
        new_p = p_slack + float(shares[1:].sum() * p_total)
        new_q = q_slack + float(shares[1:].sum() * q_total)
        done = abs(new_p - p_total) < SHARING_TOL_MW and abs(new_q - q_total) < SHARING_TOL_MW
        p_total, q_total = new_p, new_q
        if done or not len(others):
            break
    if error:
        return IslandSolution(False, {}, {}, {}, error)
    vm, line, trafo = results(sub, None)
    p_kw = {slack.id: float(sub.res_ext_grid.p_mw.iloc[0]) * 1000.0}
    q_kvar = {slack.id: float(sub.res_ext_grid.q_mvar.iloc[0]) * 1000.0}
    for truck, idx in zip(others, truck_sgens, strict=True):
        p_kw[truck.id] = float(sub.sgen.at[idx, "p_mw"]) * 1000.0
        q_kvar[truck.id] = float(sub.sgen.at[idx, "q_mvar"]) * 1000.0
    return IslandSolution(True, vm, line, trafo, "", p_kw, q_kvar)


def island_model(sub: pp.pandapowerNet, trucks: list[TruckAt]) -> BatchModel | None:
    """The batched engine's model of a prepared island, `trucks[0]` its slack and the others
    its sharing PQ trucks; None where the engine does not apply (pandapower then solves it)."""
    others = trucks[1:]
    is_truck = sub.sgen.type == "truck"
    sub.sgen.loc[is_truck, "in_service"] = sub.sgen.loc[is_truck, "name"].isin(
        [t.id for t in others]
    )
    by_name = {str(name): int(idx) for idx, name in sub.sgen.name[is_truck].items()}
    try:
        return BatchModel(copy_net(sub), [by_name[t.id] for t in others])
    except Unsupported:
        return None


def row_solution(model: BatchModel, res: BatchResult, row: int, ids: list[str]) -> IslandSolution:
    """One time step of a batched result as a solution (trucks `ids` online, slack first)."""
    p_kw, q_kvar = res.outputs_kw(row, ids) if ids else ({}, {})

    def values(ids: np.ndarray, data: np.ndarray) -> dict[int, float]:
        return dict(zip(ids.tolist(), data[row].tolist(), strict=True))  # Python ints, floats

    return IslandSolution(
        True,
        values(model.bus_ids, res.vm_pu),
        values(model.lines, res.line_loading_percent),
        values(model.trafos, res.trafo_loading_percent),
        "",
        p_kw,
        q_kvar,
    )


def solve_island_batch(
    sub: pp.pandapowerNet,
    trucks: list[TruckAt],
    p_mw: np.ndarray,
    q_mvar: np.ndarray,
    model: BatchModel | None,
) -> list[IslandSolution]:
    """`solve_island` at several load states (rows of `p_mw`, `q_mvar`, in `sub`'s load order,
    scaling included) with one model of the batched engine (`island_model`'s); a state the
    engine does not cover (no model) or solve is solved by `solve_island` on a copy with its
    loads."""
    out: list[IslandSolution | None] = [None] * len(p_mw)
    if model is not None:
        res = model.solve(
            p_mw, q_mvar, np.ones((len(p_mw), len(trucks) - 1), bool),
            np.array([t.rating_kva for t in trucks]),
        )  # fmt: skip
        for done in np.nonzero(res.converged)[0].tolist():
            out[done] = row_solution(model, res, done, [t.id for t in trucks])
    for row, sol in enumerate(out):
        if sol is None:
            one = copy_net(sub)
            one.load["p_mw"], one.load["q_mvar"], one.load["scaling"] = p_mw[row], q_mvar[row], 1.0
            out[row] = solve_island(one, trucks)
    return [sol for sol in out if sol is not None]


def solve_island_fast(sub: pp.pandapowerNet, trucks: list[TruckAt]) -> IslandSolution:
    """`solve_island` through the batched engine (one pandapower run instead of one per
    sharing iteration); falls back to `solve_island` where the engine does not apply."""
    scale = sub.load.scaling.to_numpy()
    p = (sub.load.p_mw.to_numpy() * scale)[None, :]
    q = (sub.load.q_mvar.to_numpy() * scale)[None, :]
    return solve_island_batch(sub, trucks, p, q, island_model(sub, trucks))[0]
