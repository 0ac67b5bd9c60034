"""The n-1 reserve of a truck island: its largest truck tripped, at every hour of the stage."""

from __future__ import annotations

import numpy as np
import pandapower as pp

from planner.checks.islands import Island, truck_island_net
from planner.checks.solve import blocks, loads_array
from planner.core.plan import Violation
from planner.grid.context import StageContext, set_design_loads
from planner.grid.limits import Findings
from planner.grid.powerflow import island_model, solve_island

__all__ = ["check_n_1"]


def check_n_1(
    ctx: StageContext,
    net: pp.pandapowerNet,
    island: Island,
    f: Findings,
    counts: list[int],
) -> None:
    """The island with its largest truck tripped, at every hour: of the trucks online that hour
    (`counts`), one fewer must carry the island within every limit."""
    trucks = island.trucks
    if len(trucks) < 2:
        message = f"island {island.id}: n-1 reserve needs at least 2 trucks, has {len(trucks)}"
        f.add(Violation("reserve", message, island=island.id, value=len(trucks), limit=2))
        return
    groups = list(ctx.demand.groups)
    whens = [g.times[0].isoformat() for g in groups]
    largest = max(t.rating_kva for t in trucks)
    tried = set()
    for gone in trucks:
        if gone.rating_kva < largest or gone.bus in tried:
            continue
        tried.add(gone.bus)
        rest = [t for t in trucks if t is not gone]
        sub, _ = truck_island_net(ctx, net, island, rest)
        label = f"island {island.id} with truck {gone.id} tripped"
        scratch = Findings(f.net, f.limits, namer=f.namer)
        set_design_loads(sub, ctx, groups[0])
        model = island_model(sub, rest)
        if model is None:  # pandapower at the island's peak hour only
            peak = max(range(len(groups)), key=lambda k: ctx.load_kw(island.served, groups[k])[0])
            set_design_loads(sub, ctx, groups[peak])
            on = rest[: max(counts[peak] - 1, 1)]
            sol = solve_island(sub, on)
            f.load_flows += 1
            if not sol.converged:
                f.add(
                    Violation(
                        "reserve",
                        f"{label}: {sol.error}",
                        gone.id,
                        island=island.id,
                        time=whens[peak],
                    )
                )
                continue
            scratch.check(sol, label, whens[peak], island.id)
            scratch.observe_trucks(
                on, sol.truck_p_kw or {}, sol.truck_q_kvar or {}, island.id, whens[peak]
            )
        else:
            running = [max(count - 1, 1) for count in counts]
            shares = np.array([t.rating_kva for t in rest])
            scan = scratch.scan_rows(label, island.id)
            for block in blocks(list(range(len(groups)))):
                p, q = loads_array(sub, ctx, [groups[k] for k in block])
                online = np.array(
                    [[j < running[k] - 1 for j in range(len(rest) - 1)] for k in block]
                ).reshape(len(block), len(rest) - 1)
                res = model.solve(p, q, online, shares)
                f.load_flows += len(block)
                for r in np.nonzero(~res.converged)[0].tolist():
                    f.add(
                        Violation(
                            "reserve",
                            f"{label}: load flow did not converge",
                            gone.id,
                            island=island.id,
                            time=whens[block[r]],
                        )
                    )
                ok = np.nonzero(res.converged)[0].tolist()
                scratch.feed_result(scan, model, res, ok, [whens[block[r]] for r in ok])
                for r in ok:
                    k = block[r]
                    kw = [res.slack_p_mw[r, 0], *res.truck_p_mw[r, : running[k] - 1]]
                    kvar = [res.slack_q_mvar[r, 0], *res.truck_q_mvar[r, : running[k] - 1]]
                    for t, p_mw, q_mvar in zip(rest, kw, kvar, strict=False):
                        scratch.observe_truck(
                            t, float(p_mw) * 1000, float(q_mvar) * 1000, island.id, whens[k]
                        )
            scan.finish()
        for v in scratch.violations.values():
            text = v.message.removeprefix(f"island {island.id}: ")
            message = text if text.startswith(label) else f"{label}: {text}"
            f.add(Violation("reserve", message, v.element, v.value, v.limit, island.id, v.time))
