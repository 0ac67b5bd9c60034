"""The vocabulary of a switching sequence: its steps, their actions, and what a replay returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from planner.checks.findings import StageCheck
from planner.core.plan import Violation
from planner.grid.context import StageContext

__all__ = [
    "ACTIONS",
    "BREAK_TOL_KVA",
    "CLOSING",
    "OPENING",
    "TABLES_OF",
    "SequenceCheck",
    "Step",
    "inside_window",
    "online_at_end",
    "sequence_window",
]

CLOSING = {"close", "put_back", "put_in_service", "reconnect_load"}
OPENING = {"open", "take_out", "take_out_of_service", "disconnect_load"}
ACTIONS = CLOSING | OPENING | {"connect_truck", "disconnect_truck", "shut_down_island"}
BREAK_TOL_KVA = 1.0  # what a disconnector may interrupt: nothing but rounding


@dataclass(frozen=True)
class Step:
    """One switching step as crews carry it out."""

    time: datetime
    action: str
    element: str  # element reference, or a truck id
    at: str = ""  # where a truck connects
    number: int = 0  # as the plan numbers it (0: by position)
    control: str = ""  # the paralleled trucks' control a plan names on the step ("": none)


@dataclass
class SequenceCheck:
    steps: list[dict[str, Any]] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    interruptions: list[dict[str, Any]] = field(default_factory=list)


TABLES_OF = {
    "open": ("switch",),
    "close": ("switch",),
    "disconnect_load": ("load",),
    "reconnect_load": ("load",),
    "put_in_service": ("line", "trafo", "trafo3w"),
    "take_out_of_service": ("line", "trafo", "trafo3w"),
}


def sequence_window(ctx: StageContext) -> tuple[datetime, datetime]:
    """When the switching sequence's works window is: the stage, or with `daily` windows the
    first day's (the same steps are carried out at each window's start and end; they are timed
    and checked on the first day, and at the stage's worst time in a window)."""
    return ctx.stage.windows[0]


def online_at_end(check: StageCheck, end: datetime) -> tuple[str, ...]:
    """The trucks online at the last check time before `end` (the end of the sequence's window)."""
    last = [h for h in check.hours if h.time < end]
    return last[-1].online if last else ()


def inside_window(ctx: StageContext, steps: list[Step]) -> list[tuple[int, Step, str]]:
    """(number, step, problem) for each step timed inside the sequence's works window, where no
    switching may happen: start steps come before it, end steps after it."""
    start, end = sequence_window(ctx)
    minutes = ctx.case.switching.step_minutes
    latest = start - timedelta(minutes=minutes)
    where = "the stage" if ctx.stage.daily is None else "the first day's works window"
    text = (
        f"happens inside {where}: start steps must be done by its start ({minutes:g} min "
        "each), end steps come after its end"
    )
    return [
        (step.number or k, step, text)
        for k, step in enumerate(steps, start=1)
        if latest < step.time < end
    ]
