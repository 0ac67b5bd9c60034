"""What the steps of one switching phase reuse rather than build or solve again: the batched
engine's models, by topology, and the states solved, by everything that decides them.

A phase's network keeps its parameters through every order and control it is replayed in; its
steps change only switch positions, service states, the trucks connected and their outputs and
control, and the load. A state another order or control reaches again is the same state: it is
looked up (`Models.kept`), and `planner.checks.solved_state.KeptState.on` ties the parts solved
only on demand to the new step's network. Results are kept, never networks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandapower as pp
import pandas as pd

from planner.grid.engine import BatchModel
from planner.grid.powerflow import TruckAt
from planner.inputs.demand import StepGroup

if TYPE_CHECKING:
    from planner.checks.solved_state import KeptState, SolvedState

__all__ = ["KEPT_STATES", "Models", "state_key", "topology_key"]

# states kept per phase network, the oldest steps' dropped first: each holds its voltages,
# angles and sources by bus, about 2.3 MB at 10,458 buses (150 MB a phase network)
KEPT_STATES = 64


@dataclass
class Models:
    """Models of the batched engine kept across the steps of one switching phase, by topology:
    a step that only connects trucks or loads reuses the model of the step before. `trucks` are
    every truck the phase may connect (a truck not connected is a generator at zero output).
    `states`: the states its steps solved, by `state_key`, `capacity` of them at most (none
    where the caller keeps what it needs of them itself)."""

    trucks: list[TruckAt]
    built: dict[tuple, BatchModel | None] = field(default_factory=dict)
    states: dict[tuple, list[KeptState]] = field(default_factory=dict)
    capacity: int = KEPT_STATES

    def model(self, key: tuple, build: Callable[[], BatchModel | None]) -> BatchModel | None:
        """The model for `key`: kept from an earlier step, else built (and kept)."""
        if key not in self.built:
            self.built[key] = build()
        return self.built[key]

    def kept(self, key: tuple) -> list[KeptState] | None:
        return self.states.get(key)

    def keep(self, key: tuple, states: list[SolvedState]) -> None:
        """Keep a step's `states` (one per load it was solved at; their results, `kept`), the
        oldest step's dropped for them where more than `capacity` would be kept; not at all
        where they alone are (nothing copied then)."""
        if len(states) > self.capacity:
            return
        while sum(map(len, self.states.values())) + len(states) > self.capacity:
            del self.states[next(iter(self.states))]
        self.states[key] = [state.kept() for state in states]


def topology_key(net: pp.pandapowerNet) -> tuple:
    """What a model of the batched engine depends on besides its loads: every switch position
    and element service state (loads' excepted: a load out of service is one at zero)."""
    key: list[object] = [net.ext_grid.vm_pu.to_numpy().tobytes()]
    for name, table in net.items():
        if isinstance(table, pd.DataFrame) and len(table) and name != "load":
            column = "closed" if name == "switch" else "in_service"
            if column in table.columns and not name.startswith("res_"):
                key.append(
                    (name, table.index.to_numpy().tobytes(), table[column].to_numpy(bool).tobytes())
                )
    return tuple(key)


def state_key(
    net: pp.pandapowerNet,
    topology: tuple,
    trucks: dict[str, TruckAt],
    outputs: list[dict[str, tuple[float, float]]],
    groups: list[StepGroup],
    whens: list[str],
    paralleled: list[TruckAt],
    held: dict[str, float] | None,
    pandapower: bool,
) -> tuple:
    """Everything the states of a step of a phase depend on: its network's `topology` and loads
    in service, the trucks connected in their order (the first of an island holds its voltage),
    their outputs, the load states and times, and how the `paralleled` trucks are controlled:
    the voltage each holds (`held`; "setpoint" and "voltage" alike where they hold the same),
    or none at a power factor (None). With no truck paralleled the control changes nothing
    the batched engine solves, only pandapower's runs (at a power factor without reactive
    limits, which bind the network's own generators, a DC line's, a static generator's Mvar):
    it is part of the key only where pandapower solved the grid (`pandapower`); the parts
    pandapower solves on demand are run in the looking step's control (`KeptState.on`)."""
    control = None
    if paralleled or pandapower:
        control = (held is None, tuple(sorted((held or {}).items())))
    return (
        topology, net.load.in_service.to_numpy(bool).tobytes(), tuple(trucks.items()),
        tuple(tuple(out.items()) for out in outputs), tuple(g.times for g in groups),
        tuple(whens), control,
    )  # fmt: skip
