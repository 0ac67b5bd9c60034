"""The small networks of the search tests (tests/data/networks/search/*.json), rebuilt by
`python -m tests.decide.search_networks`: 20 kV feeders from one grid bus, loads of 1 MW.

- split: the works feeder S-A1-A2-A3-A4, a tie from N1 at A1 (its cable carries three loads,
  not four) and one from N2 at A3 (two loads, not three). Opening A2-A3 between the two ties
  carries everything with no truck; the greedy transfer gives N1 the most it can carry
  (A1-A3), after which N2's tie would close a loop, and A4 needs a truck.
- tail: the same feeder with one tie, at the tail (A4): it carries A3 and A4 only, so trucks
  at A1 carry the head A1-A2.
- busbar: the feeder S-A1-A2-A3 with a spare cable from section Nb of a neighbouring
  substation; Nb's own feed is weak, section Na's strong, the coupler Na-Nb open. Closing the
  spare cable and the coupler and opening Nb's incomer feeds the island from Na.
- retry: the works line feeds S-A2-A3-A4 (A2 0.8 MW, A3 and A4 0.3 MW), with a 35 km lateral
  of thin cable from A2 to A1 (0.1 MW); trucks connect at A1 and A3, a tie from N at A4 carries
  A3 and A4 but not A2. The greedy transfer takes A3 and A4 (A2-A3 opened): the head A1-A2
  needs one truck by its load, but from A1 the lateral drops A2's voltage below the band
  whatever the trucks there. Opening A3-A4 instead leaves A1-A3 to one truck at A3.
"""

from __future__ import annotations

from pathlib import Path

import pandapower as pp

OUT = Path(__file__).resolve().parent.parent / "data" / "networks" / "search"


def _line(net, a, b, name, max_i_ka=0.4, km=1.0):  # type: ignore[no-untyped-def]
    return pp.create_line_from_parameters(net, a, b, km, 0.16, 0.12, 0.0, max_i_ka, name=name)


def _feeder(net, grid, loads: int):  # type: ignore[no-untyped-def]
    """Substation S fed from the grid by the works line, and the chain A1..An with a load and
    a closed sectionalising switch on each line between them."""
    s = pp.create_bus(net, 20.0, name="S")
    _line(net, grid, s, "works")
    buses = [pp.create_bus(net, 20.0, name=f"A{k + 1}") for k in range(loads)]
    _line(net, s, buses[0], "S-A1")
    for k in range(loads - 1):
        line = _line(net, buses[k], buses[k + 1], f"A{k + 1}-A{k + 2}")
        pp.create_switch(net, buses[k], line, "l", True, name=f"sect A{k + 1}-A{k + 2}")
    for k, bus in enumerate(buses):
        pp.create_load(net, bus, 1.0, 0.2, name=f"load A{k + 1}")
    return buses


def _net():  # type: ignore[no-untyped-def]
    net = pp.create_empty_network(sn_mva=1.0)
    grid = pp.create_bus(net, 20.0, name="G")
    pp.create_ext_grid(net, grid, vm_pu=1.02)
    return net, grid


def _tie(net, grid, at, name, max_i_ka):  # type: ignore[no-untyped-def]
    n = pp.create_bus(net, 20.0, name=name)
    _line(net, grid, n, f"G-{name}")
    line = _line(net, n, at, f"{name} cable", max_i_ka=max_i_ka)
    pp.create_switch(net, at, line, "l", False, name=f"tie {name}")


def split():  # type: ignore[no-untyped-def]
    net, grid = _net()
    a = _feeder(net, grid, 4)
    _tie(net, grid, a[0], "N1", 0.105)
    _tie(net, grid, a[2], "N2", 0.07)
    return net


def tail():  # type: ignore[no-untyped-def]
    net, grid = _net()
    a = _feeder(net, grid, 4)
    _tie(net, grid, a[3], "N", 0.08)
    return net


def busbar():  # type: ignore[no-untyped-def]
    net, grid = _net()
    a = _feeder(net, grid, 3)
    na = pp.create_bus(net, 20.0, name="Na")
    nb = pp.create_bus(net, 20.0, name="Nb")
    _line(net, grid, na, "G-Na")
    weak = _line(net, grid, nb, "G-Nb", max_i_ka=0.05)
    pp.create_switch(net, nb, weak, "l", True, name="Nb incomer", type="CB")
    pp.create_switch(net, na, nb, "b", False, name="coupler Na-Nb", type="CB")
    pp.create_load(net, nb, 0.5, 0.1, name="load Nb")
    spare = _line(net, nb, a[0], "spare cable")
    pp.create_switch(net, nb, spare, "l", False, name="spare cable breaker", type="CB")
    return net


def retry():  # type: ignore[no-untyped-def]
    net, grid = _net()
    s = pp.create_bus(net, 20.0, name="S")
    _line(net, grid, s, "works")
    a1, a2, a3, a4 = (pp.create_bus(net, 20.0, name=f"A{k}") for k in range(1, 5))
    _line(net, s, a2, "S-A2")
    lateral = pp.create_line_from_parameters(net, a2, a1, 35.0, 1.0, 0.5, 0.0, 0.4, name="A2-A1")
    pp.create_switch(net, a2, lateral, "l", True, name="sect A2-A1")
    for x, y in ((a2, a3), (a3, a4)):
        name = f"{net.bus.name[x]}-{net.bus.name[y]}"
        pp.create_switch(net, x, _line(net, x, y, name, km=0.5), "l", True, name=f"sect {name}")
    for bus, p_mw in ((a1, 0.1), (a2, 0.8), (a3, 0.3), (a4, 0.3)):
        pp.create_load(net, bus, p_mw, 0.2 * p_mw, name=f"load {net.bus.name[bus]}")
    _tie(net, grid, a4, "N", 0.03)
    return net


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for build in (split, tail, busbar, retry):
        pp.to_json(build(), str(OUT / f"{build.__name__}.json"))
