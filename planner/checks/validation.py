"""`planner validate`: re-verify a plan file, whoever wrote it, against its case."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.checks.stage import StageCheck, StageSetup, check_stage
from planner.core.errors import PlanFileError, Problem
from planner.core.plan import FORMAT, Verification
from planner.core.refs import ElementRef
from planner.core.switching import Switching
from planner.grid.context import StageContext
from planner.grid.powerflow import TruckAt
from planner.inputs.case import Case
from planner.inputs.schema import Reader, join_key

__all__ = ["Report", "read_plan", "validate", "validate_file"]


@dataclass(frozen=True)
class Report:
    """The result of re-verifying a plan: one check per stage."""

    stages: tuple[tuple[str, StageCheck], ...]

    @property
    def passed(self) -> bool:
        return all(check.verification.passed for _, check in self.stages)

    def verifications(self) -> list[tuple[str, Verification]]:
        return [(name, check.verification) for name, check in self.stages]


def read_plan(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanFileError([Problem(str(path), "", f"cannot read plan: {exc.strerror}")]) from exc
    except UnicodeDecodeError as exc:
        raise PlanFileError([Problem(str(path), "", "plan is not UTF-8 text")]) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError([Problem(str(path), "", f"not valid JSON: {exc}")]) from exc
    if not isinstance(data, dict):
        raise PlanFileError([Problem(str(path), "", "expected a JSON object")])
    return data


def _element(
    r: Reader, case: Case, item: Any, key: str, tables: tuple[str, ...]
) -> ElementRef | None:
    net = case.network.net
    if not isinstance(item, dict):
        r.error(key, f'expected {{"ref", "table", "index"}}, got {item!r}')
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
        r.error("format", f"expected {FORMAT!r}, got {data.get('format')!r}")
    meta: dict[str, Any] = data["case"] if isinstance(data.get("case"), dict) else {}
    if meta.get("sha256") and meta["sha256"] != case.sha256:
        r.error(
            "case.sha256",
            f"the plan was made for a different case file than {case.file} "
            "(its SHA-256 differs); plan again or validate against the case it was made for",
        )
    if meta.get("network_sha256") and meta["network_sha256"] != case.network.sha256:
        r.error(
            "case.network_sha256",
            f"the network {case.network.source!r} has changed since "
            "the plan was made (its SHA-256 differs); the plan is stale: plan again",
        )
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
                f"the case has no stage {name!r} (stages: {', '.join(repr(s) for s in by_name)})",
            )
            continue
        seen.add(by_name[name])
        sw = stage.get("switching", {})
        if not isinstance(sw, dict):
            r.error(join_key(key, "switching"), "expected an object with close/open/in_service")
            sw = {}
        lists: dict[str, list[ElementRef]] = {}
        for part, tables in (
            ("close", ("switch",)),
            ("open", ("switch",)),
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
            rating = r.value(truck, "rating_kw", tkey, float, case.fleet.rating_kw)
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


def validate(case: Case, data: dict[str, Any], file: str = "plan.json") -> Report:
    """Re-verify a plan (as parsed JSON) with the planner's own checks."""
    checks = []
    for k, setup in _setups(data, case, file):
        stage = case.stages[k]
        checks.append((stage.name, check_stage(StageContext.build(case, stage), setup)))
    return Report(tuple(checks))


def validate_file(case: Case, path: str | Path) -> Report:
    return validate(case, read_plan(path), str(path))
