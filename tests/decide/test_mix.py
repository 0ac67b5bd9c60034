"""The cheapest mix of truck types (`planner.decide.mix`) against a brute force over every way of
filling every bay with a truck of any type or none and every LV slot with an LV truck of any type
or none, each island checked directly (each LV truck carrying its slot's load alone, each other
truck within its kW and kVA at its share of what is left, a battery truck within its energy at its
share of the stage's design energy; under n-1 with any one truck tripped)."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest

from planner.decide.mix import Kind, LvSlot, MixNeed, allocate_mix, holds, mix_cost

MV = Kind("MV-2000", 4, 2000.0, 2500.0, 2000.0)
MV1 = Kind("MV-1000", 3, 1000.0, 1250.0, 1000.0)
SMALL = Kind("MV-500", 2, 500.0, 625.0, 500.0)
LOW_PF = Kind("MV-1200", 2, 1200.0, 1300.0, 1200.0)  # pf 0.92: kW binds before kVA
LV = Kind("LV-400", 2, 400.0, 500.0, 400.0, lv=True)
LV2 = Kind("LV-250", 1, 250.0, 312.5, 250.0, lv=True)
# a diesel and a battery truck of the same rating (sharing by kVA, as `place_mix` weighs them);
# the battery burns no fuel: cheaper where it lasts
DIESEL = Kind("MV-1000", 2, 1000.0, 1250.0, 1250.0)
BATTERY = Kind("BAT-1000", 2, 1000.0, 1250.0, 1250.0, cost=0.8, storage_kwh=2500.0)
LV_BAT = Kind("LV-BAT-400", 1, 400.0, 500.0, 400.0, cost=0.8, lv=True, storage_kwh=1200.0)


def _island(key: int, kw: float, kva: float, bays: tuple[int, ...], **kw_args) -> MixNeed:  # type: ignore[no-untyped-def]
    points = tuple((100 * key + i, b, 0.1 * i) for i, b in enumerate(bays))
    return MixNeed(key, points, kw, kva, **kw_args)


def _slot(bus: int, kw: float, pf: float) -> LvSlot:
    return LvSlot(bus, kw, kw * math.tan(math.acos(pf)))


def _lv_island(mv_kw: float, bays: tuple[int, ...], slots_kw: tuple[float, ...], **kw_args):  # type: ignore[no-untyped-def]
    """Island 0 at pf 0.9: `mv_kw` on MV buses and transformers of `slots_kw` (buses 500...)."""
    slots = tuple(_slot(500 + i, kw, 0.9) for i, kw in enumerate(slots_kw))
    kw = mv_kw + sum(slots_kw)
    kvar = kw * math.tan(math.acos(0.9))
    return _island(0, kw, math.hypot(kw, kvar), bays, lv=slots, design_kvar=kvar, **kw_args)


def _slots_kwh(need: MixNeed, *e_kwh: float) -> MixNeed:
    """`need` with its slots' own design energies."""
    slots = tuple(dataclasses.replace(s, e_kwh=e) for s, e in zip(need.lv, e_kwh, strict=True))
    return dataclasses.replace(need, lv=slots)


