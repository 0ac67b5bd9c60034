"""The cheapest mix in money (`[costs]`): rental per truck standing, mobilisation per truck from
the depot and fuel per kWh delivered, a battery burning none. Trucks share an island's energy in
proportion to their weights, so an island's fuel is a ratio of its counts; the MILP bounds it
linearly and enumerates count vectors (`planner.decide.tiers.cheapest_exact`). Checked against a
brute force over every filling of every bay and LV slot, each island's money computed directly
(`island_fuel`), then the count and the installed kVA."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random

import pytest

from planner.decide.mix import Kind, MixNeed, allocate_mix, holds, type_prices
from planner.decide.mix_needs import island_fuel
from planner.inputs.case import TruckType
from planner.inputs.case_costs import Costs
from tests.decide.test_mix import _island, _random_case, _random_lv_case

Fill = tuple[tuple[str, ...], tuple[tuple[int, str], ...]]  # trucks at bays, LV trucks at slots


def _money(needs: list[MixNeed], kinds: list[Kind], fills: list[Fill]) -> tuple[float, int, float]:
    """(money, trucks, kVA) of a filling of every island, each truck from the depot."""
    by_name = {k.name: k for k in kinds}
    money = count = kva = 0.0
    for need, (chosen, lv) in zip(needs, fills, strict=True):
        names = [*chosen, *(n for _, n in lv)]
        money += sum(by_name[n].cost + by_name[n].mobilisation for n in names)
        money += island_fuel(need, kinds, chosen, lv)
        count += len(names)
        kva += sum(by_name[n].rating_kva for n in names)
    return round(money, 6), int(count), round(kva, 6)


def _fills(need: MixNeed, kinds: list[Kind]) -> list[Fill]:
    """Every filling of the island's bays and slots that carries it."""
    options = [None, *(k.name for k in kinds if not k.lv)]
    lv_options = [None, *(k.name for k in kinds if k.lv)]
    bays = sum(b for _, b, _ in need.points)
    out = []
    for fill in itertools.combinations_with_replacement(options, bays):
        chosen = tuple(sorted(n for n in fill if n is not None))
        for lv_fill in itertools.product(lv_options, repeat=len(need.lv)):
            lv = tuple((i, n) for i, n in enumerate(lv_fill) if n is not None)
            if holds(need, kinds, chosen, lv):
                out.append((chosen, lv))
    return out


def _brute(needs: list[MixNeed], kinds: list[Kind]) -> tuple[float, int, float] | None:
    best = None
    for combo in itertools.product(*(_fills(n, kinds) for n in needs)):
        used = [name for chosen, lv in combo for name in (*chosen, *(n for _, n in lv))]
        if any(used.count(k.name) > k.available for k in kinds):
            continue
        cost = _money(needs, kinds, list(combo))
        best = cost if best is None or cost < best else best
    return best


def _found(needs: list[MixNeed], kinds: list[Kind], found: dict[int, list[tuple[int, str]]]):  # type: ignore[no-untyped-def]
    """The filling `allocate_mix` chose, as (trucks at bays, LV trucks at slots) per island."""
    lv_kinds = {k.name for k in kinds if k.lv}
    fills = []
    for need in needs:
        chosen = tuple(sorted(k for _, k in found[need.key] if k not in lv_kinds))
        at = {s.bus: i for i, s in enumerate(need.lv)}
        lv = tuple(sorted((at[b], k) for b, k in found[need.key] if k in lv_kinds))
        fills.append((chosen, lv))
    return fills


