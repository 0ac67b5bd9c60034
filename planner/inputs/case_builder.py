"""Building a `Case` from parsed TOML: every section checked, every reference resolved."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from planner.core.errors import CaseError, NetworkError
from planner.core.refs import TABLES, ElementRef, resolve_ref
from planner.inputs import schema
from planner.inputs.case import (
    DEVICES,
    FORMAT,
    Case,
    Limits,
    Protection,
    SgenMode,
    SwitchingRules,
)
from planner.inputs.case_costs import read_costs
from planner.inputs.case_fleet import _FLEET as _FLEET  # [fleet]'s keys, read here by tests
from planner.inputs.case_fleet import MAX_TRUCKS, read_fleet
from planner.inputs.case_loads import read_loads
from planner.inputs.case_points import read_points
from planner.inputs.case_stages import MAX_STAGE, read_stages
from planner.inputs.clock import read_zone
from planner.inputs.demand import memory_problems
from planner.inputs.network import Network, load_network
from planner.inputs.sanity import check_network
from planner.inputs.schema import Reader, join_key, shown

__all__ = ["MAX_OPERATIONS", "MAX_TRUCKS", "CaseBuilder"]

MAX_OPERATIONS = 10  # [transfer] max_operations: switch sets grow as (switches)^operations

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
    "benefit",
    "switching",
    "protection",
    "timezone",
    "costs",
}
_CASE = {"name", "network", "description"}
_LIMITS = {"vm_min_pu", "vm_max_pu", "max_line_loading_percent", "max_trafo_loading_percent"}
_SWITCHING = {
    "device",
    "sync_max_dv_percent",
    "sync_max_dtheta_deg",
    "sync_max_df_hz",
    "step_minutes",
}
_PROTECTION = {"pickup_a", "delay_s", "sensitivity", "require_earthing", "shed"}

MAX_LOADING_PERCENT = 1000.0


class CaseBuilder:
    """Checks a parsed case against the schema and its network; collects every problem."""

    def __init__(
        self,
        file: str,
        base_dir: Path,
        sha256: str,
        loader: Callable[..., Network] = load_network,
    ) -> None:
        """`loader` reads `[case] network` (`load_network`'s signature); a run that builds many
        cases on one network passes one that answers again from memory."""
        self.loader = loader
        self.r = Reader(file)
        self.file = file
        self.base_dir = base_dir
        self.sha256 = sha256
        self.network: Network | None = None
        self.network_ok = False  # loaded and through the sanity checks
        self.zone: ZoneInfo | None = None  # `timezone`: the zone of local times of day

    def build(self, data: dict[str, Any]) -> Case:
        r = self.r
        r.unknown_keys(data, "", _TOP)
        r.value(data, "format", "", str, FORMAT, schema.one_of(FORMAT))
        self.zone = self._zone(data)
        meta = r.table(data, "case", "case", _CASE, required=True) or {}
        name = r.value(meta, "name", "case", str) if meta else None
        description = r.value(meta, "description", "case", str, "")
        source = r.value(meta, "network", "case", str) if meta else None
        if source is not None:
            try:
                self.network = self.loader(source, self.base_dir, file=self.file)
            except NetworkError as exc:
                r.problems.extend(exc.problems)
        warnings: list[str] = []
        if self.network is not None:
            errors, warnings = check_network(self.network.net, self.network.source)
            r.problems.extend(errors)
            self.network_ok = not errors
            if errors:  # the rest of the case is not read against a network in doubt
                self.network = None
        limits = self._limits(data)
        fleet = read_fleet(r, data, limits)
        points = read_points(self, data)
        stages = read_stages(self, data)
        loads = read_loads(self, data, stages)
        if self.network is not None and stages:
            names = [s.get("name") if isinstance(s, dict) else None for s in data["stages"]]
            keyed = [(f"stages[{names.index(s.name)}]", s) for s in stages]
            for key, message in memory_problems(keyed, self.network, loads):
                r.error(key, message)
        gen = r.table(data, "generation", "generation", {"islanded_sgen"}) or {}
        sgen = r.value(
            gen, "islanded_sgen", "generation", str, "trip", schema.one_of("trip", "keep")
        )
        ties_mode, ties = self._ties(data)
        benefit = r.table(data, "benefit", "benefit", {"conventional_outage_hours"}) or {}
        outage_h = r.value(
            benefit,
            "conventional_outage_hours",
            "benefit",
            float,
            None,
            schema.all_of(schema.positive, schema.at_most(MAX_STAGE.total_seconds() / 3600)),
        )
        switching = self._switching(data)
        protection = self._protection(data)
        costs = read_costs(r, data)
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
            conventional_outage_hours=outage_h,
            switching=switching,
            protection=protection,
            costs=costs,
            max_switching_operations=self.max_operations,
        )

    def ref(self, text: Any, key: str, tables: tuple[str, ...] = TABLES) -> ElementRef | None:
        if self.network is None:
            return None
        result = resolve_ref(self.network.net, text, tables)
        if isinstance(result, str):
            self.r.error(key, result)
            return None
        return result

    def _zone(self, data: dict[str, Any]) -> ZoneInfo | None:
        """`timezone`: the IANA zone whose wall clock gives the local hour, or None (the times'
        own offsets)."""
        name = self.r.value(data, "timezone", "", str, None)
        if name is None:
            return None
        zone = read_zone(name)
        if isinstance(zone, str):
            self.r.error("timezone", f"{zone}, got {shown(name)}")
            return None
        return zone

    def _limits(self, data: dict[str, Any]) -> Limits:
        r, d = self.r, Limits()
        t = r.table(data, "limits", "limits", _LIMITS) or {}
        vm = schema.between(0, 2, low_open=True)
        vmin = r.value(t, "vm_min_pu", "limits", float, d.vm_min_pu, vm)
        vmax = r.value(t, "vm_max_pu", "limits", float, d.vm_max_pu, vm)
        if vmin is not None and vmax is not None and vmax <= vmin:
            r.error("limits.vm_max_pu", f"must be greater than vm_min_pu ({vmin}), got {vmax}")
        percent = schema.all_of(schema.positive, schema.at_most(MAX_LOADING_PERCENT))
        line = r.value(
            t, "max_line_loading_percent", "limits", float, d.max_line_loading_percent, percent
        )
        trafo = r.value(
            t, "max_trafo_loading_percent", "limits", float, d.max_trafo_loading_percent, percent
        )
        return Limits(vmin or d.vm_min_pu, vmax or d.vm_max_pu, line or 100.0, trafo or 100.0)

    def _switching(self, data: dict[str, Any]) -> SwitchingRules:
        r, d, p = self.r, SwitchingRules(), "switching"
        t = r.table(data, p, p, _SWITCHING) or {}
        device = r.value(t, "device", p, str, d.device, schema.one_of(*DEVICES))
        dv = r.value(
            t,
            "sync_max_dv_percent",
            p,
            float,
            d.sync_max_dv_percent,
            schema.all_of(schema.positive, schema.at_most(100)),
        )
        dtheta = r.value(
            t,
            "sync_max_dtheta_deg",
            p,
            float,
            d.sync_max_dtheta_deg,
            schema.between(0, 180, low_open=True),
        )
        df = r.value(
            t,
            "sync_max_df_hz",
            p,
            float,
            d.sync_max_df_hz,
            schema.all_of(schema.positive, schema.at_most(10)),
        )
        minutes = r.value(
            t,
            "step_minutes",
            p,
            float,
            d.step_minutes,
            schema.all_of(schema.between(0, 24 * 60, low_open=True), schema.at_least(1)),
        )
        return SwitchingRules(
            device or d.device,
            dv or d.sync_max_dv_percent,
            dtheta or d.sync_max_dtheta_deg,
            df or d.sync_max_df_hz,
            minutes or d.step_minutes,
        )

    def _protection(self, data: dict[str, Any]) -> Protection | None:
        r, d, p = self.r, Protection(), "protection"
        if p not in data:
            return None
        t = r.table(data, p, p, _PROTECTION)
        if t is None:
            return None
        pickup = r.value(
            t, "pickup_a", p, float, d.pickup_a, schema.all_of(schema.positive, schema.at_most(1e6))
        )
        delay = r.value(t, "delay_s", p, float, d.delay_s, schema.between(0, 60))
        sensitivity = r.value(
            t,
            "sensitivity",
            p,
            float,
            d.sensitivity,
            schema.all_of(schema.positive, schema.at_most(100)),
        )
        earthing = r.value(t, "require_earthing", p, bool, d.require_earthing)
        raw = t.get("shed", "none")
        shed: str | tuple[ElementRef, ...] = "none"
        if raw in ("none", "unprotected"):
            shed = raw
        elif isinstance(raw, list):
            refs = [
                self.ref(x, join_key("protection.shed", i), ("load",)) for i, x in enumerate(raw)
            ]
            shed = tuple(ref for ref in refs if ref is not None)
        else:
            r.error(
                "protection.shed", 'expected "none", "unprotected" or a list of load references'
            )
        return Protection(
            pickup or d.pickup_a,
            d.delay_s if delay is None else delay,
            sensitivity or d.sensitivity,
            bool(earthing),
            shed,
        )

    def _ties(self, data: dict[str, Any]) -> tuple[str, tuple[ElementRef, ...] | None]:
        r = self.r
        t = r.table(data, "transfer", "transfer", {"ties", "max_operations"}) or {}
        self.max_operations = r.value(
            t,
            "max_operations",
            "transfer",
            int,
            None,
            schema.all_of(schema.non_negative, schema.at_most(MAX_OPERATIONS)),
        )
        spec = t.get("ties", "auto")
        if spec in ("auto", "none"):
            return spec, (None if spec == "auto" else ())
        if not isinstance(spec, list):
            r.error(
                "transfer.ties",
                f'expected "auto", "none" or a list of switch/line references, got {shown(spec)}',
            )
            return "auto", None
        refs = [
            self.ref(text, join_key("transfer.ties", i), ("switch", "line"))
            for i, text in enumerate(spec)
        ]
        return "list", tuple(ref for ref in refs if ref is not None)