CASES = {
    "one island, a small load": ([_island(0, 450.0, 520.0, (2,))], [MV, MV1, SMALL]),
    "one island, between sizes": ([_island(0, 2400.0, 2900.0, (2, 1))], [MV, MV1, SMALL]),
    "the big trucks run out": (
        [_island(0, 3900.0, 4700.0, (2, 2)), _island(1, 3800.0, 4500.0, (3,))],
        [Kind("MV-2000", 2, 2000.0, 2500.0, 2000.0), MV1, SMALL],
    ),
    "kVA binds": ([_island(0, 1500.0, 2400.0, (3,))], [MV1, LOW_PF, SMALL]),
    "n-1": ([_island(0, 1800.0, 2100.0, (2, 2), n_1=True)], [MV, MV1, SMALL]),
    "n-1, mixed sizes": ([_island(0, 2600.0, 3000.0, (3, 1), n_1=True)], [MV, MV1]),
    "verification asked for three": (
        [_island(0, 900.0, 1000.0, (2, 2), min_trucks=3)],
        [MV, MV1, SMALL],
    ),
    "priced types": (
        [_island(0, 1900.0, 2200.0, (3,))],
        [Kind("MV-2000", 2, 2000.0, 2500.0, 2000.0, cost=3.0), MV1, SMALL],
    ),
    "an unloaded island": ([_island(0, 0.0, 0.0, (1,)), _island(1, 800.0, 900.0, (1,))], [MV1]),
    "too small a fleet": (
        [_island(0, 8600.0, 9500.0, (2, 2))],
        [MV, Kind("MV-500", 1, 500.0, 625.0, 500.0)],
    ),
    # 2,100 kW at pf 0.9, a transformer of 300 kW in it: three 1,000 kW trucks, or two and a
    # 400 kW LV truck (the same count, 125 kVA less)
    "an LV truck saves an MV truck": ([_lv_island(1800.0, (3,), (300.0,))], [MV1, LV]),
    # the transformer's 450 kW is over the LV truck's 400 kW: MV trucks only
    "the transformer is too big": ([_lv_island(1650.0, (3,), (450.0,))], [MV1, LV]),
    # the island is two transformers and no bay: two LV trucks, no MV truck
    "all on LV trucks": ([_lv_island(0.0, (), (300.0, 200.0))], [MV1, LV, LV2]),
    # under n-1 no LV slot is offered
    "n-1 offers no LV slot": ([_lv_island(1500.0, (3,), (300.0,), n_1=True)], [MV1, LV]),
    # 682 kW / 1,070 kVA for 3 hours: 2,046 kWh, within one battery's 2,500
    "a short window: the battery": (
        [_island(0, 682.0, 1070.0, (2,), design_kwh=2046.0)],
        [DIESEL, BATTERY],
    ),
    # for 12 hours, 8,184 kWh: a battery beside a diesel truck would deliver half, 4,092 kWh
    "a long window: no battery": (
        [_island(0, 682.0, 1070.0, (2,), design_kwh=8184.0)],
        [DIESEL, BATTERY],
    ),
    # 4,000 kWh, more than one battery holds: two share it, 2,000 kWh each (no diesel truck free)
    "two batteries share the energy": (
        [_island(0, 682.0, 1070.0, (2,), design_kwh=4000.0)],
        [Kind("MV-1000", 0, 1000.0, 1250.0, 1250.0), BATTERY],
    ),
    "batteries under n-1": (
        [_island(0, 682.0, 1070.0, (2, 1), design_kwh=2046.0, n_1=True)],
        [DIESEL, BATTERY],
    ),
    "a battery too small for the energy, in a second island": (
        [
            _island(0, 900.0, 1100.0, (1,), design_kwh=1800.0),
            _island(1, 500.0, 600.0, (1,), design_kwh=3000.0),
        ],
        [Kind("MV-1000", 1, 1000.0, 1250.0, 1250.0), BATTERY],
    ),
    # 2,100 kW for 3 hours, 6,300 kWh; the transformer's share by kW 900 kWh, within the LV
    # battery's 1,200: it takes the transformer and saves an MV truck
    "an LV battery truck within its energy": (
        [_lv_island(1800.0, (3,), (300.0,), design_kwh=6300.0)],
        [MV1, LV_BAT],
    ),
    # for 5 hours the transformer's share is 1,500 kWh: the LV battery does not last
    "an LV battery truck short of energy": (
        [_lv_island(1800.0, (3,), (300.0,), design_kwh=10500.0)],
        [MV1, LV_BAT],
    ),
    # the transformer's own energy (1,300 kWh, its load peaks longer) decides, not its share
    "the slot's own energy decides": (
        [_slots_kwh(_lv_island(1800.0, (3,), (300.0,), design_kwh=6300.0), 1300.0)],
        [MV1, LV_BAT],
    ),
}


