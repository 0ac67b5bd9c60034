"""Building a `Case` from parsed TOML: every section checked, every reference resolved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from planner.core.errors import CaseError, NetworkError
from planner.core.refs import TABLES, ElementRef, resolve_ref
from planner.inputs import schema
from planner.inputs.case import (
    DEVICES,
    FORMAT,
    Case,
    ConnectionPoint,
    Fleet,
    Limits,
    Protection,
    Reserve,
    SgenMode,
    SwitchingRules,
)
from planner.inputs.case_loads import read_loads
from planner.inputs.case_stages import read_stages
from planner.inputs.network import Network, load_network
from planner.inputs.sanity import check_network
from planner.inputs.schema import Reader, join_key

__all__ = ["CaseBuilder"]

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
    "tanker_l",
    "xdss_pu",
    "xds_pu",
    "xd_pu",
    "tds_s",
    "excitation",
    "sc_support_multiple",
    "mv_earthing",
    "load_step_percent",
    "types",
}
_SWITCHING = {
    "device",
    "sync_max_dv_percent",
    "sync_max_dtheta_deg",
    "sync_max_df_hz",
    "step_minutes",
}
_PROTECTION = {"pickup_a", "delay_s", "sensitivity", "require_earthing", "shed"}
_POINT = {"bus", "bays"}


class CaseBuilder:
    """Checks a parsed case against the schema and its network; collects every problem."""

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
        stages = read_stages(self, data)
        loads = read_loads(self, data, stages)
        gen = r.table(data, "generation", "generation", {"islanded_sgen"}) or {}
        sgen = r.value(
            gen, "islanded_sgen", "generation", str, "trip", schema.one_of("trip", "keep")
        )
        ties_mode, ties = self._ties(data)
        benefit = r.table(data, "benefit", "benefit", {"conventional_outage_hours"}) or {}
        outage_h = r.value(
            benefit, "conventional_outage_hours", "benefit", float, None, schema.positive
        )
        switching = self._switching(data)
        protection = self._protection(data)
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
        if "types" in t:
            r.error(
                "fleet.types",
                "mixed fleets ([[fleet.types]]) are not supported by this version of the planner; "
                "give one truck type in [fleet]",
            )
        machine = {
            key: r.value(t, key, p, float, getattr(d, key), schema.positive)
            for key in ("tanker_l", "xdss_pu", "xds_pu", "xd_pu", "tds_s", "sc_support_multiple")
        }
        step = r.value(
            t,
            "load_step_percent",
            p,
            float,
            d.load_step_percent,
            schema.between(0, 100, low_open=True),
        )
        excitation = r.value(
            t, "excitation", p, str, d.excitation, schema.one_of("none", "support")
        )
        earthing = r.value(
            t, "mv_earthing", p, str, d.mv_earthing, schema.one_of("none", "earthed")
        )
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
            **{key: value or getattr(d, key) for key, value in machine.items()},
            excitation=excitation or d.excitation,
            mv_earthing=earthing or d.mv_earthing,
            load_step_percent=step or d.load_step_percent,
        )

    def _switching(self, data: dict[str, Any]) -> SwitchingRules:
        r, d, p = self.r, SwitchingRules(), "switching"
        t = r.table(data, p, p, _SWITCHING) or {}
        device = r.value(t, "device", p, str, d.device, schema.one_of(*DEVICES))
        dv = r.value(t, "sync_max_dv_percent", p, float, d.sync_max_dv_percent, schema.positive)
        dtheta = r.value(
            t,
            "sync_max_dtheta_deg",
            p,
            float,
            d.sync_max_dtheta_deg,
            schema.between(0, 180, low_open=True),
        )
        df = r.value(t, "sync_max_df_hz", p, float, d.sync_max_df_hz, schema.positive)
        minutes = r.value(
            t, "step_minutes", p, float, d.step_minutes, schema.between(0, 24 * 60, low_open=True)
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
        pickup = r.value(t, "pickup_a", p, float, d.pickup_a, schema.positive)
        delay = r.value(t, "delay_s", p, float, d.delay_s, schema.between(0, 60))
        sensitivity = r.value(t, "sensitivity", p, float, d.sensitivity, schema.positive)
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
        from planner.core.refs import ref_for

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
