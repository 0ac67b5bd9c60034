"""The migration case (`planner.case/1`): frozen dataclasses and the loader that checks them."""

from __future__ import annotations

import hashlib
import itertools
import numbers
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner import schema
from planner.errors import CaseError, NetworkError, Problem
from planner.network import Network, load_network
from planner.profiles import CsvProfile, load_csv_profile
from planner.refs import TABLES, ElementRef, resolve_ref
from planner.sanity import check_network
from planner.schema import Reader, join_key

__all__ = [
    "FORMAT",
    "Case",
    "ConnectionPoint",
    "Fleet",
    "Limits",
    "Loads",
    "Reserve",
    "SgenMode",
    "Stage",
    "load_case",
]

FORMAT = "planner.case/1"


class Reserve(StrEnum):
    NONE = "none"
    N_1 = "n-1"


class SgenMode(StrEnum):
    TRIP = "trip"
    KEEP = "keep"


@dataclass(frozen=True)
class Limits:
    vm_min_pu: float = 0.93
    vm_max_pu: float = 1.07
    max_line_loading_percent: float = 100.0
    max_trafo_loading_percent: float = 100.0


@dataclass(frozen=True)
class Fleet:
    trucks: int
    rating_kw: float = 2000.0
    power_factor: float = 0.8
    vm_setpoint_pu: float = 1.0
    min_loading: float = 0.3
    reserve: Reserve = Reserve.NONE
    setup_hours: float = 2.0
    fuel_l_per_kwh: float = 0.27
    tank_l: float = 1500.0

    @property
    def rating_kva(self) -> float:
        """A truck's limit: its apparent power rating."""
        return self.rating_kw / self.power_factor


@dataclass(frozen=True)
class ConnectionPoint:
    bus: ElementRef
    bays: int = 1


@dataclass(frozen=True)
class Loads:
    protected: frozenset[int]
    profile: str = "flat"
    csv_profile: CsvProfile | None = None
    scaling: float = 1.0
    margin: float = 0.1


@dataclass(frozen=True)
class Stage:
    name: str
    start: datetime
    end: datetime
    out_of_service: tuple[ElementRef, ...]
    after: tuple[tuple[ElementRef, tuple[tuple[str, Any], ...]], ...] = ()

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0


@dataclass(frozen=True)
class Case:
    """A checked case: every reference resolved against `network`."""

    name: str
    file: str
    network: Network
    fleet: Fleet
    stages: tuple[Stage, ...]
    connection_points: tuple[ConnectionPoint, ...]
    loads: Loads
    sha256: str
    description: str = ""
    limits: Limits = field(default_factory=Limits)
    islanded_sgen: SgenMode = SgenMode.TRIP
    ties: tuple[ElementRef, ...] | None = None  # None: "auto"
    ties_mode: str = "auto"
    network_warnings: tuple[str, ...] = ()

    def bays_at(self, bus: int) -> int:
        for point in self.connection_points:
            if point.bus.index == bus:
                return point.bays
        return 0


_TOP = {
    "format",
    "case",
    "limits",
    "fleet",
    "connection_points",
    "loads",
    "generation",
    "transfer",
    "stages",
}
_CASE = {"name", "network", "description"}
_LIMITS = {"vm_min_pu", "vm_max_pu", "max_line_loading_percent", "max_trafo_loading_percent"}
_FLEET = {
    "trucks",
    "rating_kw",
    "power_factor",
    "vm_setpoint_pu",
    "min_loading",
    "reserve",
    "setup_hours",
    "fuel_l_per_kwh",
    "tank_l",
}
_POINT = {"bus", "bays"}
_LOADS = {"protected", "profile", "scaling", "margin"}
_STAGE = {"name", "start", "end", "out_of_service", "after"}
_PROFILES = ("flat", "residential", "commercial", "simbench")