def _brute(needs: list[MixNeed], kinds: list[Kind]) -> tuple[float, float] | None:
    """The cheapest (cost, kVA) of any filling of the bays and LV slots, or None when none
    carries all."""
    options = [None, *(k.name for k in kinds if not k.lv)]
    lv_options = [None, *(k.name for k in kinds if k.lv)]
    best = None
    per_island = []
    for need in needs:
        bays = sum(b for _, b, _ in need.points)
        fills = {}
        for fill in itertools.combinations_with_replacement(options, bays):
            chosen = sorted(n for n in fill if n is not None)
            for lv_fill in itertools.product(lv_options, repeat=len(need.lv)):
                lv = [(i, n) for i, n in enumerate(lv_fill) if n is not None]
                if holds(need, kinds, chosen, lv):
                    key = tuple(sorted(chosen + [n for _, n in lv]))
                    fills[key] = mix_cost(kinds, list(key))
        per_island.append(fills)
    for combo in itertools.product(*(list(f) for f in per_island)):
        used = [name for chosen in combo for name in chosen]
        if any(used.count(k.name) > k.available for k in kinds):
            continue
        cost = mix_cost(kinds, used)
        best = cost if best is None or cost < best else best
    return best


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_mix_is_as_cheap_as_the_brute_force(name: str) -> None:
    needs, kinds = CASES[name]
    found = allocate_mix(needs, kinds)
    fewest = _brute(needs, kinds)
    if fewest is None:
        assert found is None
        return
    assert found is not None
    used = [kind for trucks in found.values() for _, kind in trucks]
    assert mix_cost(kinds, used) == fewest
    for need in needs:  # each island's trucks carry it, at its own points and bays
        trucks = [(b, k) for b, k in found[need.key] if not _is_lv(kinds, k)]
        assert holds(need, kinds, [kind for _, kind in trucks], _lv_of(need, kinds, found))
        bays = {bus: b for bus, b, _ in need.points}
        for bus in {bus for bus, _ in trucks}:
            assert sum(1 for b, _ in trucks if b == bus) <= bays[bus]
    for kind in kinds:
        assert used.count(kind.name) <= kind.available


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("one island, a small load", {0: ["MV-500"]}),
        ("one island, between sizes", {0: ["MV-2000", "MV-500"]}),
        ("kVA binds", {0: ["MV-1000", "MV-1000"]}),  # two 1,200 kW trucks: 100 kVA more
        ("priced types", {0: ["MV-1000", "MV-1000"]}),
        ("n-1", {0: ["MV-2000", "MV-2000"]}),  # a 1,000 kW truck alone after a trip: too small
        ("too small a fleet", None),
        ("an LV truck saves an MV truck", {0: ["LV-400", "MV-1000", "MV-1000"]}),
        ("the transformer is too big", {0: ["MV-1000", "MV-1000", "MV-1000"]}),
        ("all on LV trucks", {0: ["LV-250", "LV-400"]}),
        ("n-1 offers no LV slot", {0: ["MV-1000", "MV-1000", "MV-1000"]}),
        ("a short window: the battery", {0: ["BAT-1000"]}),
        ("a long window: no battery", {0: ["MV-1000"]}),
        ("two batteries share the energy", {0: ["BAT-1000", "BAT-1000"]}),
        # a trip at the start leaves one truck for the whole window: a battery can be that one
        ("batteries under n-1", {0: ["BAT-1000", "BAT-1000"]}),
        # the diesel truck goes where the battery would run empty
        (
            "a battery too small for the energy, in a second island",
            {0: ["BAT-1000"], 1: ["MV-1000"]},
        ),
        ("an LV battery truck within its energy", {0: ["LV-BAT-400", "MV-1000", "MV-1000"]}),
        ("an LV battery truck short of energy", {0: ["MV-1000", "MV-1000", "MV-1000"]}),
        ("the slot's own energy decides", {0: ["MV-1000", "MV-1000", "MV-1000"]}),
    ],
)
def test_the_mix_chosen(name: str, expected) -> None:  # type: ignore[no-untyped-def]
    needs, kinds = CASES[name]
    found = allocate_mix(needs, kinds)
    kinds_of = None if found is None else {k: sorted(n for _, n in v) for k, v in found.items()}
    assert kinds_of == expected


def _is_lv(kinds: list[Kind], name: str) -> bool:
    return next(k for k in kinds if k.name == name).lv


def _lv_of(
    need: MixNeed, kinds: list[Kind], found: dict[int, list[tuple[int, str]]]
) -> list[tuple[int, str]]:
    """The LV trucks of an island as (slot index, type), found by their buses."""
    at = {slot.bus: i for i, slot in enumerate(need.lv)}
    return [(at[b], k) for b, k in found[need.key] if _is_lv(kinds, k)]


def _mv_of(need: MixNeed, kinds: list[Kind], found: dict[int, list[tuple[int, str]]]) -> list[str]:
    return [k for _, k in found[need.key] if not _is_lv(kinds, k)]


