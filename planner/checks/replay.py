"""A stage's switching sequence replayed, whoever wrote it: the start steps onto the network as
the stage finds it, the end steps back to normal, and with `daily` windows every day's cut-over
and return at its own time (the steps timed on the first day's window), the last day's return
onto the network the stage leaves (`[stages.after]` made). Each step is checked by
`planner.checks.sequence.StepReplay`; each phase with the trucks paralleled with the grid in
each control of `planner.checks.paralleled.CONTROLS` in turn until one holds.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from planner.checks.findings import StageCheck
from planner.checks.paralleled import CONTROLS
from planner.checks.phase_states import after_stage, stage_state
from planner.checks.sequence import SequenceCheck, Step, StepReplay
from planner.checks.step_models import Models
from planner.checks.steps import inside_window, online_at_end, sequence_window
from planner.core.plan import Violation
from planner.grid.context import StageContext
from planner.grid.state import copy_net

__all__ = ["Phases", "phase_key", "replay"]


@dataclass
class Phases:
    """What the replays of one check share. `outcomes`: each phase's outcome (its steps'
    entries, violations, interruptions, the trucks left on standby) by `phase_key`. `models`:
    the engine's models and the states solved of each phase's network, kept across controls
    and orders, by whose parameters it has (`_parameters`)."""

    outcomes: dict[tuple[Any, ...], tuple[list, list, list, set[str]]] = field(default_factory=dict)
    models: dict[str, Models] = field(default_factory=dict)
    # the normal state's limits broken at each load (`StepReplay.broken_normally`) and its model
    normal: dict[tuple[datetime, ...], dict[tuple[str, str], float | None]] = field(
        default_factory=dict
    )
    normal_models: Models = field(default_factory=lambda: Models([], capacity=0))


def replay(
    ctx: StageContext, check: StageCheck, steps: list[Step], memo: Phases | None = None
) -> SequenceCheck:
    """Check `steps` (start steps up to the stage's start, end steps from its end; with `daily`
    windows, timed on the first day's window and solved at every day's own time, the last day's
    end steps onto the network the stage leaves) against the stage's checked set-up `check`.

    `memo` keeps each phase's outcome by its steps: replays of one `check` that share a phase
    (alternative orders of the other phase) take it from there instead of solving it again; a
    phase's outcome depends only on the check, its own steps and where they are numbered from."""
    memo = Phases() if memo is None else memo
    windows = ctx.stage.windows
    start, end = sequence_window(ctx)
    latest = start - timedelta(minutes=ctx.case.switching.step_minutes)
    before = [s for s in steps if s.time <= latest]
    after = [s for s in steps if s.time >= end]
    opens = tuple(w[0] - start for w in windows[1:])
    closes = tuple(w[1] - end for w in windows[1:-1])  # the last day's return: below
    r = StepReplay(ctx, check, opens)
    r.normal, r.normal_models = memo.normal, memo.normal_models
    for number, step, text in inside_window(ctx, steps):
        r.problem(number, step, text)
    everyone = {t.id: t for t in check.setup.trucks}
    _phase(r, memo, 1, before, ctx.base_net, {}, stage_state(ctx, check), everyone, "start")
    online = {t: everyone[t] for t in online_at_end(check, end) if t in everyone}
    # the network once the stage is over, [stages.after] made; after the first of several daily
    # windows, the network as the stage found it (the works are not finished yet)
    normal = after_stage(ctx) if len(windows) == 1 else copy_net(ctx.base_net)
    r.days = closes
    r.standby = set(everyone) - set(online)
    _phase(
        r, memo, len(before) + 1, after, stage_state(ctx, check, normal), online, normal, {}, "end"
    )
    if len(windows) > 1:  # the last day's return, at its own time, onto the network it leaves
        shift = windows[-1][1] - end
        last = StepReplay(ctx, check)
        final = after_stage(ctx)
        online = {t: everyone[t] for t in online_at_end(check, windows[-1][1]) if t in everyone}
        last.standby = set(everyone) - set(online)
        moved = [dataclasses.replace(s, time=s.time + shift) for s in after]
        _phase(
            last,
            Phases(),
            len(before) + 1,
            moved,
            stage_state(ctx, check, final),
            online,
            final,
            {},
            "end",
        )
        r.out.violations += last.out.violations
    return r.out