def _priced(kinds: list[Kind], rng: random.Random, batteries: int) -> list[Kind]:
    """`kinds` with random day rates (by size, with noise), mobilisation and fuel per kWh;
    `batteries` of them made battery trucks (no fuel) of random store."""
    out = []
    for kind in kinds:
        out.append(
            dataclasses.replace(
                kind,
                cost=round(kind.rating_kw * rng.uniform(0.5, 1.5), 1),
                mobilisation=rng.choice([0.0, 300.0, 1500.0]),
                fuel_per_kwh=rng.choice([0.25, 0.3, 0.35]),
            )
        )
    for k in rng.sample(range(len(out)), batteries):
        store = rng.choice([1.0, 2.0, 4.0]) * out[k].rating_kw
        out[k] = dataclasses.replace(out[k], name=f"B{k}", storage_kwh=store, fuel_per_kwh=0.0)
    return out


def _case(seed: int) -> tuple[list[MixNeed], list[Kind]]:
    rng = random.Random(5000 + seed)
    needs, kinds = _random_lv_case(seed, same_pf=True) if seed % 2 else _random_case(seed)
    kinds = _priced(kinds, rng, rng.randint(0, 2))
    needs = [dataclasses.replace(n, design_kwh=n.design_kw * rng.uniform(1.0, 12.0)) for n in needs]
    return needs, kinds


@pytest.mark.parametrize("seed", range(60))
def test_the_priced_mix_is_as_cheap_as_the_brute_force(seed: int) -> None:
    needs, kinds = _case(seed)
    found = allocate_mix(needs, kinds)
    cheapest = _brute(needs, kinds)
    assert (found is None) == (cheapest is None)
    if found is not None:
        fills = _found(needs, kinds, found)
        assert _money(needs, kinds, fills) == cheapest
        for need, (chosen, lv) in zip(needs, fills, strict=True):
            assert holds(need, kinds, chosen, lv)


# one island of 1,500 kW over 4 hours (6,000 kWh) with two bays
_NEED = _island(0, 1500.0, 1700.0, (2,), design_kwh=6000.0)
_DIESEL = Kind("D-1000", 2, 1000.0, 1250.0, 1250.0, cost=500.0, fuel_per_kwh=0.3)
_BATTERY = Kind("B-1000", 1, 1000.0, 1250.0, 1250.0, cost=900.0, storage_kwh=4000.0)


@pytest.mark.parametrize(
    ("battery_day", "expected"),
    [
        # two diesels cost 1,000 and burn 6,000 kWh x 0.3 = 1,800: 2,800; a diesel and the
        # battery share the energy 3,000 kWh each: 500 + 900 + 900 = 2,300
        (900.0, ["B-1000", "D-1000"]),
        # at 1,450 for the battery: 500 + 1,450 + 900 = 2,850 against 2,800: two diesels
        (1450.0, ["D-1000", "D-1000"]),
    ],
)
def test_a_battery_is_taken_where_the_fuel_it_saves_pays_for_it(
    battery_day: float, expected: list[str]
) -> None:
    battery = dataclasses.replace(_BATTERY, cost=battery_day)
    found = allocate_mix([_NEED], [_DIESEL, battery])
    assert found is not None
    assert sorted(k for _, k in found[0]) == expected


def test_without_prices_the_fewest_trucks_win() -> None:
    """Two batteries (1,800, no fuel) before a 2,000 kW diesel (800 + 1,800 of fuel) when
    priced; without `[costs]` every truck costs 1 (`type_prices`): the one diesel."""
    need = _island(0, 1500.0, 1700.0, (3,), design_kwh=6000.0)
    diesel = Kind("D-2000", 1, 2000.0, 2500.0, 2500.0, cost=800.0, fuel_per_kwh=0.3)
    battery = dataclasses.replace(_BATTERY, available=2)
    priced = allocate_mix([need], [diesel, battery])
    assert priced is not None and sorted(k for _, k in priced[0]) == ["B-1000", "B-1000"]
    free = type_prices(TruckType("x", 1), None, 24.0)
    plain = [dataclasses.replace(k, **free) for k in (diesel, battery)]
    assert allocate_mix([need], plain) == {0: [(0, "D-2000")]}


