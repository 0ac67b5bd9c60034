"""The vocabulary of a switching sequence: its steps, their actions, and what a replay returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from planner.core.plan import Violation

__all__ = [
    "ACTIONS",
    "BREAK_TOL_KVA",
    "CLOSING",
    "OPENING",
    "TABLES_OF",
    "SequenceCheck",
    "Step",
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