def phase_key(r: StepReplay, phase: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a phase's outcome depends on besides the check: which phase, the number of its
    first step, its steps, the trucks on standby before it and the days it repeats on."""
    return (phase[-1], phase[0], tuple(phase[1]), frozenset(r.standby), r.days)


def _parameters(ctx: StageContext, what: str) -> str:
    """Whose parameters the network of phase `what` has: the network's as the stage finds it
    ("start"), which the end phase's shares but where its `[stages.after]` changes more than
    switch positions and service states ("end"; with `daily` windows it ends on the network as
    the stage found it). Phases with the same parameters share their models and states."""
    changed = {column for _, fields in ctx.stage.after for column, _ in fields}
    own = bool(changed - {"closed", "in_service"}) and len(ctx.stage.windows) == 1
    return "end" if what == "end" and own else "start"


def _phase(r: StepReplay, memo: Phases, *phase: Any) -> None:
    """`r.phase` with the paralleled trucks in each control of `CONTROLS` in turn, until every
    step holds or no truck was paralleled; the one with fewest problems stands (the first
    among equals), and the steps that parallel trucks with the grid say which (`control`, for
    the crew). A plan that names a control on its steps is replayed in that one alone: what
    the crew is told is what is checked. See `planner.checks.paralleled`."""
    out, standby = r.out, set(r.standby)
    key = phase_key(r, phase)
    if key in memo.outcomes:
        steps_kept, violations, interruptions, r.standby = copy.deepcopy(memo.outcomes[key])
        out.steps += steps_kept
        out.violations += violations
        out.interruptions += interruptions
        return
    claimed = list(dict.fromkeys(s.control for s in phase[1] if s.control))  # a plan's own
    marks = (len(out.steps), len(out.violations), len(out.interruptions))
    kept: tuple | None = None
    # the phase's network, whichever order or control: its models and states kept across
    # replays (a model is the topology's; the network's parameters the same each time)
    r.models = memo.models.setdefault(_parameters(r.ctx, phase[-1]), Models(list(r.by_id.values())))
    for control in claimed[:1] or CONTROLS:
        r.standby = set(standby)
        del out.steps[marks[0] :], out.violations[marks[1] :], out.interruptions[marks[2] :]
        paralleled = r.phase(control, *phase)
        found = (len(out.violations) - marks[1], len(out.interruptions) - marks[2])
        if kept is None or found < kept[0]:
            kept = (found, control, out.steps[marks[0] :], out.violations[marks[1] :],
                    out.interruptions[marks[2] :], set(r.standby))  # fmt: skip
        if not paralleled or found == (0, 0) or not r.dependent:
            # another control cannot do better: no truck was paralleled, nothing was found, or
            # everything found was at steps with no truck paralleled, which every control
            # solves alike (and interruptions and where the phase ends follow the steps alone)
            break
    assert kept is not None
    _, control, steps_kept, violations, interruptions, r.standby = kept
    out.steps[marks[0] :] = steps_kept
    out.violations[marks[1] :] = violations
    out.interruptions[marks[2] :] = interruptions
    for entry in out.steps[marks[0] :]:
        if "grid" in entry.get("joins", ()):
            entry["control"] = control
    if len(claimed) > 1:
        message = (f"the plan's {phase[-1]} steps name {len(claimed)} controls for the "
                   f"paralleled trucks ({', '.join(claimed)}); one phase runs in one")  # fmt: skip
        out.violations.append(Violation("sequence", message, phase[-1]))
    kept_now = (out.steps[marks[0] :], out.violations[marks[1] :], out.interruptions[marks[2] :])
    memo.outcomes[key] = copy.deepcopy((*kept_now, set(r.standby)))
