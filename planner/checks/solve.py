"""Solving a stage state at every load state: the grid-fed part and each truck island.

The batched engine solves all load states of a part at once; where it does not apply or does not
converge, pandapower's Newton-Raphson solves the state alone. Truck islands run the hourly
commitment's trucks, one more where losses push the online ones over their rating.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandapower as pp
import pandas as pd

from planner.checks.commitment import commit, online_count
from planner.checks.islands import Island
from planner.core.plan import Violation
from planner.grid.context import StageContext, set_design_loads
from planner.grid.engine import CHUNK, BatchModel, Unsupported
from planner.grid.limits import TOL, Findings
from planner.grid.powerflow import island_model, solve_grid, solve_island
from planner.grid.state import copy_net
from planner.inputs.demand import StepGroup, design_rows

__all__ = [
    "ROWS",
    "IslandHour",
    "blocks",
    "loads_array",
    "solve_grid_states",
    "solve_island_states",
]


@dataclass(frozen=True)
class IslandHour:
    """One load state of a truck island: trucks online, their output, the voltage range."""

    online: list[str]
    p_kw: dict[str, float]
    q_kvar: dict[str, float]
    vm_min: float
    vm_max: float


# load states solved and checked together: a multiple of the engine's own block (`CHUNK`), so
# every state is solved in the same company as in one call (the batch iterates until all of a
# block converge), and small enough that the (states, loads) inputs and (states, buses) results
# of a 10,000-bus grid stay near 100 MB whatever the stage's length
ROWS = 16 * CHUNK


def loads_array(net: pp.pandapowerNet, ctx: StageContext, groups: list[StepGroup]):
    """Design P and Q (MW, Mvar) of `net`'s loads at each load state, one row per state."""
    pos = pd.Index(ctx.demand.loads).get_indexer(net.load.index)
    return design_rows(groups, pos), design_rows(groups, pos, q=True)


def blocks(items: list[int], size: int | None = None) -> list[list[int]]:
    """`items` in consecutive blocks of `size` (`ROWS` as the module holds it now)."""
    size = size or ROWS
    return [items[a : a + size] for a in range(0, len(items), size)]


def solve_grid_states(
    ctx, net, grid, groups, whens, findings: Findings, rows: int | None = None
) -> list[tuple[float, float]]:
    """Grid-connected part at every load state: the batched engine (`rows` states at a time),
    else pandapower per state."""
    set_design_loads(net, ctx, groups[0])
    try:
        model = BatchModel(copy_net(net))
    except Unsupported:
        model = None
    out: list[tuple[float, float]] = [(math.nan, math.nan)] * len(groups)
    todo = list(range(len(groups)))
    if model is not None:
        scan = findings.scan_rows("grid")
        failed: list[int] = []
        for block in blocks(todo, rows):
            p, q = loads_array(net, ctx, [groups[k] for k in block])
            res = model.solve(p, q, angles=False)
            findings.load_flows += len(block)
            ok = np.nonzero(res.converged)[0].tolist()
            findings.feed_result(scan, model, res, ok, [whens[block[r]] for r in ok])
            low = res.vm_pu.min(axis=1, initial=math.inf).tolist()
            high = res.vm_pu.max(axis=1, initial=-math.inf).tolist()
            for r in ok:
                out[block[r]] = (low[r], high[r])
            failed += [k for r, k in enumerate(block) if not res.converged[r]]
        scan.finish()
        todo = failed
    for k in todo:  # pandapower's Newton-Raphson where the engine does not apply or converge
        set_design_loads(net, ctx, groups[k])
        sol = solve_grid(net, grid)
        findings.load_flows += 1
        if not sol.converged:
            message = f"grid part at {whens[k]}: {sol.error}"
            findings.add(Violation("not_converged", message, time=whens[k]))
            continue
        findings.check(sol, "grid", whens[k])
        vms = list(sol.vm_pu.values())
        out[k] = (min(vms, default=math.nan), max(vms, default=math.nan))
    return out


def solve_island_states(
    ctx, island: Island, groups, whens, findings: Findings, n_1: bool, floor: int = 1,
    rows: int | None = None,
):  # fmt: skip
    """A truck island at every load state, with the hourly commitment of its trucks (never
    fewer than `floor` online: the fault current protection needs), `rows` states at a time."""
    fleet = ctx.case.fleet
    trucks = island.trucks
    counts = []
    for group in groups:
        p_kw, q_kvar = ctx.load_kw(island.served, group)
        if fleet.types:  # each truck its own type's ratings
            ratings = [(t.rating_kw, t.rating_kva) for t in trucks]
            count, kept = commit(p_kw, q_kvar, ratings, fleet.min_loading, n_1)
        else:
            count, kept = online_count(
                p_kw, q_kvar, len(trucks), fleet.rating_kw, fleet.rating_kva, fleet.min_loading, n_1
            )
        if not kept:
            findings.min_loading_hours.extend(t.isoformat() for t in group.times)
        counts.append(max(count, min(floor, len(trucks))))
    sub = island.net
    assert sub is not None
    set_design_loads(sub, ctx, groups[0])
    model = island_model(sub, trucks)
    out: list[IslandHour | None] = [None] * len(groups)
    todo = list(range(len(groups)))
    if model is not None:
        shares = np.array([t.rating_kva for t in trucks])
        pending = todo
        while pending:
            retry = []
            for block in blocks(pending, rows):
                retry += _island_block(
                    ctx, island, model, groups, whens, block, counts, shares, findings, out
                )
            pending = retry
        todo = [k for k in todo if out[k] is None]
    for k in todo:
        out[k] = _island_step(ctx, island, groups[k], whens[k], counts[k], findings)
    return out


