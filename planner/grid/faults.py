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
- A battery truck is an inverter: a current source of k x its rated current (pandapower's
  static-generator model, sgen `k` with `current_source`), held without decay, the same in the
  subtransient, transient and sustained runs. pandapower counts current sources in its maximum
  case only (IEC 60909-0 neglects full-converter units for minimum currents; here they are the
  island's supply), so the minimum case adds their part, taken from the maximum-case runs with
  and without them (the difference is exactly the current sources' term), to the machines'
  minimum-case currents. An island of inverters alone has no voltage source for the method:
  every ampere they give flows into the fault (loads neglected), k x the sum of their rated
  currents at the fault bus's voltage.

The minimum case (c = 1.0) gives the 2-phase values protection must still see; the maximum case
(c = 1.1) the 3-phase current switchgear must withstand.

Each answer of pandapower is kept in `fault_memo` (`planner.grid.fault_memo`), keyed by the
content of the fault network and the trucks' buses and kVA (and its battery trucks'): a plan asks
the same of every commitment round, stage and check.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandapower as pp
import pandapower.shortcircuit as sc

from planner.grid.engine import solver_failure
from planner.grid.fault_memo import FaultMemo, fault_memo, fingerprint
from planner.grid.powerflow import TruckAt, subnet
from planner.grid.state import copy_net

__all__ = [
    "END_TEMP_C",
    "INVERTER_K",
    "INVERTER_K_MAX",
    "FaultLevels",
    "FaultMemo",
    "at_delay_ka",
    "at_delay_mixed_ka",
    "fault_memo",
    "grid_min_2ph_ka",
    "island_faults",
    "island_max_3ph_ka",
]

END_TEMP_C = 80.0  # conductor temperature at the end of a fault, for the minimum case
C_MAX = 1.1  # IEC 60909 voltage factor for the maximum case, medium voltage
MV_KV = 1.0  # protection of the island is judged at its medium-voltage buses
# A battery truck's fault current, x its rated current. Grid-forming battery inverters limit
# their current to 1.1-1.5 x rated (IEC 60909-0:2016 leaves the figure to the maker); 1.2 is
# the usual figure they hold for the seconds a relay waits, and the one protection is judged
# with (the minimum case must not count on the top of the range). The switchgear duty (the
# maximum case) takes the top of the range, 1.5, so that it is not understated either.
INVERTER_K = 1.2
INVERTER_K_MAX = 1.5


@dataclass(frozen=True)
class FaultLevels:
    """The lowest 2-phase currents (kA) of an island at one bus, and where."""

    bus: int
    subtransient_ka: float
    transient_ka: float
    sustained_ka: float


Per = float | tuple[float, ...]  # one value for every truck, or each truck's own, in order


def _each(value: Per, count: int) -> list[float]:
    return list(value) if isinstance(value, tuple) else [value] * count


def _scale(value: Per, factor: float) -> Per:
    return tuple(v / factor for v in value) if isinstance(value, tuple) else value / factor


def _machines(net: pp.pandapowerNet, trucks: list[TruckAt], x_pu: Per, cos_phi: Per) -> None:
    """The trucks as synchronous generators, the first the slack; one table write for all.
    `x_pu` and `cos_phi` are the machines', or each truck's own (a tuple)."""
    sn_mva = [truck.rating_kva / 1000.0 for truck in trucks]
    vn_kv = [float(net.bus.at[truck.bus, "vn_kv"]) for truck in trucks]
    pp.create_gens(
        net,
        [truck.bus for truck in trucks],
        p_mw=0.0,
        vm_pu=1.0,
        sn_mva=sn_mva,
        vn_kv=vn_kv,
        xdss_pu=_each(x_pu, len(trucks)) if isinstance(x_pu, tuple) else x_pu,
        rdss_ohm=_rdss_ohm(x_pu, vn_kv, sn_mva),
        cos_phi=_each(cos_phi, len(trucks)) if isinstance(cos_phi, tuple) else cos_phi,
        slack=[k == 0 for k in range(len(trucks))],
        name=[truck.id for truck in trucks],
    )


def _rdss_ohm(x_pu: Per, vn_kv: list[float], sn_mva: list[float]) -> list[float]:
    xs = _each(x_pu, len(vn_kv))
    return [0.07 * x * kv**2 / sn for x, kv, sn in zip(xs, vn_kv, sn_mva, strict=True)]


def _reactance(net: pp.pandapowerNet, x_pu: Per, cos_phi: Per) -> None:
    """The machines `_machines` added, behind another reactance: the values it would write."""
    gen = net.gen
    gen["xdss_pu"] = _each(x_pu, len(gen)) if isinstance(x_pu, tuple) else x_pu
    gen["rdss_ohm"] = _rdss_ohm(x_pu, gen.vn_kv.tolist(), gen.sn_mva.tolist())
    gen["cos_phi"] = _each(cos_phi, len(gen)) if isinstance(cos_phi, tuple) else cos_phi


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


def _run(net: pp.pandapowerNet, fault: str, case: str, bus: int | None = None) -> dict[int, float]:
    """pandapower's IEC 60909 initial currents (kA) by bus. Zbus's diagonal comes from a
    factorisation of Ybus (`inverse_y=False`), not its dense inverse: SciPy's `inv` takes a
    slow path for the complex symmetric Ybus (0.2 s at 33 buses, cubic beyond)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc.calc_sc(
            net,
            bus=None if bus is None else [bus],
            fault=fault,
            case=case,
            branch_results=False,
            inverse_y=False,
        )
    ikss = net.res_bus_sc.ikss_ka
    return {int(b): float(v) for b, v in ikss.items() if math.isfinite(v)}


def _machine_key(trucks: list[TruckAt], x_pu: Per, cos_phi: Per) -> tuple:
    """What of the trucks a fault run reads: their buses and kVA, in order, and the machine."""
    return (tuple((t.bus, t.rating_kva) for t in trucks), x_pu, cos_phi)


def _island_runs(
    sub: pp.pandapowerNet,
    trucks: list[TruckAt],
    machines: list[tuple[Per, Per]],
    fault: str,
    case: str,
    sources: Sequence[TruckAt] = (),
) -> list[dict[int, float]]:
    """Fault currents of the island `sub` fed by `trucks` (synchronous machines) and `sources`
    (battery inverters), once per machine reactance and power factor in `machines`; each
    result from `fault_memo` where the same question was asked before, else pandapower runs on
    a network whose generators are created once."""
    base = _fault_net(sub)
    k = INVERTER_K_MAX if case == "max" else INVERTER_K
    if not trucks:
        return [_sources_only(base, sources, k)] * len(machines)
    digest = fingerprint(base)
    extra = (tuple((t.bus, t.rating_kva) for t in sources), k) if sources else ()
    out: list[dict[int, float]] = []
    net: pp.pandapowerNet | None = None
    for x_pu, cos_phi in machines:
        key = (digest, _machine_key(trucks, x_pu, cos_phi), fault, case, *extra)
        found = fault_memo.get(key)
        if found is None:
            if net is None:
                net = copy_net(base, "gen")
                _machines(net, trucks, x_pu, cos_phi)
                _inverters(net, sources, k)
            else:
                _reactance(net, x_pu, cos_phi)
            found = _run(net, fault, case) if case == "max" else _with_sources(net, fault)
            fault_memo.put(key, found)
        out.append(found)
    return out


def _on_mv(sub: pp.pandapowerNet, trucks: list[TruckAt]) -> bool:
    """Whether every truck stands on a medium-voltage bus of the island (LV trucks do not,
    also where an MV-only network models their transformer's load at an MV bus)."""
    vn_kv = sub.bus.vn_kv
    return all(
        t.bus in vn_kv.index
        and float(vn_kv.at[t.bus]) >= MV_KV
        and (t.kind is None or t.kind.connects != "lv")
        for t in trucks
    )


def _inverters(net: pp.pandapowerNet, sources: Sequence[TruckAt], k: float) -> None:
    """The battery trucks as pandapower's current sources: k x rated current, no decay."""
    if sources:
        pp.create_sgens(
            net,
            [t.bus for t in sources],
            p_mw=0.0,
            sn_mva=[t.rating_kva / 1000.0 for t in sources],
            k=k,
            current_source=True,
            name=[t.id for t in sources],
        )


def _with_sources(net: pp.pandapowerNet, fault: str) -> dict[int, float]:
    """Minimum-case currents with the current sources of `net` counted: the machines' minimum
    currents plus the sources' term of the maximum case (with them, less without them)."""
    machines = _run(net, fault, "min")  # pandapower leaves current sources out of it
    if not len(net.sgen):
        return machines
    both = _run(net, fault, "max")
    net.sgen["in_service"] = False
    try:
        alone = _run(net, fault, "max")
    finally:
        net.sgen["in_service"] = True
    return {b: v + both[b] - alone[b] for b, v in machines.items() if b in both and b in alone}


def _sources_only(net: pp.pandapowerNet, sources: Sequence[TruckAt], k: float) -> dict[int, float]:
    """An island of inverters alone: at every bus k x their summed rated current, at the bus's
    nominal voltage (every ampere flows into the fault)."""
    mva = k * sum(t.rating_kva for t in sources) / 1000.0
    return {int(b): mva / (math.sqrt(3) * float(v)) for b, v in net.bus.vn_kv.items()}


def island_faults(
    sub: pp.pandapowerNet,
    online: list[TruckAt],
    *,
    xdss_pu: Per,
    xds_pu: Per,
    sustained_x_pu: Per,
    power_factor: Per,
    inverters: Sequence[bool] = (),
) -> FaultLevels | None:
    """The island's lowest 2-phase fault current (minimum case) with `online` trucks, at the
    medium-voltage bus where the subtransient value is lowest. Each machine value is the
    trucks', or a tuple of each truck's own (a mixed fleet), in the order of `online`;
    `inverters` marks the battery trucks among them (current sources: their machine values are
    not read)."""
    if not online or not _on_mv(sub, online):
        return None  # an LV truck's island: no medium-voltage bus to judge the relays at
    trucks, sources, pick = _split(online, inverters)
    machines: list[tuple[Per, Per]] = [
        (pick(xdss_pu), pick(power_factor)),
        (_scale(pick(xds_pu), C_MAX), 1.0),
        (_scale(pick(sustained_x_pu), C_MAX), 1.0),
    ]
    runs = _island_runs(sub, trucks, machines, "2ph", "min", sources)
    mv = set(sub.bus.index[sub.bus.vn_kv >= MV_KV].astype(int).tolist())
    subtransient, transient, sustained = ({b: v for b, v in r.items() if b in mv} for r in runs)
    if not subtransient:
        return None
    bus = min(subtransient, key=subtransient.__getitem__)
    return FaultLevels(bus, subtransient[bus], transient.get(bus, 0.0), sustained.get(bus, 0.0))


def island_max_3ph_ka(
    sub: pp.pandapowerNet,
    trucks: list[TruckAt],
    xdss_pu: Per,
    power_factor: Per,
    inverters: Sequence[bool] = (),
) -> float:
    """The largest 3-phase current (maximum case) in the island with every placed truck on
    (0 for an LV truck's island, which has no medium-voltage bus)."""
    if not _on_mv(sub, trucks):
        return 0.0
    machines, sources, pick = _split(trucks, inverters)
    (currents,) = _island_runs(
        sub, machines, [(pick(xdss_pu), pick(power_factor))], "3ph", "max", sources
    )
    return max(currents.values(), default=0.0)


def _split(
    trucks: list[TruckAt], inverters: Sequence[bool]
) -> tuple[list[TruckAt], list[TruckAt], Callable[[Per], Per]]:
    """The synchronous machines among `trucks`, the inverters, and a function that keeps the
    machines' own of each truck's values (a tuple in the order of `trucks`)."""
    flags = list(inverters) or [False] * len(trucks)
    machines = [t for t, inverter in zip(trucks, flags, strict=True) if not inverter]
    sources = [t for t, inverter in zip(trucks, flags, strict=True) if inverter]

    def pick(value: Per) -> Per:
        if not isinstance(value, tuple) or not sources:
            return value
        return tuple(v for v, inverter in zip(value, flags, strict=True) if not inverter)

    return machines, sources, pick


def at_delay_ka(levels: FaultLevels, delay_s: float, tds_s: float) -> float:
    """The 2-phase current still flowing when the relay operates, `delay_s` after inception."""
    decay = math.exp(-delay_s / tds_s) if tds_s > 0 else 0.0
    return levels.sustained_ka + (levels.transient_ka - levels.sustained_ka) * decay


def at_delay_mixed_ka(
    levels: FaultLevels, delay_s: float, tds_s: Sequence[float], weights: Sequence[float]
) -> float:
    """`at_delay_ka` for machines of different T'd: the decaying part (I'k - Ik) split among
    them by `weights` (their kVA), each share decaying with its own time constant."""
    total = sum(weights)
    decay = sum(
        w / total * (math.exp(-delay_s / t) if t > 0 else 0.0)
        for w, t in zip(weights, tds_s, strict=True)
    )
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
    key = (fingerprint(net), "grid", bus)
    found = fault_memo.get(key)
    if found is None:
        try:
            found = _run(net, "2ph", "min", bus)
        except Exception as exc:  # pandapower's short-circuit module refuses some networks
            if not solver_failure(exc):
                raise  # a bug, not a network the module refuses
            found = {}
        fault_memo.put(key, found)
    return found.get(bus)
