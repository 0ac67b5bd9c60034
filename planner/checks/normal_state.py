"""Limits already broken before the works: the network's normal state at each stage's design peak.

One AC load flow per stage, of the network as the stage finds it (the untouched network for the
first stage; a later one after the `[stages.after]` changes of those before it), at the stage's
design peak, checked through the same path as every planned state (`step_state.solve_state`,
`limits.Findings`, so per-bus voltage limits count). What is broken there is not the works'
doing, but a plan cannot mend it: `planner check` warns of it. The same element broken before
several stages is reported once, at its worst.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from planner.checks.solve import solve_grid_states
from planner.checks.step_state import solve_state
from planner.grid.context import StageContext
from planner.grid.limits import Findings

__all__ = ["NormalFinding", "normal_exemptions", "normal_state_findings"]

_UNIT = {"vm_min": "pu", "vm_max": "pu", "line_loading": "%", "trafo_loading": "%"}


@dataclass(frozen=True)
class NormalFinding:
    """A limit broken in the normal state: which, where, how far, when, and before which stage."""

    kind: str
    element: str
    value: float | None
    limit: float | None
    time: str
    stage: str

    @property
    def message(self) -> str:
        at = self.time[:16].replace("T", " ")
        when = f"in the normal state at {at}"
        before = f"(design peak before stage {self.stage!r})"
        if self.kind == "not_converged":
            return f"the normal state does not solve at {at} {before}"
        unit = _UNIT.get(self.kind, "")
        if unit == "pu":
            side = "below" if self.kind == "vm_min" else "above"
            return (
                f"{self.element} at {self.value:.4f} pu, {side} its {self.limit:g} pu limit, "
                f"{when} {before}"
            )
        return f"{self.element} at {self.value:.1f} % of {self.limit:g} % {when} {before}"

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "element": self.element,
            "value": self.value,
            "limit": self.limit,
            "time": self.time,
            "stage": self.stage,
            "message": self.message,
        }


def normal_state_findings(contexts: list[StageContext]) -> list[NormalFinding]:
    """Limits broken in the normal state at each stage's design peak, worst per element."""
    worst: dict[tuple[str, str], NormalFinding] = {}
    for ctx in contexts:
        peak = ctx.demand.peak
        when = peak.times[0].isoformat()
        state = solve_state(ctx, ctx.base_net, {}, {}, peak, when)
        found = [
            NormalFinding(v.kind, v.element, v.value, v.limit, v.time or when, ctx.stage.name)
            for v in state.findings.sorted_violations()
        ]
        if not state.converged:
            found.append(NormalFinding("not_converged", "", None, None, when, ctx.stage.name))
        for f in found:
            old = worst.get((f.kind, f.element))
            if old is None or _further(f, old):
                worst[(f.kind, f.element)] = f
    return sorted(worst.values(), key=lambda f: (f.kind, f.element))


def _further(new: NormalFinding, old: NormalFinding) -> bool:
    """Whether `new` is further past its limit than `old` (same kind and element)."""
    if new.value is None or old.value is None:
        return False
    return new.value < old.value if new.kind == "vm_min" else new.value > old.value


def normal_exemptions(ctx: StageContext) -> dict[tuple[str, str], float]:
    """Limits the network's normal state breaks at some check time of the stage (the network as
    the stage finds it, every load state solved at once), each with its worst value: what a
    `Findings(..., exempt=...)` does not count against a plan that breaks them no further."""
    scratch = Findings(ctx.base_net, ctx.case.limits)
    groups = list(ctx.demand.groups)
    whens = [g.times[0].isoformat() for g in groups]
    net = copy.deepcopy(ctx.base_net)
    solve_grid_states(ctx, net, ctx.base_energised, groups, whens, scratch)
    return {
        (v.kind, v.element): float(v.value)
        for v in scratch.violations.values()
        if v.kind in _UNIT and v.value is not None
    }
