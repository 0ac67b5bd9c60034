"""The case's `[loads]`: which loads are protected, and the profile and scaling of demand."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planner.inputs import schema
from planner.inputs.case import Loads, Stage
from planner.inputs.profiles import (
    PROFILE_MIN_BYTES,
    CsvProfile,
    load_csv_profile,
    profile_max_bytes,
)
from planner.inputs.schema import at_most as _at_most
from planner.inputs.schema import join_key, shown
from planner.inputs.uncertainty import UNCERTAINTY_KEYS, read_uncertainty

if TYPE_CHECKING:
    from planner.inputs.case_builder import CaseBuilder

__all__ = ["read_loads"]

_LOADS = {"protected", "profile", "scaling", "margin", *UNCERTAINTY_KEYS}
_PROFILES = ("flat", "residential", "commercial", "simbench")


def read_loads(b: CaseBuilder, data: dict[str, Any], stages: tuple[Stage, ...]) -> Loads:
    r, d = b.r, Loads(protected=frozenset())
    t = r.table(data, "loads", "loads", _LOADS) or {}
    scaling = r.value(
        t, "scaling", "loads", float, d.scaling, schema.all_of(schema.positive, _at_most(100))
    )
    margin = r.value(
        t, "margin", "loads", float, d.margin, schema.all_of(schema.non_negative, _at_most(10))
    )
    profile = r.value(t, "profile", "loads", str, "flat")
    csv_profile = _csv_profile(b, profile, stages) if profile not in (None, *_PROFILES) else None
    if profile == "simbench" and b.network is not None and not b.network.is_simbench:
        r.error(
            "loads.profile",
            f"'simbench' profiles need a 'simbench:' network, this case uses {b.network.source!r}",
        )
    protected = _protected(b, t.get("protected", "all"))
    return Loads(
        protected=protected,
        profile=profile or "flat",
        csv_profile=csv_profile,
        scaling=scaling or d.scaling,
        margin=d.margin if margin is None else margin,
        **read_uncertainty(r, t, d),
    )


def _csv_profile(b: CaseBuilder, profile: str, stages: tuple[Stage, ...]) -> CsvProfile | None:
    """The CSV profile `profile` names, read within the size its stages can need."""
    r = b.r
    csv_path = b.base_dir / profile
    try:
        is_file = "\x00" not in profile and csv_path.is_file()
    except (OSError, ValueError):
        is_file = False
    if not is_file:
        r.error(
            "loads.profile",
            f"{shown(profile, 300)} is neither one of {', '.join(_PROFILES)} nor a CSV file next "
            "to the case",
        )
        return None
    max_bytes = (
        profile_max_bytes(min(s.start for s in stages), max(s.end for s in stages))
        if stages
        else PROFILE_MIN_BYTES
    )
    result = load_csv_profile(csv_path, max_bytes=max_bytes, name=profile)
    if isinstance(result, str):
        r.error("loads.profile", result)
        return None
    for i, stage in enumerate(stages):
        if not result.covers(stage.start, stage.end):
            r.error(
                "loads.profile",
                f"CSV profile {shown(profile, 300)} does not cover stage "
                f"{i} {stage.name!r} ({stage.start.isoformat()} to "
                f"{stage.end.isoformat()})",
            )
    return result


def _protected(b: CaseBuilder, spec: Any) -> frozenset[int]:
    """The protected loads; a selector of the wrong shape, or one that selects no load, is a
    problem (a wrong selector must never leave loads unprotected without a word)."""
    r, key = b.r, "loads.protected"
    net = b.network.net if b.network else None
    if spec == "all":
        return frozenset(int(i) for i in net.load.index) if net is not None else frozenset()
    if isinstance(spec, list):
        if not spec:
            r.error(key, f"the empty list protects no load; {_SHAPE}")
            return frozenset()
        found = set()
        for i, text in enumerate(spec):
            if not isinstance(text, str):
                r.error(join_key(key, i), f"expected a load reference string, got {_kind(text)}")
                continue
            ref = b.ref(text, join_key(key, i), ("load",))
            if ref is not None:
                if ref.index in found:
                    r.error(join_key(key, i), f"{shown(text)} is listed twice")
                found.add(ref.index)
        return frozenset(found)
    if isinstance(spec, dict):
        return _protected_by_column(b, spec, net)
    r.error(key, f"{_SHAPE}, got {_kind(spec)}")
    return frozenset()


def _protected_by_column(b: CaseBuilder, spec: dict[str, Any], net: Any) -> frozenset[int]:
    r, key = b.r, "loads.protected"
    count = len(r.problems)
    r.unknown_keys(spec, key, {"column", "equals"})
    column = r.value(spec, "column", key, str)
    wanted = spec.get("equals", schema.MISSING)
    ekey = join_key(key, "equals")
    if wanted is schema.MISSING:
        r.error(ekey, "required key is missing")
    else:
        values = wanted if isinstance(wanted, list) else [wanted]
        if not values:
            r.error(ekey, "the empty list selects no load; give the values that select loads")
        for i, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                where = join_key(ekey, i) if isinstance(wanted, list) else ekey
                r.error(where, f"expected a string or a number, got {_kind(value)}")
    if len(r.problems) > count or column is None or net is None:
        return frozenset()
    if column not in net.load.columns:
        import difflib

        close = difflib.get_close_matches(column, [str(c) for c in net.load.columns], n=2)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        r.error(
            join_key(key, "column"),
            f"the network's load table has no column {shown(column)}{hint}",
        )
        return frozenset()
    column_values = net.load[column]
    found: set[int] = set()
    for i, value in enumerate(values):
        mask = column_values.isin([value]).to_numpy(dtype=bool)
        if not mask.any():
            where = join_key(ekey, i) if isinstance(wanted, list) else ekey
            r.error(
                where,
                f"no load has {column} equal to {shown(value)}: the selector would leave "
                "loads unprotected",
            )
        found.update(int(i) for i in net.load.index[mask])
    return frozenset(found)


_SHAPE = (
    'expected "all", a list of load references such as ["load:Name"] or '
    '{ column = "...", equals = "..." }'
)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return f"a table with keys {_listing(list(value))}"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    return f"{type(value).__name__} {shown(value)}"


def _listing(values: list[Any]) -> str:
    text = ", ".join(shown(v) for v in values[:5])
    return text + (f" and {len(values) - 5} more" if len(values) > 5 else "")
