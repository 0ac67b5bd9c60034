"""Fault currents in a truck island (IEC 60909, pandapower's short-circuit module).

Each online truck is a synchronous generator on its kVA base (`rating_kw / power_factor`), at its
bus's nominal voltage, with R = 0.07 X (IEC 60909-0 for generators of at least 1 kV and under
100 MVA). Loads are neglected, as the standard does; distributed generation is left out (the
minimum case must not count on it); lines are taken at `END_TEMP_C` for the minimum case.

- Subtransient: pandapower's IEC 60909 result with x''d (the generator correction K_G applied).
- Transient I'k and sustained Ik: the same network with the machine behind x'd, and behind xd
  (no excitation support: the no-load field, 1 pu behind xd) or behind 1/`sc_support_multiple`
  (excitation support holds that multiple of rated current at a terminal fault). pandapower
  multiplies a generator's impedance by K_G = c_max / (1 + x sin(phi)); for these two the plain
  machine reactance is wanted, so the machine is entered with cos(phi) = 1 and x / c_max, which
  K_G turns back into x.
- At the relay's delay t: I(t) = Ik + (I'k - Ik) * exp(-t / T'd) (the subtransient part has died
  out within a few cycles).

The minimum case (c = 1.0) gives the 2-phase values protection must still see; the maximum case
(c = 1.1) the 3-phase current switchgear must withstand.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import pandapower as pp
import pandapower.shortcircuit as sc

from planner.grid.engine import solver_failure
from planner.grid.powerflow import TruckAt, subnet
from planner.grid.state import copy_net

__all__ = ["END_TEMP_C", "FaultLevels", "at_delay_ka", "grid_min_2ph_ka", "island_faults"]

END_TEMP_C = 80.0  # conductor temperature at the end of a fault, for the minimum case
C_MAX = 1.1  # IEC 60909 voltage factor for the maximum case, medium voltage
MV_KV = 1.0  # protection of the island is judged at its medium-voltage buses


@dataclass(frozen=True)
class FaultLevels:
    """The lowest 2-phase currents (kA) of an island at one bus, and where."""

    bus: int
    subtransient_ka: float
    transient_ka: float
    sustained_ka: float


def _machines(net: pp.pandapowerNet, trucks: list[TruckAt], x_pu: float, cos_phi: float) -> None:
    """The trucks as synchronous generators, the first the slack; one table write for all."""
    sn_mva = [truck.rating_kva / 1000.0 for truck in trucks]
    vn_kv = [float(net.bus.at[truck.bus, "vn_kv"]) for truck in trucks]
    pp.create_gens(
        net,
        [truck.bus for truck in trucks],
        p_mw=0.0,
        vm_pu=1.0,
        sn_mva=sn_mva,
        vn_kv=vn_kv,
        xdss_pu=x_pu,
        rdss_ohm=[0.07 * x_pu * kv**2 / sn for kv, sn in zip(vn_kv, sn_mva, strict=True)],
        cos_phi=cos_phi,
        slack=[k == 0 for k in range(len(trucks))],
        name=[truck.id for truck in trucks],
    )


def _medium_voltage(net: pp.pandapowerNet) -> pp.pandapowerNet:
    """`net` without its low-voltage networks: without sources they add nothing to a fault at
    medium voltage (loads are neglected), and left in they would make the short-circuit
    computation's matrices as large as the whole network."""
    keep = net.bus.index[net.bus.vn_kv >= MV_KV]
    if len(keep) == len(net.bus):
        return copy_net(net, "gen")
    return subnet(net, {int(b) for b in keep})


def _fault_net(sub: pp.pandapowerNet) -> pp.pandapowerNet:
    """The island's medium-voltage part without its load-flow sources; lines at the end
    temperature."""
    net = _medium_voltage(sub)
    for table in ("ext_grid", "gen", "sgen", "storage"):
        if table in net and len(net[table]):
            net[table] = net[table].iloc[0:0]
    if len(net.line):
        net.line["endtemp_degree"] = END_TEMP_C
    return net


