"""Risk: how likely a plan's set-ups break a limit when the load is not its forecast.

Each stage's set-up (switching and trucks, as planned or as a plan file says) is solved in every
load scenario of `planner.inputs.uncertainty` (`[loads] scenarios`, drawn from `[loads] seed`)
at the stage's critical check times: its highest and lowest total demand and each feeder's
highest. All scenarios of a part of the network are one batch of the engine, through the same
solving and limit checks as the plan's hourly check (`planner.checks.solve`, `Findings`): the
grid-fed part, and each truck island with its hourly commitment (as many trucks online as the
scenario's load needs, load beyond all of them unserved). A scenario breaks when any voltage,
line, transformer, truck or unserved-load limit breaks in any stage; a limit the normal state
breaks as badly at that time does not count. `summary.risk` is the share of scenarios that
break, its standard error, and the limit that breaks most often.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planner.checks.findings import StageCheck
from planner.checks.islands import classify, truck_island_net
from planner.checks.normal_state import normal_exemptions
from planner.checks.solve import solve_grid_states, solve_island_states
from planner.core.plan import Violation
from planner.grid.context import StageContext
from planner.grid.limits import WORSE_BY, Exemptions, Findings
from planner.grid.powerflow import TruckAt
from planner.inputs.case import Case, Reserve
from planner.inputs.demand import StepGroup
from planner.inputs.schema import shown
from planner.inputs.uncertainty import design_factors, feeders, scenario_factors

__all__ = ["MODEL", "StageRisk", "check_risk", "critical_groups", "plan_risk", "stage_risk"]

MAX_VALUES = 4_000_000  # load values (scenarios x critical times x loads) solved in one batch
MODEL = (
    "actual load = forecast x (1 + e), e = sigma x (sqrt(feeder_share) x F + "
    "sqrt(1 - feeder_share) x E): F standard normal per feeder, E per load, one draw per "
    "scenario and stage, floored at no load"
)


@dataclass(frozen=True)
class StageRisk:
    """The scenarios of one stage: which break, and each limit's breaks per check time."""

    name: str
    broken: np.ndarray  # (scenarios,) bool
    breaks: dict[tuple[str, str, str], int]  # (kind, element, time) -> scenarios it breaks in
    times: tuple[str, ...]  # the critical check times solved
    design_factor_max: float  # the largest factor on a load's forecast in the design load


@dataclass
class _Recorder(Findings):
    """`Findings` that also keep every violation added, not only the worst per element."""

    events: list[Violation] = field(default_factory=list)
    pending: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, v: Violation, higher_is_worse: bool = True) -> None:
        self.events.append(v)
        super().add(v, higher_is_worse)

    def check_result(self, model, res, rows, whens, where, island="") -> None:
        """Kept for `flush`: the island solver checks one row at a time, and a scenario batch
        has thousands; every time each limit breaks is recorded either way (`breaches`)."""
        self.pending.append((model, res, list(rows), list(whens), where, island))

    def flush(self) -> None:
        """Check the rows kept, all rows of one engine result at once."""
        batches: dict[tuple[int, str, str], tuple[Any, ...]] = {}
        for model, res, rows, whens, where, island in self.pending:
            batch = batches.setdefault((id(res), where, island), (model, res, [], []))
            batch[2].extend(rows)
            batch[3].extend(whens)
        for (_, where, island), (model, res, rows, whens) in batches.items():
            super().check_result(model, res, rows, whens, where, island)
        self.pending.clear()


def critical_groups(ctx: StageContext, feeder_of: np.ndarray) -> list[int]:
    """The stage's load states (indices of `ctx.demand.groups`) the scenarios are solved at:
    the highest and lowest total demand, and each feeder's highest."""
    demand = ctx.demand
    total = demand.p_sums(np.arange(len(demand.loads)))
    picks = {int(np.argmax(total)), int(np.argmin(total))}
    for f in np.unique(feeder_of):
        picks.add(int(np.argmax(demand.p_sums(np.nonzero(feeder_of == f)[0]))))
    return sorted(picks)


class _Context(StageContext):
    """A stage's context that finds the positions of a list of loads once: the island solver
    asks for them per load state, and here there are thousands."""

    @functools.cached_property
    def _known(self) -> dict[tuple[int, ...], np.ndarray]:
        return {}

    def _positions(self, loads: list[int]) -> np.ndarray:
        key = tuple(loads)
        if key not in self._known:
            self._known[key] = super()._positions(loads)
        return self._known[key]


def _fewest_online(check: StageCheck, trucks: list[TruckAt]) -> int:
    """The fewest of `trucks` the plan's hourly commitment runs at any check time: at least
    the protection floor, so a scenario never runs fewer (finding that floor again would cost
    fault calculations)."""
    ids = {t.id for t in trucks}
    counts = [sum(1 for t in h.online if t in ids) for h in check.hours]
    return max(min(counts, default=1), 1)