def test_sharing_by_rating_puts_the_low_power_factor_truck_at_its_kva_first() -> None:
    """1,500 kW / 2,400 kVA on a 1,000 kW (1,250 kVA) and a 1,200 kW (1,300 kVA) truck: shared by
    rating, the 1,200 kW truck carries 1,309 kVA, over its 1,300; with a 500 kW truck added it
    carries 1,067 kVA."""
    need = _island(0, 1500.0, 2400.0, (3,))
    assert not holds(need, [MV1, LOW_PF, SMALL], ["MV-1000", "MV-1200"])
    assert holds(need, [MV1, LOW_PF, SMALL], ["MV-1000", "MV-1200", "MV-500"])


def _random_case(seed: int) -> tuple[list[MixNeed], list[Kind]]:
    """Two islands of random load and bays, three random types of random availability."""
    import random

    rng = random.Random(seed)
    kinds = []
    for i in range(3):
        kw = rng.choice([400.0, 800.0, 1000.0, 1600.0, 2000.0])
        pf = rng.choice([0.8, 0.85, 0.9])
        kinds.append(Kind(f"K{i}", rng.randint(1, 3), kw, kw / pf, kw, rng.choice([1.0, 1.0, 1.5])))
    needs = []
    for key in range(2):
        kw = rng.uniform(0.0, 3500.0)
        needs.append(
            _island(
                key,
                kw,
                kw / rng.uniform(0.8, 1.0),
                tuple(rng.randint(1, 2) for _ in range(2)),
                n_1=rng.random() < 0.3,
                min_trucks=rng.choice([0, 0, 2]),
            )
        )
    return needs, kinds


@pytest.mark.parametrize("seed", range(40))
def test_random_mixes_are_as_cheap_as_the_brute_force(seed: int) -> None:
    needs, kinds = _random_case(seed)
    found = allocate_mix(needs, kinds)
    fewest = _brute(needs, kinds)
    assert (found is None) == (fewest is None)
    if found is not None:
        used = [kind for trucks in found.values() for _, kind in trucks]
        assert mix_cost(kinds, used) == fewest
        assert all(holds(n, kinds, [k for _, k in found[n.key]]) for n in needs)


def _random_lv_case(seed: int, same_pf: bool) -> tuple[list[MixNeed], list[Kind]]:
    """Two islands of random MV load with up to three transformers each, two MV and two LV
    types; the transformers' loads at the island's power factor (`same_pf`) or their own."""
    import random

    rng = random.Random(1000 + seed)
    kinds = []
    for i in range(2):
        kw = rng.choice([500.0, 800.0, 1000.0, 2000.0])
        pf = rng.choice([0.8, 0.9])
        kinds.append(Kind(f"K{i}", rng.randint(2, 4), kw, kw / pf, kw / pf))
    for i in range(2):
        kw = rng.choice([200.0, 300.0, 400.0, 630.0])
        pf = rng.choice([0.8, 0.9])
        kinds.append(Kind(f"L{i}", rng.randint(1, 2), kw, kw / pf, kw / pf, lv=True))
    needs = []
    for key in range(2):
        pf = rng.uniform(0.8, 0.98)
        slots = []
        for j in range(rng.randint(1, 3)):
            kw = rng.uniform(50.0, 500.0)
            slot_pf = pf if same_pf else rng.uniform(0.75, 1.0)
            slots.append(_slot(100 * key + 50 + j, kw, slot_pf))
        mv_kw = rng.choice([0.0, rng.uniform(0.0, 2500.0)])
        kw = mv_kw + sum(s.p_kw for s in slots)
        kvar = mv_kw * math.tan(math.acos(pf)) + sum(s.q_kvar for s in slots)
        bays = tuple(rng.randint(1, 2) for _ in range(rng.choice([0, 1, 2, 2])))
        needs.append(
            _island(
                key,
                kw,
                math.hypot(kw, kvar),
                bays,
                lv=tuple(slots),
                design_kvar=kvar,
                n_1=rng.random() < 0.15,
                min_trucks=rng.choice([0, 0, 0, 2]),
            )
        )
    return needs, kinds