def load_case(path: str | Path) -> Case:
    """Read, check and resolve a case file. Raises `CaseError` listing every problem."""
    path = Path(path)
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CaseError([Problem(file, "", f"cannot read case file: {exc.strerror}")]) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CaseError([Problem(file, "", "case file is not UTF-8 text")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise CaseError([Problem(file, "", f"not valid TOML: {exc}")]) from exc
    return _CaseBuilder(file, path.parent, hashlib.sha256(raw).hexdigest()).build(data)


class _CaseBuilder:
    def __init__(self, file: str, base_dir: Path, sha256: str) -> None:
        self.r = Reader(file)
        self.file = file
        self.base_dir = base_dir
        self.sha256 = sha256
        self.network: Network | None = None

    def build(self, data: dict[str, Any]) -> Case:
        r = self.r
        r.unknown_keys(data, "", _TOP)
        r.value(data, "format", "", str, FORMAT, schema.one_of(FORMAT))
        meta = r.table(data, "case", "case", _CASE, required=True) or {}
        name = r.value(meta, "name", "case", str) if meta else None
        description = r.value(meta, "description", "case", str, "")
        source = r.value(meta, "network", "case", str) if meta else None
        if source is not None:
            try:
                self.network = load_network(source, self.base_dir, file=self.file)
            except NetworkError as exc:
                r.problems.extend(exc.problems)
        warnings: list[str] = []
        if self.network is not None:
            errors, warnings = check_network(self.network.net, self.network.source)
            r.problems.extend(errors)
        limits = self._limits(data)
        fleet = self._fleet(data, limits)
        points = self._connection_points(data)
        stages = self._stages(data)
        loads = self._loads(data, stages)
        gen = r.table(data, "generation", "generation", {"islanded_sgen"}) or {}
        sgen = r.value(
            gen, "islanded_sgen", "generation", str, "trip", schema.one_of("trip", "keep")
        )
        ties_mode, ties = self._ties(data)
        if r.problems or self.network is None:
            raise CaseError(r.problems)
        return Case(
            name=name or "",
            file=self.file,
            network=self.network,
            description=description or "",
            limits=limits,
            fleet=fleet,
            connection_points=points,
            loads=loads,
            islanded_sgen=SgenMode(sgen),
            ties=ties,
            ties_mode=ties_mode,
            stages=stages,
            sha256=self.sha256,
            network_warnings=tuple(warnings),
        )

    def ref(self, text: Any, key: str, tables: tuple[str, ...] = TABLES) -> ElementRef | None:
        if self.network is None:
            return None
        result = resolve_ref(self.network.net, text, tables)
        if isinstance(result, str):
            self.r.error(key, result)
            return None
        return result

    def _limits(self, data: dict[str, Any]) -> Limits:
        r, d = self.r, Limits()
        t = r.table(data, "limits", "limits", _LIMITS) or {}
        vmin = r.value(
            t, "vm_min_pu", "limits", float, d.vm_min_pu, schema.between(0, 2, low_open=True)
        )
        vmax = r.value(
            t, "vm_max_pu", "limits", float, d.vm_max_pu, schema.between(0, 2, low_open=True)
        )
        if vmin is not None and vmax is not None and vmax <= vmin:
            r.error("limits.vm_max_pu", f"must be greater than vm_min_pu ({vmin}), got {vmax}")
        line = r.value(
            t,
            "max_line_loading_percent",
            "limits",
            float,
            d.max_line_loading_percent,
            schema.positive,
        )
        trafo = r.value(
            t,
            "max_trafo_loading_percent",
            "limits",
            float,
            d.max_trafo_loading_percent,
            schema.positive,
        )
        return Limits(vmin or d.vm_min_pu, vmax or d.vm_max_pu, line or 100.0, trafo or 100.0)

    def _fleet(self, data: dict[str, Any], limits: Limits) -> Fleet:
        r, d = self.r, Fleet(trucks=0)
        t = r.table(data, "fleet", "fleet", _FLEET, required=True)
        if t is None:
            return d
        p = "fleet"
        trucks = r.value(t, "trucks", p, int, check=schema.non_negative)
        rating = r.value(t, "rating_kw", p, float, d.rating_kw, schema.positive)
        pf = r.value(
            t, "power_factor", p, float, d.power_factor, schema.between(0, 1, low_open=True)
        )
        vset = r.value(
            t,
            "vm_setpoint_pu",
            p,
            float,
            d.vm_setpoint_pu,
            schema.between(limits.vm_min_pu, limits.vm_max_pu),
        )
        minl = r.value(t, "min_loading", p, float, d.min_loading, schema.between(0, 1))
        reserve = r.value(t, "reserve", p, str, "none", schema.one_of("none", "n-1"))
        setup = r.value(t, "setup_hours", p, float, d.setup_hours, schema.non_negative)
        fuel = r.value(t, "fuel_l_per_kwh", p, float, d.fuel_l_per_kwh, schema.positive)
        tank = r.value(t, "tank_l", p, float, d.tank_l, schema.positive)
        return Fleet(
            trucks=trucks or 0,
            rating_kw=rating or d.rating_kw,
            power_factor=pf or d.power_factor,
            vm_setpoint_pu=vset or d.vm_setpoint_pu,
            min_loading=d.min_loading if minl is None else minl,
            reserve=Reserve(reserve or "none"),
            setup_hours=d.setup_hours if setup is None else setup,
            fuel_l_per_kwh=fuel or d.fuel_l_per_kwh,
            tank_l=tank or d.tank_l,
        )

    def _connection_points(self, data: dict[str, Any]) -> tuple[ConnectionPoint, ...]:
        r = self.r
        raw = data.get("connection_points", schema.MISSING)
        if raw is schema.MISSING:
            return self._rmu_points()
        if not isinstance(raw, list):
            r.error("connection_points", "expected a list of tables ([[connection_points]])")
            return ()
        points: list[ConnectionPoint] = []
        seen: dict[int, str] = {}
        for i, item in enumerate(raw):
            key = join_key("connection_points", i)
            if not isinstance(item, dict):
                r.error(key, "expected a table with 'bus' and 'bays'")
                continue
            r.unknown_keys(item, key, _POINT)
            text = r.value(item, "bus", key, str)
            bays = r.value(item, "bays", key, int, 1, schema.positive)
            ref = self.ref(text, join_key(key, "bus"), ("bus",)) if text is not None else None
            if ref is None or bays is None:
                continue
            if ref.index in seen:
                r.error(
                    join_key(key, "bus"),
                    f"bus {ref.text!r} is already a connection point "
                    f"({seen[ref.index]}); give its bays once",
                )
                continue
            seen[ref.index] = key
            points.append(ConnectionPoint(ref, bays))
        return tuple(points)

    def _rmu_points(self) -> tuple[ConnectionPoint, ...]:
        """Connection points from the network's `bus.rmu` / `bus.rmu_bays` columns, if any."""
        from planner.refs import ref_for

        if self.network is None or "rmu" not in self.network.net.bus.columns:
            return ()
        bus = self.network.net.bus
        points = []
        for index in bus.index[bus["rmu"].fillna(False).astype(bool)]:
            bays = bus.at[index, "rmu_bays"] if "rmu_bays" in bus.columns else 1
            bays = 1 if pd.isna(bays) else int(bays)
            if bays >= 1:
                points.append(ConnectionPoint(ref_for(self.network.net, "bus", int(index)), bays))
        return tuple(points)

    def _loads(self, data: dict[str, Any], stages: tuple[Stage, ...]) -> Loads:
        r, d = self.r, Loads(protected=frozenset())
        t = r.table(data, "loads", "loads", _LOADS) or {}
        scaling = r.value(t, "scaling", "loads", float, d.scaling, schema.positive)
        margin = r.value(t, "margin", "loads", float, d.margin, schema.non_negative)
        profile = r.value(t, "profile", "loads", str, "flat")
        csv_profile = None
        if profile is not None and profile not in _PROFILES:
            csv_path = self.base_dir / profile
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
        if profile == "simbench" and self.network is not None and not self.network.is_simbench:
            r.error(
                "loads.profile",
                "'simbench' profiles need a 'simbench:' network, "
                f"this case uses {self.network.source!r}",
            )
        protected = self._protected(t.get("protected", "all"))
        return Loads(
            protected=protected,
            profile=profile or "flat",
            csv_profile=csv_profile,
            scaling=scaling or d.scaling,
            margin=d.margin if margin is None else margin,
        )

    def _protected(self, spec: Any) -> frozenset[int]:
        r, key = self.r, "loads.protected"
        net = self.network.net if self.network else None
        if spec == "all":
            return frozenset(int(i) for i in net.load.index) if net is not None else frozenset()
        if isinstance(spec, list):
            found = set()
            for i, text in enumerate(spec):
                ref = self.ref(text, join_key(key, i), ("load",))
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

    def _ties(self, data: dict[str, Any]) -> tuple[str, tuple[ElementRef, ...] | None]:
        r = self.r
        t = r.table(data, "transfer", "transfer", {"ties"}) or {}
        spec = t.get("ties", "auto")
        if spec in ("auto", "none"):
            return spec, (None if spec == "auto" else ())
        if not isinstance(spec, list):
            r.error(
                "transfer.ties",
                f'expected "auto", "none" or a list of switch/line references, got {spec!r}',
            )
            return "auto", None
        refs = [
            self.ref(text, join_key("transfer.ties", i), ("switch", "line"))
            for i, text in enumerate(spec)
        ]
        return "list", tuple(ref for ref in refs if ref is not None)

    def _stages(self, data: dict[str, Any]) -> tuple[Stage, ...]:
        r = self.r
        raw = data.get("stages", schema.MISSING)
        if raw is schema.MISSING:
            r.error("stages", "required: at least one [[stages]] table")
            return ()
        if not isinstance(raw, list) or not raw:
            r.error("stages", "expected at least one [[stages]] table")
            return ()
        stages: list[tuple[int, Stage]] = []
        names: dict[str, int] = {}
        for i, item in enumerate(raw):
            key = join_key("stages", i)
            if not isinstance(item, dict):
                r.error(key, "expected a table")
                continue
            stage = self._stage(item, key)
            if stage is None:
                continue
            if stage.name in names:
                r.error(
                    join_key(key, "name"),
                    f"stage name {stage.name!r} is already used by stages[{names[stage.name]}]",
                )
            names.setdefault(stage.name, i)
            stages.append((i, stage))
        ordered = sorted(stages, key=lambda item: item[1].start)
        for (i, a), (j, b) in itertools.pairwise(ordered):
            if b.start < a.end:
                r.error(
                    join_key(join_key("stages", j), "start"),
                    f"stage {b.name!r} starts at {b.start.isoformat()}, before stage "
                    f"{a.name!r} (stages[{i}]) ends at {a.end.isoformat()}: stages may not "
                    "overlap",
                )
        return tuple(stage for _, stage in stages)

    def _stage(self, item: dict[str, Any], key: str) -> Stage | None:
        r = self.r
        r.unknown_keys(item, key, _STAGE)
        count = len(r.problems)
        name = r.value(item, "name", key, str)
        start = r.value(item, "start", key, datetime)
        end = r.value(item, "end", key, datetime)
        if start is not None and end is not None and end <= start:
            r.error(
                join_key(key, "end"),
                f"end {end.isoformat()} must be after start {start.isoformat()}",
            )
        oos_raw = item.get("out_of_service", schema.MISSING)
        oos: list[ElementRef] = []
        oos_key = join_key(key, "out_of_service")
        if oos_raw is schema.MISSING:
            r.error(oos_key, "required key is missing (the elements the works take out)")
        elif not isinstance(oos_raw, list):
            r.error(oos_key, f"expected a list of element references, got {oos_raw!r}")
        else:
            for j, text in enumerate(oos_raw):
                ref = self.ref(text, join_key(oos_key, j))
                if ref is not None:
                    if ref in oos:
                        r.error(join_key(oos_key, j), f"{text!r} is listed twice")
                    oos.append(ref)
        after = self._after(item.get("after", {}), join_key(key, "after"))
        if len(r.problems) > count:
            return None
        return Stage(name, start, end, tuple(oos), after)

    def _after(
        self, raw: Any, key: str
    ) -> tuple[tuple[ElementRef, tuple[tuple[str, Any], ...]], ...]:
        r = self.r
        if not isinstance(raw, dict):
            r.error(key, f"expected a table of element = {{ field = value }}, got {raw!r}")
            return ()
        changes = []
        for text, values in raw.items():
            item_key = f'{key}."{text}"'
            ref = self.ref(text, item_key)
            if not isinstance(values, dict) or not values:
                r.error(item_key, f"expected a table of field = value, got {values!r}")
                continue
            if ref is None:
                continue
            df = self.network.net[ref.table] if self.network else None
            fields = []
            for column, value in values.items():
                ckey = f"{item_key}.{column}"
                if df is None:
                    continue
                if column in ("bus", "from_bus", "to_bus", "hv_bus", "lv_bus", "element"):
                    r.error(ckey, "topology columns cannot be changed by [stages.after]")
                    continue
                if column not in df.columns:
                    r.error(ckey, f"{ref.table} has no column {column!r}")
                    continue
                current = df.at[ref.index, column]
                numeric = isinstance(current, numbers.Number) and not isinstance(
                    current, bool | np.bool_
                )
                if numeric and (not isinstance(value, int | float) or isinstance(value, bool)):
                    r.error(ckey, f"expected a number for {ref.table}.{column}, got {value!r}")
                    continue
                if (
                    numeric
                    and column.endswith(("_km", "_ohm_per_km", "_ka", "_mva"))
                    and value <= 0
                ):
                    r.error(ckey, f"{ref.table}.{column} must be greater than 0, got {value!r}")
                    continue
                fields.append((column, value))
            changes.append((ref, tuple(fields)))
        return tuple(changes)
