"""What the load flows of one state of a switching sequence found (`SolvedState`), and the same
results kept for a later step that reaches the state again (`KeptState`, in
`planner.checks.step_models.Models`). A part of the state the batched engine solved is solved
by pandapower only when its flows are asked for and the engine's solution does not tell them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import pandapower as pp

from planner.core.refs import ElementRef
from planner.grid.branch_flow import EngineFlows, EngineRow, NotDerived
from planner.grid.devices import across_kva
from planner.grid.limits import Findings

__all__ = ["Again", "KeptState", "Solve", "SolvedState"]

Solve = Callable[[], tuple[pp.pandapowerNet, bool]]  # a part's network, solved, and if it solved
# a part's `Solve` from a step's network and the voltages its paralleled trucks hold (None: at a
# power factor; pandapower then runs without reactive limits)
Again = Callable[[pp.pandapowerNet, dict[str, float] | None], tuple[pp.pandapowerNet, bool]]


@dataclass
class SolvedState:
    """What a state's load flows found: limits, voltages and angles per bus with the source that
    feeds it ("grid", or "island@<lowest bus>"), unfed protected loads, the solved networks."""

    findings: Findings
    converged: bool
    vm: dict[int, float] = field(default_factory=dict)
    va: dict[int, float] = field(default_factory=dict)
    source: dict[int, str] = field(default_factory=dict)
    unfed: frozenset[int] = frozenset()
    # each part's network; None for a part the batched engine solved until `net_of` builds it
    nets: list[tuple[frozenset[int], pp.pandapowerNet | None]] = field(default_factory=list)
    truck_kw: dict[str, float] = field(default_factory=dict)
    # parts the engine solved, built and solved by pandapower when their flows are needed
    unsolved: dict[frozenset[int], Solve] = field(default_factory=dict)
    # the engine's solution of such a part, from which most flows are read without pandapower
    rows: dict[frozenset[int], EngineRow] = field(default_factory=dict)
    # each part's `Solve` made again from a network like the step's (`KeptState.on`)
    again: dict[frozenset[int], Again] = field(default_factory=dict)

    def kept(self) -> KeptState:
        """This state as `Models` keeps it: its results, not its networks."""
        rows = {
            buses: {f.name: getattr(row, f.name) for f in fields(row) if f.name != "net"}
            for buses, row in self.rows.items()
        }
        return KeptState(self._like({}, {}), rows)

    def _like(self, unsolved: dict, rows: dict) -> SolvedState:
        """A state with this one's results, every part to be solved on demand (`unsolved`)."""
        nets: list[tuple[frozenset[int], pp.pandapowerNet | None]]
        nets = [(buses, None) for buses, _ in self.nets]
        return SolvedState(
            self.findings, self.converged, self.vm, dict(self.va), self.source, self.unfed, nets,
            self.truck_kw, unsolved, rows, self.again,
        )  # fmt: skip

    def net_of(self, bus: int) -> pp.pandapowerNet | None:
        """The network holding `bus` (the grid's or an island's) with pandapower's results; a
        part the engine solved is built and solved by pandapower here, once, when its flows are
        needed (the engine's voltages and angles agree with pandapower's to 1e-6 pu)."""
        for k, (buses, net) in enumerate(self.nets):
            if bus in buses:
                solve = self.unsolved.pop(buses, None)
                if solve is not None:
                    net, solved = solve()
                    self.nets[k] = (buses, net)
                    if solved:  # angles not known yet: pandapower's
                        for b in buses:
                            if b not in self.va and b in net.res_bus.index:
                                self.va[b] = float(net.res_bus.at[b, "va_degree"])
                return net
        return None

    def across_kva(self, bus: int, ref: ElementRef) -> tuple[float, float] | None:
        """`across_kva` of `ref` in the part holding `bus`: read from the engine's solution
        where that tells it, else from pandapower's run of the part; (0, 0) where no part
        holds `bus` (it is not energised)."""
        for buses, net in self.nets:
            if bus in buses:
                row = self.rows.get(buses)
                if net is None and row is not None:
                    try:
                        return across_kva(row.net, ref, EngineFlows(row))
                    except NotDerived:
                        pass
                net = self.net_of(bus)
                return across_kva(net, ref) if net is not None else (0.0, 0.0)
        return 0.0, 0.0

    def angle(self, bus: int) -> float:
        if bus not in self.va:
            self.net_of(bus)
        return self.va.get(bus, math.nan)


@dataclass(frozen=True)
class KeptState:
    """A state solved for one step, kept (`Models.states`) for a step that reaches it again:
    its results (no networks: `state`'s parts are all unsolved) and its engine rows' fields
    but their network."""

    state: SolvedState
    rows: dict[frozenset[int], dict]

    def on(self, net: pp.pandapowerNet, held: dict[str, float] | None) -> SolvedState:
        """The state for a step whose network (a copy, at its first load) is `net` and whose
        paralleled trucks hold `held`."""
        state = self.state
        unsolved = {b: functools.partial(again, net, held) for b, again in state.again.items()}
        rows = {buses: EngineRow(net=net, **row) for buses, row in self.rows.items()}
        return state._like(unsolved, rows)
