"""`planner validate`: re-verify a plan file, whoever wrote it, against its case."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from planner.checks.claims import check_schedule, check_sequence, read_claims, read_steps
from planner.checks.energy import batteries_once
from planner.checks.plan_file import plan_size_limit, read_plan, shown
from planner.checks.risk import check_risk
from planner.checks.stage import StageCheck, StageSetup, check_stage
from planner.core.errors import PlanFileError
from planner.core.plan import FORMAT, Verification, Violation
from planner.core.refs import ElementRef
from planner.core.switching import Switching
from planner.grid.context import StageContext
from planner.grid.powerflow import TruckAt
from planner.inputs import schema
from planner.inputs.case import Case, Stage
from planner.inputs.schema import Reader, join_key

__all__ = ["Report", "plan_size_limit", "profile_sha256", "read_plan", "validate", "validate_file"]

SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Report:
    """The result of re-verifying a plan: one check per stage, and what holds across stages."""

    stages: tuple[tuple[str, StageCheck], ...]
    plan_violations: tuple[Violation, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.plan_violations and all(
            check.verification.passed for _, check in self.stages
        )

    def verifications(self) -> list[tuple[str, Verification]]:
        return [(name, check.verification) for name, check in self.stages]


def _element(
    r: Reader, case: Case, item: Any, key: str, tables: tuple[str, ...]
) -> ElementRef | None:
    net = case.network.net
    if not isinstance(item, dict):
        r.error(key, f'expected {{"ref", "table", "index"}}, got {shown(item)}')
        return None
    table = r.value(item, "table", key, str)
    index = r.value(item, "index", key, int)
    text = item.get("ref", "")
    if table is None or index is None:
        return None
    if table not in tables:
        r.error(join_key(key, "table"), f"{table!r} is not allowed here ({', '.join(tables)})")
        return None
    if index not in net[table].index:
        r.error(join_key(key, "index"), f"the case's network has no {table} with index {index}")
        return None
    return ElementRef(table, index, text if isinstance(text, str) and text else f"{table}:#{index}")


def _setups(data: dict[str, Any], case: Case, file: str) -> list[tuple[int, StageSetup]]:
    r = Reader(file)
    if data.get("format") != FORMAT:
        r.error("format", f"expected {FORMAT!r}, got {shown(data.get('format'))}")
    _digests(r, data.get("case"), case)
    raw_stages = data.get("stages")
    if not isinstance(raw_stages, list):
        r.error("stages", "expected a list of stages")
        raise PlanFileError(r.problems)
    by_name = {s.name: i for i, s in enumerate(case.stages)}
    out: list[tuple[int, StageSetup]] = []
    seen: set[int] = set()
    for i, stage in enumerate(raw_stages):
        key = join_key("stages", i)
        if not isinstance(stage, dict):
            r.error(key, "expected an object")
            continue
        name = stage.get("name")
        if name not in by_name:
            r.error(
                join_key(key, "name"),
                f"the case has no stage {shown(name)} "
                f"(stages: {', '.join(repr(s) for s in by_name)})",
            )
            continue
        if by_name[name] in seen:
            r.error(join_key(key, "name"), f"stage {shown(name)} appears twice in the plan")
            continue
        seen.add(by_name[name])
        _check_times(r, stage, case.stages[by_name[name]], key)
        sw = stage.get("switching", {})
        if not isinstance(sw, dict):
            r.error(join_key(key, "switching"), "expected an object with close/open/in_service")
            sw = {}
        lists: dict[str, list[ElementRef]] = {}
        for part, tables in (
            ("close", ("switch",)),
            ("open", ("switch", "trafo", "line")),  # a branch: opened for an LV truck
            ("in_service", ("line", "trafo", "trafo3w")),
        ):
            items = sw.get(part, [])
            pkey = join_key(join_key(key, "switching"), part)
            if not isinstance(items, list):
                r.error(pkey, "expected a list")
                items = []
            refs = [
                _element(r, case, item, join_key(pkey, j), tables) for j, item in enumerate(items)
            ]
            lists[part] = [x for x in refs if x is not None]
        trucks = []
        raw_trucks = stage.get("trucks", [])
        if not isinstance(raw_trucks, list):
            r.error(join_key(key, "trucks"), "expected a list")
            raw_trucks = []
        for j, truck in enumerate(raw_trucks):
            tkey = join_key(join_key(key, "trucks"), j)
            if not isinstance(truck, dict):
                r.error(tkey, "expected an object")
                continue
            tid = r.value(truck, "id", tkey, str)
            bus = r.value(truck, "bus", tkey, int)
            if case.fleet.types:
                made = _typed_truck(r, case, truck, tkey, tid, bus)
                if made is not None:
                    trucks.append(made)
                continue
            rating = r.value(truck, "rating_kw", tkey, float, case.fleet.rating_kw, schema.positive)
            if rating is not None and not math.isclose(rating, case.fleet.rating_kw):
                r.error(
                    join_key(tkey, "rating_kw"),
                    f"the case's fleet has trucks of {case.fleet.rating_kw:g} kW, the plan says "
                    f"{shown(truck['rating_kw'])}",
                )
                rating = None
            if bus is not None and bus not in case.network.net.bus.index:
                r.error(join_key(tkey, "bus"), f"the case's network has no bus {bus}")
                continue
            if tid is not None and bus is not None and rating is not None:
                trucks.append(TruckAt(tid, bus, rating, rating / case.fleet.power_factor))
        switching = Switching(
            tuple(lists["close"]), tuple(lists["open"]), tuple(lists["in_service"])
        )
        out.append((by_name[name], StageSetup(switching, tuple(trucks))))
    for k, stage in enumerate(case.stages):
        if k not in seen:
            r.error("stages", f"the plan has no stage {stage.name!r} of the case")
    if r.problems:
        raise PlanFileError(r.problems)
    return out


def _typed_truck(
    r: Reader, case: Case, truck: dict[str, Any], key: str, tid: str | None, bus: int | None
) -> TruckAt | None:
    """A plan's truck of a mixed fleet, judged by its id's type: the plan's `rating_kw` and
    `type` must be that type's. A truck the fleet does not have keeps the plan's rating (and
    the largest type's power factor) and is a violation of its stage (`check_fleet`)."""
    kind = case.fleet.type_of(tid) if tid is not None else None
    want = case.fleet.rating_kw if kind is None else kind.rating_kw
    rating = r.value(truck, "rating_kw", key, float, want, schema.positive)
    if kind is not None and rating is not None and not math.isclose(rating, kind.rating_kw):
        r.error(
            join_key(key, "rating_kw"),
            f"truck {tid} is of type {kind.name!r}, whose trucks are rated "
            f"{kind.rating_kw:g} kW; the plan says {shown(truck['rating_kw'])}",
        )
        rating = None
    said = truck.get("type")
    if kind is not None and said is not None and said != kind.name:
        r.error(
            join_key(key, "type"),
            f"truck {tid} is of type {kind.name!r}, the plan says {shown(said)}",
        )
    if bus is not None and bus not in case.network.net.bus.index:
        r.error(join_key(key, "bus"), f"the case's network has no bus {bus}")
        return None
    if tid is None or bus is None or rating is None:
        return None
    if kind is None:
        return TruckAt(tid, bus, rating, rating / case.fleet.power_factor)
    return TruckAt(tid, bus, rating, kind.rating_kva, kind)


def _digests(r: Reader, meta: Any, case: Case) -> None:
    """The digests that tie a plan to this case's file, network (and CSV profile): without
    them a plan cannot be checked against the case, so it is refused as unprovable."""
    if not isinstance(meta, dict):
        what = "missing" if meta is None else f"expected an object, got {shown(meta)}"
        r.error(
            "case",
            f"{what}: without its digests (sha256, network_sha256) the plan cannot be checked "
            f"against {case.file}; it is unprovable: plan again",
        )
        return
    wanted = [
        ("sha256", "case file", case.sha256),
        ("network_sha256", "network", case.network.sha256),
    ]
    profile = profile_sha256(case)
    if profile is not None:
        wanted.append(("profile_sha256", "load profile", profile))
    elif meta.get("profile_sha256") not in (None, ""):
        r.error(
            "case.profile_sha256",
            f"the plan was made with a CSV load profile, {case.file} has none; plan again or "
            "validate against the case it was made for",
        )
    for key, what, digest in wanted:
        said = meta.get(key)
        if said is None or said == "":
            r.error(
                join_key("case", key),
                f"missing: without the {what}'s SHA-256 the plan cannot be shown to belong to "
                f"{case.file}; it is unprovable: plan again",
            )
        elif not isinstance(said, str) or not SHA256.fullmatch(said):
            r.error(
                join_key("case", key),
                f"expected the {what}'s SHA-256 (64 hex digits), got {shown(said)}: the plan "
                f"cannot be checked against {case.file}; it is unprovable: plan again",
            )
        elif said.lower() != digest:
            named = meta.get("network")
            if key == "network_sha256" and isinstance(named, str) and named != case.network.source:
                r.error(  # another network altogether, not this one changed
                    join_key("case", key),
                    f"the plan was made for the network {shown(named)}, {case.file} uses "
                    f"{case.network.source!r}; validate against the case it was made for",
                )
                continue
            r.error(join_key("case", key), _STALE[key].format(case=case))


_STALE = {
    "sha256": "the plan was made for a different case file than {case.file} (its SHA-256 "
    "differs); plan again or validate against the case it was made for",
    "network_sha256": "the network {case.network.source!r} has changed since the plan was made "
    "(its SHA-256 differs); the plan is stale: plan again",
    "profile_sha256": "the load profile {case.loads.profile!r} has changed since the plan was "
    "made (its SHA-256 differs); the plan is stale: plan again",
}


def profile_sha256(case: Case) -> str | None:
    """The SHA-256 of the case's CSV profile as read (None without one): the profile's bytes
    are not in the case file, but change what every hour of the plan carries."""
    profile = case.loads.csv_profile
    return None if profile is None else profile.sha256


def _check_times(r: Reader, stage: dict[str, Any], case_stage: Stage, key: str) -> None:
    """A plan's stage must say the times the case gives that stage."""
    for field, want in (("start", case_stage.start), ("end", case_stage.end)):
        raw = stage.get(field)
        try:
            said = datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            said = None
        if said is None or said.tzinfo is None:
            r.error(join_key(key, field), "expected an ISO 8601 time with offset")
        elif said != want:
            r.error(
                join_key(key, field),
                f"the case's stage {case_stage.name!r} has {field} {want.isoformat()}, the "
                f"plan says {said.isoformat()}: plan again for the case's times",
            )
    want_daily = case_stage.daily.text if case_stage.daily is not None else None
    said_daily = stage.get("daily")
    if said_daily != want_daily:
        r.error(
            join_key(key, "daily"),
            f"the case's stage {case_stage.name!r} has "
            + (f"daily window {want_daily!r}" if want_daily else "no daily window")
            + f", the plan says {shown(said_daily) if 'daily' in stage else 'none'}: plan again "
            "for the case's windows",
        )


Progress = Callable[[str, int, int], None]  # (label, steps done since last call, total steps)


def validate(
    case: Case, data: dict[str, Any], file: str = "plan.json", progress: Progress | None = None
) -> Report:
    """Re-verify a plan (as parsed JSON) with the planner's own checks.

    `progress`, when given, hears of each stage's three parts: its hours, its schedule and its
    switching sequence (the CLI draws a bar per stage from it)."""
    setups = _setups(data, case, file)
    raw = {s.get("name"): s for s in data["stages"] if isinstance(s, dict)}
    r = Reader(file)
    steps = {}
    for i, (k, _) in enumerate(setups):
        stage = case.stages[k]
        said = raw[stage.name]
        window = (stage.start, stage.end)
        steps[k] = read_steps(r, said.get("sequence"), f"stages[{i}].sequence", window)
        read_claims(r, said, f"stages[{i}]")
    fleet = data.get("fleet")
    used = fleet.get("trucks_used") if isinstance(fleet, dict) else None
    if not isinstance(fleet, dict):
        r.error("fleet", f"expected an object with trucks_used, got {shown(fleet)}")
    elif not isinstance(used, int) or isinstance(used, bool) or used < 0:
        r.error("fleet.trucks_used", f"expected a whole number of trucks, got {shown(used)}")
    if isinstance(fleet, dict):  # what the fleet's trucks are is the case's to say
        for key, want in (
            ("rating_kw", case.fleet.rating_kw),
            ("power_factor", case.fleet.power_factor),
        ):
            given: Any = fleet.get(key)
            if given is None:
                continue
            number = isinstance(given, int | float) and not isinstance(given, bool)
            if not number or not math.isclose(float(given), want):
                r.error(
                    join_key("fleet", key),
                    f"the case's fleet says {want:g}, the plan says {shown(given)}",
                )
    if r.problems:
        raise PlanFileError(r.problems)
    checks = []
    claims: list[Violation] = []
    risk_setups: list[tuple[int, StageContext, StageCheck]] = []
    tell = progress or (lambda label, done, total: None)
    for k, setup in setups:
        stage = case.stages[k]
        label = f"{stage.name}: re-verifying the plan"
        tell(label, 0, 3)
        ctx = StageContext.build(case, stage)
        check = check_stage(ctx, setup)
        risk_setups.append((k, ctx, check))
        tell(label, 1, 3)
        checks.append((stage.name, check))
        said = raw[stage.name]
        claims += check_schedule(ctx, check, said.get("schedule"))
        tell(label, 1, 3)
        claims += check_sequence(
            ctx, check, steps[k], said.get("interruptions"), said.get("outage_free")
        )
        tell(label, 1, 3)
    said_risk = data["summary"].get("risk") if isinstance(data.get("summary"), dict) else None
    in_order = [(ctx, c) for _, ctx, c in sorted(risk_setups, key=lambda x: x[0])]
    claims += check_risk(case, said_risk, in_order)  # the same seed: the same scenarios
    return Report(tuple(checks), (*claims, *_across_stages(case, data, setups)))


def _across_stages(
    case: Case, data: dict[str, Any], setups: list[tuple[int, StageSetup]]
) -> list[Violation]:
    """What a plan claims across its stages: the trucks it uses, and that each truck can get
    from one stage's bus to the next in `setup_hours`, and no battery truck in two stages."""
    out, fleet = batteries_once(case, setups), case.fleet
    ids = sorted({t.id for _, setup in setups for t in setup.trucks})
    if len(ids) > fleet.trucks:
        message = f"the plan uses {len(ids)} distinct trucks, the fleet has {fleet.trucks}"
        out.append(Violation("fleet", message, "fleet", len(ids), fleet.trucks))
    claimed = data["fleet"].get("trucks_used") if isinstance(data.get("fleet"), dict) else None
    if claimed != len(ids):
        message = f"fleet.trucks_used says {claimed!r}, the stages use {len(ids)} distinct truck(s)"
        out.append(Violation("trucks_used", message, "fleet.trucks_used", None, len(ids)))
    last: dict[str, tuple[int, Stage]] = {}
    for k, setup in sorted(setups, key=lambda item: case.stages[item[0]].start):
        stage = case.stages[k]
        for truck in setup.trucks:
            if truck.id in last:
                bus, before = last[truck.id]
                gap_h = (stage.start - before.end).total_seconds() / 3600.0
                if bus != truck.bus and gap_h < fleet.setup_hours - 1e-9:
                    message = (
                        f"truck {truck.id} moves from bus {bus} (stage {before.name!r}) to bus "
                        f"{truck.bus} (stage {stage.name!r}) in {gap_h:g} h; a move takes "
                        f"setup_hours = {fleet.setup_hours:g} h"
                    )
                    out.append(
                        Violation(
                            "fleet_timing",
                            message,
                            truck.id,
                            round(gap_h, 3),
                            fleet.setup_hours,
                            time=stage.start.isoformat(),
                        )
                    )
            last[truck.id] = (truck.bus, stage)
    return out


def validate_file(case: Case, path: str | Path, progress: Progress | None = None) -> Report:
    return validate(case, read_plan(path, plan_size_limit(case)), str(path), progress)