def stage_risk(ctx: StageContext, check: StageCheck, stream: int) -> StageRisk:
    """Solve the set-up of `check` in every scenario of the stage (`stream`: its position in
    the case), in batches of at most `MAX_VALUES` load values."""
    case = ctx.case
    own = ctx
    ctx = _Context(**{f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx)})
    ctx.__dict__["memo"] = own.memo  # the same fields: what was solved from them holds
    feeder_of = feeders(ctx.base_net)
    factors = design_factors(case, ctx.base_net)
    draws = scenario_factors(case.loads, feeder_of, stream)
    picks = critical_groups(ctx, feeder_of)
    normal = normal_exemptions(ctx)
    found = Findings(ctx.base_net, case.limits, namer=ctx.namer)
    net, grid, islands = classify(ctx, check.setup, found)
    for island in islands:
        if island.trucks:
            island.net, island.curtailed_kw = truck_island_net(ctx, net, island, island.trucks)
    size = max(1, MAX_VALUES // max(1, len(picks) * len(factors)))
    hits: set[tuple[int, str, str, str]] = set()
    for first in range(0, len(draws), size):
        scenarios = range(first, min(first + size, len(draws)))
        groups: list[StepGroup] = []
        labels: list[str] = []
        scenario_at: dict[str, tuple[int, str]] = {}
        for k in picks:
            group = ctx.demand.groups[k]
            p, q = group.p_mw / factors, group.q_mvar / factors  # the forecast
            when = group.times[0].isoformat()
            for s in scenarios:
                label = f"{when} #{s}"
                groups.append(StepGroup(group.times[:1], p * draws[s], q * draws[s]))
                labels.append(label)
                scenario_at[label] = (s, when)
        exempt: Exemptions = {
            key: {label: at[w] for label, (_, w) in scenario_at.items() if w in at}
            for key, at in normal.items()
        }
        findings = _Recorder(ctx.base_net, case.limits, exempt=exempt, breaches={})
        solve_grid_states(ctx, net, grid, groups, labels, findings)
        n_1 = case.fleet.reserve == Reserve.N_1
        for island in islands:
            if island.trucks:
                floor = _fewest_online(check, island.trucks)
                solve_island_states(ctx, island, groups, labels, findings, n_1, floor=floor)
        findings.flush()
        hits |= _hits(findings, scenario_at, exempt)
    broken = np.zeros(len(draws), dtype=bool)
    breaks: Counter[tuple[str, str, str]] = Counter()
    for s, kind, element, when in sorted(hits):
        broken[s] = True
        breaks[(kind, element, when)] += 1
    times = tuple(ctx.demand.groups[k].times[0].isoformat() for k in picks)
    return StageRisk(ctx.stage.name, broken, dict(breaks), times, float(factors.max(initial=1.0)))


def _hits(
    findings: _Recorder, scenario_at: dict[str, tuple[int, str]], exempt: Exemptions
) -> set[tuple[int, str, str, str]]:
    """(scenario, kind, element, time) of every limit broken: the violations added (trucks,
    unserved load, no convergence) and each time a voltage or loading limit broke, unless the
    normal state breaks it as badly then (the rule of `Findings`)."""
    hits = set()
    for v in findings.events:
        if v.time in scenario_at:
            s, when = scenario_at[v.time]
            hits.add((s, v.kind, v.element or f"island {v.island}", when))
    for (kind, element), at in (findings.breaches or {}).items():
        normal = exempt.get((kind, element), {})
        slack = WORSE_BY[kind in ("vm_min", "vm_max")]
        low = kind == "vm_min"
        for label, value in at.items():
            was = normal.get(label)
            if was is not None and (value >= was - slack if low else value <= was + slack):
                continue  # broken as the normal state breaks it then: not counted
            s, when = scenario_at[label]
            hits.add((s, kind, element, when))
    return hits


def plan_risk(case: Case, checks: list[tuple[StageContext, StageCheck]]) -> dict[str, Any] | None:
    """`summary.risk` of a plan whose stages (in the case's order) were checked so; None
    without `[loads] uncertainty_percent`."""
    loads = case.loads
    if loads.uncertainty_percent <= 0:
        return None
    stream = {stage.name: i for i, stage in enumerate(case.stages)}
    risks = [stage_risk(ctx, check, stream[ctx.stage.name]) for ctx, check in checks]
    n = loads.scenarios
    broken = np.zeros(n, dtype=bool)
    for r in risks:
        broken |= r.broken
    p = float(broken.mean())
    worst = max(
        ((count, r.name, key) for r in risks for key, count in r.breaks.items()),
        key=lambda item: (item[0], item[1], item[2]),
        default=None,
    )
    most = None
    if worst is not None:
        count, name, (kind, element, when) = worst
        most = {
            "stage": name,
            "kind": kind,
            "element": element,
            "time": when,
            "probability": round(count / n, 4),
        }
    return {
        "scenarios": n,
        "seed": loads.seed,
        "quantile": loads.quantile,
        "uncertainty_percent": loads.uncertainty_percent,
        "feeder_share": loads.feeder_share,
        "model": MODEL,
        "probability": round(p, 4),
        "standard_error": round(math.sqrt(p * (1.0 - p) / n), 4),
        "quantile_held": bool(1.0 - p >= loads.quantile),
        "most_often": most,
        "stages": [
            {
                "name": r.name,
                "probability": round(float(r.broken.mean()), 4),
                "times": list(r.times),
                "design_factor_max": round(r.design_factor_max, 4),
            }
            for r in risks
        ],
    }


def check_risk(
    case: Case, said: Any, checks: list[tuple[StageContext, StageCheck]]
) -> list[Violation]:
    """`validate`: the plan's `summary.risk` (`said`) re-computed with the same seed and code."""
    want = plan_risk(case, checks)
    want = json.loads(json.dumps(want))  # as plan.json holds it
    if said == want:
        return []
    if want is None:
        message = f"summary.risk is {shown(said)}, but the case gives no uncertainty_percent"
    elif not isinstance(said, dict):
        message = f"summary.risk is {shown(said)}; re-computed: probability {want['probability']}"
    else:
        wrong = [k for k in want if said.get(k) != want[k]] + [k for k in said if k not in want]
        message = "summary.risk disagrees with its re-computation (same seed): " + "; ".join(
            f"{k} says {shown(said.get(k))}, re-computed {shown(want.get(k))}" for k in wrong
        )
    return [Violation("risk", message, "summary.risk")]
