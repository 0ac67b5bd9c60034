"""A disconnector may close onto a dead section only when no load in service is on it.

`dead_section_has_load` finds the dead section beyond the device; when no dead bus holds
any load in service it answers without building the network's graph. The rule, on the
reference network with feeders F1 (buses 5-11) and F2 (buses 12-17) cut off at their breakers.
"""

from __future__ import annotations

import pandapower as pp
import pytest

from planner.grid.devices import dead_section_has_load
from planner.grid.topology import build_graph, energised_buses
from tests.conftest import ROOT

F1, F2 = range(5, 12), range(12, 18)

# feeders cut off (breaker switches opened), buses whose loads are switched off, bus closed
# onto, whether the section it energises holds load in service
RULES = [
    ((3,), (), 5, True),  # F1 dead, its loads on
    ((3,), F1, 5, False),  # F1 dead, every load of it off: no dead load at all
    ((3, 17), F1, 5, False),  # F2's dead loads are not in F1's section
    ((3, 17), F1, 12, True),  # ... but in F2's
    ((3, 17), (*F1, *F2), 12, False),
]


@pytest.mark.parametrize(("opened", "off", "bus", "expected"), RULES)
def test_a_dead_section_holds_load(opened, off, bus: int, expected: bool) -> None:  # type: ignore[no-untyped-def]
    net = pp.from_json(str(ROOT / "networks" / "dashiqiao.json"))
    net.switch.loc[list(opened), "closed"] = False
    net.load.loc[net.load.bus.isin(list(off)), "in_service"] = False
    live = energised_buses(build_graph(net))
    assert not live & {*F1} and (17 not in opened or not live & {*F2})
    assert dead_section_has_load(net, bus, set(live)) is expected