@pytest.mark.parametrize(
    ("kind", "costs", "hours", "expected"),
    [
        (TruckType("MV", 1), None, 48.0, (1.0, 0.0, 0.0)),
        # [costs] prices, two days of hire, 0.27 L/kWh at 1.2 per litre
        (TruckType("MV", 1), Costs(truck_day=3000.0, mobilisation=800.0, fuel_per_l=1.2),
         48.0, (6000.0, 800.0, 0.324)),
        # the type's own prices before [costs]'; half a day pro rata
        (TruckType("LV", 1, 400.0, truck_day=900.0, mobilisation=0.0),
         Costs(truck_day=3000.0, mobilisation=800.0, fuel_per_l=1.2), 12.0, (450.0, 0.0, 0.324)),
        # a battery burns no fuel
        (TruckType("B", 1, storage_kwh=2000.0), Costs(truck_day=2000.0, fuel_per_l=1.2),
         24.0, (2000.0, 0.0, 0.0)),
    ],
)  # fmt: skip
def test_type_prices(
    kind: TruckType, costs: Costs | None, hours: float, expected: tuple[float, ...]
) -> None:
    prices = type_prices(kind, costs, hours)
    got = (prices["cost"], prices["mobilisation"], prices["fuel_per_kwh"])
    assert got == pytest.approx(expected)


def test_a_truck_standing_elsewhere_is_no_saving_on_mobilisation() -> None:
    """A type-A truck stands at bus 5 and cannot move in time: at bus 7 an A truck comes from
    the depot (100 + 10,000 to mobilise), dearer than a B truck (500): B. Were the A truck free
    to move, it would come for 100."""
    need = MixNeed(0, ((7, 1, 0.0),), 800.0, 900.0)
    b = Kind("B", 1, 1000.0, 1250.0, 1250.0, cost=500.0)
    stuck = Kind("A", 2, 1000.0, 1250.0, 1250.0, cost=100.0, mobilisation=10000.0,
                 reusable=1, pinned=((5, 1),))  # fmt: skip
    assert allocate_mix([need], [stuck, b]) == {0: [(7, "B")]}
    free = dataclasses.replace(stuck, available=3, pinned=())
    assert allocate_mix([need], [free, b]) == {0: [(7, "A")]}
    # standing at the island's own bus it serves there, reused
    here = dataclasses.replace(stuck, pinned=((7, 1),))
    assert allocate_mix([need], [here, b]) == {0: [(7, "A")]}


def test_a_battery_much_larger_than_its_share_does_not_hide_the_cheapest_mix() -> None:
    """Two 12-hour islands; a 250 kW battery of 20,000 kWh delivers at most its share of an
    island's energy (`least_weight`), not its store: the bound stays tight and the all-diesel
    mix (92,470) is found, as the brute force finds it."""
    kvar = math.tan(math.acos(0.9))
    needs = [
        _island(n, kw, math.hypot(kw, kw * kvar), (2, 1), design_kvar=kw * kvar,
                design_kwh=kw * 12.0)
        for n, kw in enumerate((1500.0, 1400.0))
    ]  # fmt: skip
    fuel, stage = 0.27 * 7.5, 14.0 / 24.0
    kinds = [
        Kind("D2000", 4, 2000.0, 2500.0, 2500.0, cost=12000 * stage, mobilisation=4000.0,
             fuel_per_kwh=fuel),
        Kind("D1000", 4, 1000.0, 1250.0, 1250.0, cost=9000 * stage, mobilisation=3000.0,
             fuel_per_kwh=fuel * 1.05),
        Kind("BAT", 6, 250.0, 250 / 0.9, 250 / 0.9, cost=12000 * stage, mobilisation=1000.0,
             storage_kwh=20000.0),
    ]  # fmt: skip
    found = allocate_mix(needs, kinds)
    assert found is not None
    assert _money(needs, kinds, _found(needs, kinds, found)) == _brute(needs, kinds)
    assert _brute(needs, kinds) == (92470.0, 2, 5000.0)
