"""The case's `[loads]`: which loads are protected, and the profile and scaling of demand."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planner.inputs import schema
from planner.inputs.case import Loads, Stage
from planner.inputs.profiles import load_csv_profile
from planner.inputs.schema import join_key

if TYPE_CHECKING:
    from planner.inputs.case_builder import CaseBuilder

__all__ = ["read_loads"]

_LOADS = {"protected", "profile", "scaling", "margin"}
_PROFILES = ("flat", "residential", "commercial", "simbench")


def read_loads(b: CaseBuilder, data: dict[str, Any], stages: tuple[Stage, ...]) -> Loads:
    r, d = b.r, Loads(protected=frozenset())
    t = r.table(data, "loads", "loads", _LOADS) or {}
    scaling = r.value(t, "scaling", "loads", float, d.scaling, schema.positive)
    margin = r.value(t, "margin", "loads", float, d.margin, schema.non_negative)
    profile = r.value(t, "profile", "loads", str, "flat")
    csv_profile = None
    if profile is not None and profile not in _PROFILES:
        csv_path = b.base_dir / profile
        result = (
            load_csv_profile(csv_path)
            if csv_path.is_file()
            else f"{profile!r} is neither one of {', '.join(_PROFILES)} nor a CSV file next "
            "to the case"
        )
        if isinstance(result, str):
            r.error("loads.profile", result)
        else:
            csv_profile = result
            for i, stage in enumerate(stages):
                if not result.covers(stage.start, stage.end):
                    r.error(
                        "loads.profile",
                        f"CSV profile {profile!r} does not cover stage "
                        f"{i} {stage.name!r} ({stage.start.isoformat()} to "
                        f"{stage.end.isoformat()})",
                    )
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
    )


def _protected(b: CaseBuilder, spec: Any) -> frozenset[int]:
    r, key = b.r, "loads.protected"
    net = b.network.net if b.network else None
    if spec == "all":
        return frozenset(int(i) for i in net.load.index) if net is not None else frozenset()
    if isinstance(spec, list):
        found = set()
        for i, text in enumerate(spec):
            ref = b.ref(text, join_key(key, i), ("load",))
            if ref is not None:
                found.add(ref.index)
        return frozenset(found)
    if isinstance(spec, dict):
        r.unknown_keys(spec, key, {"column", "equals"})
        column = r.value(spec, "column", key, str)
        if "equals" not in spec:
            r.error(join_key(key, "equals"), "required key is missing")
            return frozenset()
        if column is None or net is None:
            return frozenset()
        if column not in net.load.columns:
            import difflib

            close = difflib.get_close_matches(column, [str(c) for c in net.load.columns], n=2)
            hint = f"; close matches: {', '.join(close)}" if close else ""
            r.error(
                join_key(key, "column"),
                f"the network's load table has no column {column!r}{hint}",
            )
            return frozenset()
        wanted = spec["equals"] if isinstance(spec["equals"], list) else [spec["equals"]]
        mask = net.load[column].isin(wanted)
        return frozenset(int(i) for i in net.load.index[mask])
    r.error(
        key,
        f'expected "all", a list of load references or '
        f"{{ column = ..., equals = ... }}, got {spec!r}",
    )
    return frozenset()