@pytest.mark.parametrize("seed", range(40))
def test_random_lv_mixes_are_as_cheap_as_the_brute_force(seed: int) -> None:
    """Transformers at the island's power factor: the linear kVA terms are exact, so the MILP
    finds the brute force's cheapest."""
    needs, kinds = _random_lv_case(seed, same_pf=True)
    found = allocate_mix(needs, kinds)
    fewest = _brute(needs, kinds)
    assert (found is None) == (fewest is None)
    if found is not None:
        used = [kind for trucks in found.values() for _, kind in trucks]
        assert mix_cost(kinds, used) == fewest
        for need in needs:
            assert holds(need, kinds, _mv_of(need, kinds, found), _lv_of(need, kinds, found))


@pytest.mark.parametrize("seed", range(20))
def test_random_lv_mixes_of_other_power_factors_hold(seed: int) -> None:
    """Transformers at power factors of their own: the kVA terms are a safe bound, so what the
    MILP picks always holds and costs no less than the brute force's cheapest."""
    needs, kinds = _random_lv_case(seed, same_pf=False)
    found = allocate_mix(needs, kinds)
    fewest = _brute(needs, kinds)
    if found is None:
        return
    assert fewest is not None
    used = [kind for trucks in found.values() for _, kind in trucks]
    assert mix_cost(kinds, used) >= fewest
    for need in needs:
        assert holds(need, kinds, _mv_of(need, kinds, found), _lv_of(need, kinds, found))


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        # a 1,000 kW truck standing at the point (it cannot move in time) serves before a fresh
        # 500 kW one: fewer distinct trucks over the works before less kVA
        (
            [
                Kind("MV-500", 2, 500, 625, 625),
                Kind("MV-1000", 0, 1000, 1250, 1250, reusable=1, pinned=((32, 1),)),
            ],
            [(32, "MV-1000")],
        ),
        # standing at another bus it cannot serve here: the fresh truck goes
        (
            [
                Kind("MV-500", 2, 500, 625, 625),
                Kind("MV-1000", 0, 1000, 1250, 1250, reusable=1, pinned=((30, 1),)),
            ],
            [(32, "MV-500")],
        ),
        # hired already and free to move: it comes before a fresh one
        (
            [Kind("MV-500", 2, 500, 625, 625), Kind("MV-1000", 1, 1000, 1250, 1250, reusable=1)],
            [(32, "MV-1000")],
        ),
        # nothing hired yet: the smaller truck
        (
            [Kind("MV-500", 2, 500, 625, 625), Kind("MV-1000", 1, 1000, 1250, 1250)],
            [(32, "MV-500")],
        ),
    ],
)
def test_trucks_hired_and_standing_are_used_first(kinds, expected) -> None:  # type: ignore[no-untyped-def]
    need = MixNeed(0, ((32, 1, 0.0),), 297.0, 350.0, 1)
    assert allocate_mix([need], kinds) == {0: expected}


@pytest.mark.parametrize(
    ("design_kwh", "chosen", "expected"),
    [
        (2500.0, ["BAT-1000"], True),  # exactly its store
        (2500.1, ["BAT-1000"], False),
        (5000.0, ["BAT-1000", "BAT-1000"], True),  # shared by rating: 2,500 kWh each
        (5000.0, ["BAT-1000", "MV-1000"], True),
        (5000.1, ["BAT-1000", "MV-1000"], False),
        (9e9, ["MV-1000"], True),  # a diesel truck has no energy limit
    ],
)
def test_a_battery_holds_while_its_share_of_the_energy_is_within_its_store(
    design_kwh: float, chosen: list[str], expected: bool
) -> None:
    need = _island(0, 682.0, 1070.0, (2,), design_kwh=design_kwh)
    assert holds(need, [DIESEL, BATTERY], chosen) is expected


def _random_battery_case(seed: int) -> tuple[list[MixNeed], list[Kind]]:
    """`_random_case` with a random design energy per island (1 to 16 hours of its load) and
    one or two of the types batteries of random store, cheaper than the others."""
    import random

    needs, kinds = _random_case(seed)
    rng = random.Random(1000 + seed)
    for k in rng.sample(range(len(kinds)), rng.randint(1, 2)):
        kind = kinds[k]
        store = rng.choice([1.0, 2.0, 4.0]) * kind.rating_kw
        kinds[k] = Kind(f"B{k}", kind.available, kind.rating_kw, kind.rating_kva, kind.weight,
                        round(0.7 * kind.cost, 2), storage_kwh=store)  # fmt: skip
    needs = [dataclasses.replace(n, design_kwh=n.design_kw * rng.uniform(1.0, 16.0)) for n in needs]
    return needs, kinds


