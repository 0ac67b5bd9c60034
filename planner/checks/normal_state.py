"""Limits already broken before the works: the network's normal state during each stage.

The network as the stage finds it (the untouched network for the first stage; a later one after
the `[stages.after]` changes of those before it) at every check time of the stage, solved in one
batch and checked through the same path as every planned state (`limits.Findings`, so per-bus
voltage limits count). What is broken there is not the works'
doing, but a plan cannot mend it: `planner check` warns of it. The same element broken before
several stages is reported once, at its worst.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planner.checks.solve import solve_grid_states
from planner.grid.context import StageContext
from planner.grid.limits import Exemptions, Findings
from planner.grid.state import copy_net

__all__ = ["EXEMPTIONS", "NormalFinding", "normal_exemptions", "normal_state_findings"]

EXEMPTIONS = "normal_exemptions"  # their key in the stage's memo, once scanned
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
        before = f"(its worst check time before stage {self.stage!r})"
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
    """Limits broken in the normal state at any check time of each stage, worst per element."""
    worst: dict[tuple[str, str], NormalFinding] = {}
    for ctx in contexts:
        scan = _normal_scan(ctx)
        found = [
            NormalFinding(
                v.kind,
                v.element if v.kind in _UNIT else "",
                v.value if v.kind in _UNIT else None,
                v.limit if v.kind in _UNIT else None,
                v.time or ctx.stage.start.isoformat(),
                ctx.stage.name,
            )
            for v in scan.sorted_violations()
            if v.kind in _UNIT or v.kind == "not_converged"
        ]
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


def normal_exemptions(ctx: StageContext) -> Exemptions:
    """Limits the network's normal state breaks during the stage (the network as the stage
    finds it, every load state solved at once), with each check time it breaks them at and its
    value then: what a `Findings(..., exempt=...)` does not count against a state that breaks
    them only then and no further."""
    found = ctx.memo.get(EXEMPTIONS)
    if found is None:
        breaches = _normal_scan(ctx).breaches or {}
        found = {key: times for key, times in breaches.items() if key[0] in _UNIT}
        ctx.memo[EXEMPTIONS] = found
    return dict(found)


def _normal_scan(ctx: StageContext) -> Findings:
    """The normal state of `ctx`'s stage at every check time, through the planner's own checks,
    with every breach recorded."""
    scratch = Findings(ctx.base_net, ctx.case.limits, breaches={}, namer=ctx.namer)
    groups = list(ctx.demand.normal_groups)
    whens = [g.times[0].isoformat() for g in groups]
    net = copy_net(ctx.base_net)
    solve_grid_states(ctx, net, ctx.base_energised, groups, whens, scratch)
    return scratch
