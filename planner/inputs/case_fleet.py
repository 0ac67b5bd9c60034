"""The case's `[fleet]` table and its `[[fleet.types]]`: what trucks there are, checked.

A mixed fleet gives each type its own count, rating, power factor and machine data; what a
type does not say it takes from `[fleet]` (else the format's default). `[fleet]` itself then
keeps only the fleet-wide keys and the defaults: `trucks`, `rating_kw` and `power_factor` there
are errors. A type with `connects = "lv"` feeds the low-voltage side of one distribution
transformer (`planner.decide.lv_slots`). A battery type (`storage_kwh > 0`) burns no fuel and is
an inverter: fuel and synchronous-machine keys given in it are errors (it would not use them).
"""

from __future__ import annotations

import re
from typing import Any

from planner.inputs import schema
from planner.inputs.case import MACHINE_KEYS, Fleet, Limits, Reserve, TruckType
from planner.inputs.schema import Reader, join_key, shown

__all__ = ["MAX_TRUCKS", "read_fleet"]

# Upper bound of the fleet: far beyond any real job, close enough that nothing allocated per
# truck or bay grows without bound.
MAX_TRUCKS = 1000

_FLEET = {"trucks", "rating_kw", "power_factor", "min_loading", "reserve", "setup_hours",
          "types", *MACHINE_KEYS}  # fmt: skip
_PRICES = ("truck_day", "mobilisation")  # a type's own prices, else `[costs]`'s
_TYPE = {"name", "trucks", "rating_kw", "power_factor", "connects", "storage_kwh", *MACHINE_KEYS,
         *_PRICES}  # fmt: skip
_WIDE = {"reserve", "setup_hours", "min_loading"}  # [fleet]'s alone, never a type's
_OWN = ("trucks", "rating_kw", "power_factor")  # a type's own; absent from [fleet] with types
# keys a battery type (`storage_kwh > 0`) must not give, and why it has no use for them
_NOT_BATTERY = {
    **dict.fromkeys(("fuel_l_per_kwh", "tank_l", "tanker_l"), "burns no fuel"),
    **dict.fromkeys(
        ("xdss_pu", "xds_pu", "xd_pu", "tds_s", "excitation", "sc_support_multiple"),
        "is an inverter, not a synchronous machine",
    ),
}
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")  # safe as the prefix of truck ids in every output

_REACTANCE = schema.all_of(schema.positive, schema.at_least(0.01), schema.at_most(100))
_TRUCKS = schema.all_of(schema.non_negative, schema.at_most(MAX_TRUCKS))
# in the order problems are reported in, as the keys appear in case-format.md;
# `vm_setpoint_pu` is checked against the case's voltage limits
_NUMBERS: dict[str, Any] = {
    "rating_kw": schema.all_of(schema.positive, schema.at_least(1), schema.at_most(100_000)),
    "power_factor": schema.all_of(schema.between(0, 1, low_open=True), schema.at_least(0.1)),
    "vm_setpoint_pu": None,
    "min_loading": schema.between(0, 1),
    "setup_hours": schema.all_of(schema.non_negative, schema.at_most(720)),
    "fuel_l_per_kwh": schema.all_of(schema.positive, schema.at_most(10)),
    "tank_l": schema.all_of(schema.positive, schema.at_least(1), schema.at_most(100_000)),
    "tanker_l": schema.all_of(schema.positive, schema.at_least(1), schema.at_most(1_000_000)),
    "xdss_pu": _REACTANCE,
    "xds_pu": _REACTANCE,
    "xd_pu": _REACTANCE,
    "tds_s": schema.all_of(schema.positive, schema.at_most(100)),
    "sc_support_multiple": schema.all_of(schema.positive, schema.at_most(100)),
    "load_step_percent": schema.between(0, 100, low_open=True),
}
_CHOICES = {"excitation": ("none", "support"), "mv_earthing": ("none", "earthed")}


def read_fleet(r: Reader, data: dict[str, Any], limits: Limits) -> Fleet:
    """`[fleet]` with its types; every problem recorded in `r`."""
    d = Fleet(trucks=0)
    t = r.table(data, "fleet", "fleet", _FLEET, required=True)
    if t is None:
        return d
    p = "fleet"
    typed = "types" in t
    if typed:
        for key in _OWN:
            if key in t:
                r.error(
                    join_key(p, key),
                    f"must be absent when [[fleet.types]] is given (each type has its own "
                    f"{key}), got {shown(t[key])}",
                )
    trucks = None if typed else r.value(t, "trucks", p, int, check=_TRUCKS)
    checks = {**_NUMBERS, "vm_setpoint_pu": schema.between(limits.vm_min_pu, limits.vm_max_pu)}
    numbers = {
        key: r.value(t, key, p, float, getattr(d, key), check)
        for key, check in checks.items()
        if not (typed and key in _OWN)
    }
    values = {key: getattr(d, key) if v is None else v for key, v in numbers.items()}
    reserve = r.value(t, "reserve", p, str, "none", schema.one_of("none", "n-1"))
    for key, choices in _CHOICES.items():
        values[key] = r.value(t, key, p, str, getattr(d, key), schema.one_of(*choices))
        values[key] = values[key] or getattr(d, key)
    fleet = Fleet(trucks=trucks or 0, reserve=Reserve(reserve or "none"), **values)
    if not typed:
        return fleet
    types = _types(r, t["types"], fleet, checks)
    if not types:
        return fleet
    total = sum(kind.trucks for kind in types)
    if total > MAX_TRUCKS:
        r.error("fleet.types", f"the types have {total} trucks in all, at most {MAX_TRUCKS}")
    return _mixed(fleet, types, total)