@pytest.mark.parametrize("seed", range(40))
def test_random_mixes_with_batteries_are_as_cheap_as_the_brute_force(seed: int) -> None:
    needs, kinds = _random_battery_case(seed)
    found = allocate_mix(needs, kinds)
    fewest = _brute(needs, kinds)
    assert (found is None) == (fewest is None)
    if found is not None:
        used = [kind for trucks in found.values() for _, kind in trucks]
        assert mix_cost(kinds, used) == fewest
        assert all(holds(n, kinds, [k for _, k in found[n.key]]) for n in needs)


@pytest.mark.parametrize(
    ("standing_at", "expected"),
    [
        # an LV truck standing at the transformer's LV bus (it cannot move in time) takes it
        (500, ["LV-400", "MV-1000", "MV-1000"]),
        # standing at another transformer it cannot serve here
        (501, ["MV-1000", "MV-1000", "MV-1000"]),
    ],
)
def test_a_standing_lv_truck_serves_only_its_own_transformer(
    standing_at: int, expected: list[str]
) -> None:
    need = _lv_island(1800.0, (3,), (300.0,))
    lv = Kind("LV-400", 0, 400.0, 500.0, 400.0, lv=True, reusable=1, pinned=((standing_at, 1),))
    found = allocate_mix([need], [MV1, lv])
    assert found is not None
    assert sorted(k for _, k in found[0]) == expected


def _random_lv_battery_case(seed: int) -> tuple[list[MixNeed], list[Kind]]:
    """`_random_lv_case` (transformers at the island's power factor) with an MV and an LV type
    made batteries of random store, cheaper than the others, a random design energy per island
    and, for half the islands, each transformer's own energy (else its share by kW)."""
    import random

    needs, kinds = _random_lv_case(seed, same_pf=True)
    rng = random.Random(2000 + seed)
    for k in (rng.randrange(2), 2 + rng.randrange(2)):
        kind = kinds[k]
        store = rng.choice([1.0, 2.0, 4.0]) * kind.rating_kw
        kinds[k] = dataclasses.replace(kind, name=f"B{k}", cost=0.7, storage_kwh=store)
    out = []
    for need in needs:
        hours = rng.uniform(1.0, 8.0)
        need = dataclasses.replace(need, design_kwh=need.design_kw * hours)
        if rng.random() < 0.5:
            need = _slots_kwh(need, *(s.p_kw * hours * rng.uniform(0.5, 1.5) for s in need.lv))
        out.append(need)
    return out, kinds


@pytest.mark.parametrize("seed", range(30))
def test_random_lv_mixes_with_batteries_are_as_cheap_as_the_brute_force(seed: int) -> None:
    """The energy terms are linear in the slots taken and exact: the MILP finds the brute
    force's cheapest, each LV battery within its transformer's energy."""
    needs, kinds = _random_lv_battery_case(seed)
    found = allocate_mix(needs, kinds)
    fewest = _brute(needs, kinds)
    assert (found is None) == (fewest is None)
    if found is not None:
        used = [kind for trucks in found.values() for _, kind in trucks]
        assert mix_cost(kinds, used) == fewest
        for need in needs:
            assert holds(need, kinds, _mv_of(need, kinds, found), _lv_of(need, kinds, found))


def test_the_tiers_never_trade() -> None:
    """Cost before kVA (a 1.0 truck of 2,500 kVA before a 1.1 one of 500 kVA), and placement
    decided after both (the point a truck can stay at for the next stage, cost -0.49, before
    one nearer the load): each objective minimised with the ones before held."""
    need = MixNeed(0, ((0, 1, 0.2),), 400.0, 450.0, 1)
    big = Kind("BIG", 1, 2000.0, 2500.0, 2500.0, cost=1.0)
    small = Kind("SMALL", 1, 400.0, 500.0, 500.0, cost=1.1)
    assert allocate_mix([need], [big, small]) == {0: [(0, "BIG")]}
    spread = MixNeed(0, ((0, 1, 0.2), (1, 1, -0.44), (2, 1, -0.49)), 400.0, 450.0, 1)
    assert allocate_mix([spread], [small]) == {0: [(2, "SMALL")]}