def _run(net: pp.pandapowerNet, fault: str, case: str) -> dict[int, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc.calc_sc(net, fault=fault, case=case, branch_results=False)
    ikss = net.res_bus_sc.ikss_ka
    return {int(b): float(v) for b, v in ikss.items() if math.isfinite(v)}


def island_faults(
    sub: pp.pandapowerNet,
    online: list[TruckAt],
    *,
    xdss_pu: float,
    xds_pu: float,
    sustained_x_pu: float,
    power_factor: float,
) -> FaultLevels | None:
    """The island's lowest 2-phase fault current (minimum case) with `online` trucks, at the
    medium-voltage bus where the subtransient value is lowest."""
    if not online:
        return None
    base = _fault_net(sub)
    mv = {int(b) for b in base.bus.index if float(base.bus.at[b, "vn_kv"]) >= MV_KV}
    values = []
    for x_pu, cos_phi in (
        (xdss_pu, power_factor),
        (xds_pu / C_MAX, 1.0),
        (sustained_x_pu / C_MAX, 1.0),
    ):
        net = copy_net(base, "gen")
        _machines(net, online, x_pu, cos_phi)
        values.append({b: v for b, v in _run(net, "2ph", "min").items() if b in mv})
    subtransient, transient, sustained = values
    if not subtransient:
        return None
    bus = min(subtransient, key=subtransient.__getitem__)
    return FaultLevels(bus, subtransient[bus], transient.get(bus, 0.0), sustained.get(bus, 0.0))


def island_max_3ph_ka(
    sub: pp.pandapowerNet, trucks: list[TruckAt], xdss_pu: float, power_factor: float
) -> float:
    """The largest 3-phase current (maximum case) in the island with every placed truck on."""
    net = _fault_net(sub)
    _machines(net, trucks, xdss_pu, power_factor)
    return max(_run(net, "3ph", "max").values(), default=0.0)


def at_delay_ka(levels: FaultLevels, delay_s: float, tds_s: float) -> float:
    """The 2-phase current still flowing when the relay operates, `delay_s` after inception."""
    decay = math.exp(-delay_s / tds_s) if tds_s > 0 else 0.0
    return levels.sustained_ka + (levels.transient_ka - levels.sustained_ka) * decay


def grid_min_2ph_ka(net: pp.pandapowerNet, bus: int) -> float | None:
    """The grid-fed minimum 2-phase current at `bus` in the network's normal state; a source
    without short-circuit data gets 1,000 MVA (maximum) and 80 % of its maximum (minimum)."""
    net = _medium_voltage(net)
    for table in ("gen", "sgen", "storage"):
        if table in net and len(net[table]):
            net[table]["in_service"] = False
    grid = net.ext_grid
    if not len(grid):
        return None
    defaults = {"s_sc_max_mva": 1000.0, "rx_max": 0.1, "rx_min": 0.1}
    for column, value in defaults.items():
        if column not in grid.columns:
            grid[column] = value
        grid[column] = grid[column].fillna(value)
    if "s_sc_min_mva" not in grid.columns:
        grid["s_sc_min_mva"] = 0.8 * grid.s_sc_max_mva
    grid["s_sc_min_mva"] = grid.s_sc_min_mva.fillna(0.8 * grid.s_sc_max_mva)
    if len(net.line):
        net.line["endtemp_degree"] = END_TEMP_C
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sc.calc_sc(net, bus=[bus], fault="2ph", case="min", branch_results=False)
    except Exception as exc:  # pandapower's short-circuit module refuses some networks
        if not solver_failure(exc):
            raise  # a bug, not a network the module refuses
        return None
    value = float(net.res_bus_sc.ikss_ka.get(bus, math.nan))
    return value if math.isfinite(value) else None