def _mixed(fleet: Fleet, types: tuple[TruckType, ...], total: int) -> Fleet:
    """`fleet` with its types: `trucks` their total, `rating_kw` and `rating_kva` the largest
    of any type (lower bounds on trucks from them stay valid bounds)."""
    largest_kw = max(kind.rating_kw for kind in types)
    largest_kva = max(kind.rating_kva for kind in types)
    top = max(types, key=lambda kind: (kind.rating_kw, kind.rating_kva))
    # the largest type's power factor when it is the largest in kVA too, else the one that
    # gives the largest kW and the largest kVA together
    pf = top.power_factor if top.rating_kva >= largest_kva else largest_kw / largest_kva
    return Fleet(
        trucks=total,
        rating_kw=largest_kw,
        power_factor=pf,
        min_loading=fleet.min_loading,
        reserve=fleet.reserve,
        setup_hours=fleet.setup_hours,
        **{key: getattr(fleet, key) for key in MACHINE_KEYS},
        types=types,
    )


def _types(r: Reader, raw: Any, fleet: Fleet, checks: dict[str, Any]) -> tuple[TruckType, ...]:
    """`[[fleet.types]]`: each type's own keys, the rest from `fleet`."""
    if not isinstance(raw, list) or not raw:
        what = "an empty list" if isinstance(raw, list) else f"{type(raw).__name__} {shown(raw)}"
        r.error("fleet.types", f"expected one or more [[fleet.types]] tables, got {what}")
        return ()
    out: list[TruckType] = []
    names: dict[str, int] = {}
    for i, item in enumerate(raw):
        key = join_key("fleet.types", i)
        if not isinstance(item, dict):
            r.error(key, f"expected a table, got {type(item).__name__} {shown(item)}")
            continue
        for wide in sorted(_WIDE & set(item)):
            r.error(join_key(key, wide), "is fleet-wide: give it in [fleet], not in a type")
        r.unknown_keys({k: v for k, v in item.items() if k not in _WIDE}, key, _TYPE)
        kind = _type(r, item, key, fleet, checks)
        name = kind.name if kind is not None else item.get("name")
        if isinstance(name, str) and _NAME.fullmatch(name):
            if name in names:
                r.error(
                    join_key(key, "name"),
                    f"{shown(name)} is already the name of fleet.types[{names[name]}]; "
                    "type names must be unique (they prefix the truck ids)",
                )
                continue
            names[name] = i
        if kind is not None:
            out.append(kind)
    return tuple(out)


def _type(
    r: Reader, item: dict[str, Any], key: str, fleet: Fleet, checks: dict[str, Any]
) -> TruckType | None:
    """One `[[fleet.types]]` table, or None when it has a problem."""
    before = len(r.problems)
    name = r.value(item, "name", key, str)
    if name is not None and not _NAME.fullmatch(name):
        r.error(
            join_key(key, "name"),
            "must be 1 to 40 letters, digits, '_', '.' or '-' (it prefixes the truck ids), "
            f"got {shown(name)}",
        )
    trucks = r.value(item, "trucks", key, int, check=_TRUCKS)
    own = {"rating_kw": 2000.0, "power_factor": 0.8} | {k: getattr(fleet, k) for k in MACHINE_KEYS}
    values: dict[str, Any] = {}
    for field, default in own.items():
        if field in _CHOICES:
            values[field] = r.value(item, field, key, str, default, schema.one_of(*_CHOICES[field]))
        else:
            values[field] = r.value(item, field, key, float, default, checks[field])
    connects = r.value(item, "connects", key, str, "mv", schema.one_of("mv", "lv"))
    energy = schema.all_of(schema.non_negative, schema.at_most(1e6))
    storage = r.value(item, "storage_kwh", key, float, 0.0, energy)
    if storage is not None and storage > 0:
        _battery_keys(r, item, key)
    money = schema.all_of(schema.non_negative, schema.at_most(1e9))
    prices = {field: r.value(item, field, key, float, None, money) for field in _PRICES}
    if len(r.problems) > before:
        return None
    return TruckType(name, trucks, connects=connects, storage_kwh=storage, **values, **prices)


def _battery_keys(r: Reader, item: dict[str, Any], key: str) -> None:
    """A battery type giving a key it has no use for: an error naming it and its value."""
    for field, why in _NOT_BATTERY.items():
        if field in item:
            r.error(
                join_key(key, field),
                f"a battery truck (storage_kwh > 0) {why}: leave {field} out, "
                f"got {shown(item[field])}",
            )
