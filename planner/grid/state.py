"""Network states of a stage: earlier permanent changes, the works, and the stage's switching."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

import pandapower as pp
import pandas as pd

from planner.core.refs import ElementRef
from planner.core.switching import Switching
from planner.inputs.case import Case, Stage

__all__ = [
    "apply_switching",
    "apply_works",
    "copy_net",
    "is_on",
    "operate",
    "stage_base_net",
    "switched",
    "with_switching",
]


def copy_net(net: pp.pandapowerNet, *also: str) -> pp.pandapowerNet:
    """A copy of `net` for a state that changes values, not structure: its element tables that
    hold rows are copied (and the tables `also`, where elements will be created), the rest
    (empty tables, standard types, results) shared. A deep copy costs twenty times as much.
    pandapower's runs replace result tables rather than write into them, so the copy can be run."""
    new = copy.copy(net)
    for key, value in net.items():
        table = isinstance(value, pd.DataFrame) and not key.startswith("res_")
        if table and (len(value) or key in also):
            new[key] = value.copy()
    return new


def stage_base_net(case: Case, stage: Stage) -> pp.pandapowerNet:
    """A copy of the case's network with the `after` changes of every stage ended before `stage`."""
    net = copy.deepcopy(case.network.net)
    for earlier in case.stages:
        if earlier is stage or earlier.end > stage.start:
            continue
        for ref, fields in earlier.after:
            for column, value in fields:
                net[ref.table].at[ref.index, column] = value
    return net


def _column(ref: ElementRef) -> str:
    return "closed" if ref.table == "switch" else "in_service"


def operate(net: pp.pandapowerNet, ref: ElementRef, on: bool) -> None:
    """Close (`on`) or open a switch; put any other element in or out of service."""
    net[ref.table].at[ref.index, _column(ref)] = on


def is_on(net: pp.pandapowerNet, ref: ElementRef) -> bool:
    """Is a switch closed, any other element in service?"""
    return bool(net[ref.table].at[ref.index, _column(ref)])


def apply_works(net: pp.pandapowerNet, stage: Stage) -> None:
    """Take the stage's elements out: switches are opened, other elements put out of service."""
    for ref in stage.out_of_service:
        operate(net, ref, False)


@contextlib.contextmanager
def switched(net: pp.pandapowerNet, switching: Switching) -> Iterator[pp.pandapowerNet]:
    """`net` with `switching` applied for the duration of the block, then as it was."""
    refs = (*switching.close, *switching.open, *switching.in_service)
    saved = [(r, is_on(net, r)) for r in refs]  # `open` may hold a transformer (LV trucks)
    apply_switching(net, switching)
    try:
        yield net
    finally:
        for ref, value in saved:
            operate(net, ref, value)


def with_switching(net: pp.pandapowerNet, switching: Switching) -> pp.pandapowerNet:
    """A copy of `net` with `switching` applied, `net` untouched: only the tables the switching
    writes (switch, line, transformer) are copied, every other table is shared."""
    new = copy.copy(net)
    for table in {ref.table for ref in (*switching.close, *switching.open, *switching.in_service)}:
        new[table] = net[table].copy()
    apply_switching(new, switching)
    return new


def apply_switching(net: pp.pandapowerNet, switching: Switching) -> None:
    for ref in (*switching.close, *switching.in_service):
        operate(net, ref, True)
    for ref in switching.open:
        operate(net, ref, False)