def _island_block(
    ctx, island: Island, model, groups, whens, pending: list[int], counts: list[int],
    shares: np.ndarray, findings: Findings, out: list[IslandHour | None],
) -> list[int]:  # fmt: skip
    """Solve the load states `pending` of a truck island with `counts[k]` trucks online; fill
    `out`, and return the states to solve again with one more truck (losses pushed the online
    ones over their rating)."""
    trucks = island.trucks
    p, q = loads_array(island.net, ctx, [groups[k] for k in pending])
    online = np.array(
        [[j < counts[k] - 1 for j in range(len(trucks) - 1)] for k in pending]
    ).reshape(len(pending), len(trucks) - 1)
    res = model.solve(p, q, online, shares)
    findings.load_flows += len(pending)
    retry = []
    for row, k in enumerate(pending):
        if not res.converged[row]:
            continue
        on = trucks[: counts[k]]
        p_kw, q_kvar = res.outputs_kw(row, [t.id for t in on])
        loading = {t.id: t.loading_percent(p_kw[t.id], q_kvar[t.id]) for t in on}
        if max(loading.values()) > 100.0 + TOL and counts[k] < len(trucks):
            counts[k] += 1  # losses pushed the online trucks over their rating
            retry.append(k)
            continue
        findings.check_result(model, res, [row], [whens[k]], f"island {island.id}", island.id)
        findings.observe_trucks(on, p_kw, q_kvar, island.id, whens[k])
        worst = max(loading.values())
        vm = res.vm_pu[row]
        if worst > 100.0 + TOL:  # too few trucks: what they could carry, the rest shed
            share = online[row : row + 1]
            factor = 100.0 / worst
            cut = model.solve(p[[row]] * factor, q[[row]] * factor, share, shares)
            if not cut.converged[0]:
                continue
            p_kw, q_kvar = cut.outputs_kw(0, [t.id for t in on])
            vm = cut.vm_pu[0]
            _shed(ctx, island, groups[k], whens[k], factor, findings)
        out[k] = IslandHour([t.id for t in on], p_kw, q_kvar, float(vm.min()), float(vm.max()))
    return retry


def _shed(ctx, island: Island, group: StepGroup, when: str, factor: float, findings) -> None:
    """Every truck of an island online and still over its limit: the schedule shows what the
    trucks can carry (the island's load scaled down to fit) and the rest is unserved."""
    p_kw, _ = ctx.load_kw(island.served, group)
    unserved = p_kw * (1.0 - factor)
    findings.unserved_kw = max(findings.unserved_kw, unserved)
    message = (
        f"island {island.id} at {when}: its {len(island.trucks)} truck(s) carry at most "
        f"{p_kw * factor:,.0f} of {p_kw:,.0f} kW of protected load: {unserved:,.0f} kW unserved"
    )
    findings.add(
        Violation("unserved", message, island=island.id, value=round(unserved, 1), limit=0.0,
                  time=when)
    )  # fmt: skip


def _island_step(
    ctx, island: Island, group: StepGroup, when: str, count: int, findings: Findings
) -> IslandHour | None:
    """One load state of a truck island with pandapower (the engine's fallback)."""
    sub = island.net
    assert sub is not None
    set_design_loads(sub, ctx, group)
    while True:
        online = island.trucks[:count]
        sol = solve_island(sub, online)
        findings.load_flows += 1
        loadings = sol.truck_loading_percent(online) if sol.converged else {}
        overloaded = any(v > 100.0 + TOL for v in loadings.values())
        if (sol.converged and not overloaded) or count >= len(island.trucks):
            break
        count += 1
    if not sol.converged:
        message = f"island {island.id} at {when}: {sol.error} with {len(online)} truck(s) online"
        findings.add(Violation("not_converged", message, island=island.id, time=when))
        return None
    findings.check(sol, f"island {island.id}", when, island.id)
    findings.observe_trucks(online, sol.truck_p_kw or {}, sol.truck_q_kvar or {}, island.id, when)
    worst = max(loadings.values(), default=0.0)
    if worst > 100.0 + TOL:  # too few trucks: what they could carry, the rest shed
        factor = 100.0 / worst
        sub.load["p_mw"] = sub.load.p_mw * factor
        sub.load["q_mvar"] = sub.load.q_mvar * factor
        shed = solve_island(sub, online)
        if shed.converged:
            sol = shed
            _shed(ctx, island, group, when, factor, findings)
    vms = list(sol.vm_pu.values())
    return IslandHour(
        [t.id for t in online],
        dict(sol.truck_p_kw or {}),
        dict(sol.truck_q_kvar or {}),
        min(vms),
        max(vms),
    )
