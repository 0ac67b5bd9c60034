"""The library: a case from a file or from an in-memory pandapower net, a plan, its validation,
the planned network of a stage, and the plan's tables as pandas DataFrames.

The `planner` command calls these; `planner/__init__.py` re-exports them. A wrong type gets a
`TypeError` that says what was expected, bad case data the same `CaseError` as a case file.

What `planner windows` and `planner programme` call is here too, re-exported as they are:
`window_variants` and `plan_variants` (with `VariantJob`) plan variants of a case side by
side; `load_programme`, `dask_client`, `run_programme` and `programme_data` plan a region's
programme on Dask and give programme.json's data; `plan_files` is the `render` both take to
make each plan's file set (plan.json, schedule.csv, ...) in memory.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandapower as pp
import pandas as pd

from planner.checks.islands import StageSetup, classify, truck_island_net
from planner.checks.validation import Report, validate_file
from planner.checks.validation import validate as validate_data
from planner.core.errors import CaseError, NetworkError, Problem
from planner.core.plan import Plan, Supply
from planner.dispatch.pipeline import Dispatch
from planner.dispatch.pipeline import plan_dispatch as _plan_dispatch
from planner.dispatch.programme_run import ProgrammeResult, dask_client, run_programme
from planner.dispatch.variants import VariantJob, VariantResult, plan_variants
from planner.grid.context import StageContext, set_design_loads
from planner.grid.limits import Findings
from planner.grid.powerflow import TruckAt, setpoint_pu
from planner.inputs import case_file
from planner.inputs.case import Case
from planner.inputs.case_builder import CaseBuilder
from planner.inputs.case_variant import Variant, window_variants
from planner.inputs.network import Network, network_sha256
from planner.inputs.programme_file import Programme, ProgrammeError
from planner.inputs.programme_file import load_programme as _load_programme
from planner.inputs.schema import join_key
from planner.outputs import tables
from planner.outputs.plan_set import plan_files
from planner.outputs.programme import programme_data

__all__ = [
    "MEMORY_CASE",
    "MEMORY_NETWORK",
    "Dispatch",
    "Programme",
    "ProgrammeError",
    "ProgrammeResult",
    "Variant",
    "VariantJob",
    "VariantResult",
    "case_from_net",
    "dask_client",
    "fleet_schedule",
    "islands",
    "load_case",
    "load_programme",
    "plan_case",
    "plan_dispatch",
    "plan_files",
    "plan_variants",
    "planned_net",
    "programme_data",
    "run_programme",
    "schedule",
    "sequence",
    "validate",
    "window_variants",
]

MEMORY_CASE = "<in-memory case>"  # the `file` problems of an in-memory case name by default
MEMORY_NETWORK = "<in-memory network>"  # its network's name when `[case] network` gives none

Progress = Callable[[str, int, int], None]  # (label, steps done since the last call, total)


def load_case(path: str | os.PathLike[str]) -> Case:
    """Read, check and resolve a case file (`planner.case/1`); `CaseError` lists every problem."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"load_case expects the path of a case file, got {_kind(path)}")
    return case_file.load_case(os.fspath(path))


def load_programme(path: str | os.PathLike[str]) -> Programme:
    """Read and check a works programme (`planner.programme/1`) and every job's case, as
    `planner programme` does; `ProgrammeError` lists every problem (a case's own among them).
    Plan it with `run_programme(programme, out_dir, client, plan_files)` inside
    `with dask_client(None, workers) as (client, engine):`."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"load_programme expects the path of a programme file, got {_kind(path)}")
    return _load_programme(os.fspath(path))


def case_from_net(
    net: pp.pandapowerNet,
    data: Mapping[str, Any],
    *,
    file: str = MEMORY_CASE,
    base_dir: str | os.PathLike[str] | None = None,
) -> Case:
    """A case built from an in-memory pandapower network and a dict shaped like the case TOML.

    The dict is checked exactly as a case file is (the same `CaseError`, naming `file` and the
    key path), and the network as a network file is (sanity and shape). `[case] network` is
    optional here: when given (a string) it names the network in the plan, it is not read.
    Times may be `datetime`s with an offset or ISO strings. A CSV profile path is relative to
    `base_dir` (default: the working directory). The case holds a copy of `net`, so later
    changes to `net` do not change the case. `case.sha256` is the SHA-256 of the data as
    canonical JSON (sorted keys, times in ISO form), so `validate` can tie a plan to it."""
    if not isinstance(net, pp.pandapowerNet):
        raise TypeError(f"case_from_net expects a pandapower network, got {_kind(net)}")
    if not isinstance(data, Mapping):
        raise TypeError(
            f"case_from_net expects the case as a dict shaped like the case TOML, got {_kind(data)}"
        )
    if not isinstance(file, str):
        raise TypeError(f"case_from_net: file must be a string (a name for messages), got {file!r}")
    bad_keys = _non_string_keys(data, "")
    if bad_keys:
        raise CaseError([Problem(file, key, message) for key, message in bad_keys])
    meta = data.get("case")
    named = meta.get("network") if isinstance(meta, Mapping) else None
    label = named if isinstance(named, str) and named.strip() else MEMORY_NETWORK

    def given(source: str, base_dir: Path, *, file: str, key: str = "case.network") -> Network:
        """The builder's loader: `net` itself (a copy) whatever `[case] network` names."""
        if "bus" not in net or len(net.bus) == 0:
            raise NetworkError([Problem(file, key, f"{label!r}: the network has no buses")])
        own = copy.deepcopy(net)
        return Network(source=label, net=own, sha256=network_sha256(own))

    if isinstance(meta, Mapping) and "network" not in meta:  # optional here: name it
        data = {**data, "case": {**meta, "network": label}}
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    case = CaseBuilder(file, base, sha256="", loader=given).build(dict(data))
    return dataclasses.replace(case, sha256=_digest(data))


def _non_string_keys(data: Mapping[Any, Any], path: str) -> list[tuple[str, str]]:
    """TOML keys are strings; a dict's may not be (the builder reads them as names)."""
    found: list[tuple[str, str]] = []
    for key, value in data.items():
        if not isinstance(key, str):
            found.append((path, f"keys must be strings, got {key!r}"))
            continue
        here = join_key(path, key)
        items = value if isinstance(value, list | tuple) else [value]
        for i, item in enumerate(items):
            if isinstance(item, Mapping):
                where = join_key(here, i) if isinstance(value, list | tuple) else here
                found += _non_string_keys(item, where)
    return found


def _digest(data: Mapping[str, Any]) -> str:
    """The SHA-256 of a case's data as canonical JSON: the in-memory case's `sha256`."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        return f"<{type(value).__name__}>"

    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=plain)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plan_case(case: Case, progress: Progress | None = None) -> Plan:
    """Plan every stage of `case`: the `Plan` (`plan.to_json()` is `planner.plan/1`)."""
    _need_case(case, "plan_case")
    return _plan_dispatch(case, progress=progress).plan


def plan_dispatch(case: Case, progress: Progress | None = None) -> Dispatch:
    """Plan every stage of `case`, with what the plan set's files need beyond the plan (the
    stages' contexts and checks, the fleet's hours and refuels)."""
    _need_case(case, "plan_dispatch")
    return _plan_dispatch(case, progress=progress)


def validate(
    case: Case,
    plan: Plan | Dispatch | Mapping[str, Any] | str | os.PathLike[str],
    file: str | None = None,
    progress: Progress | None = None,
) -> Report:
    """Re-verify a plan against `case` with the planner's own checks: a `Plan` or `Dispatch`
    (as its plan.json would say it), a parsed plan.json, or the path of a plan file (read with
    the same bounds as `planner validate`). `file` names the plan in problems."""
    _need_case(case, "validate")
    if isinstance(plan, str | os.PathLike):
        return validate_file(case, os.fspath(plan), progress)
    if isinstance(plan, Dispatch):
        plan = plan.plan
    if isinstance(plan, Plan):
        return validate_data(case, json.loads(plan.to_json()), file or "plan.json", progress)
    if isinstance(plan, Mapping):
        return validate_data(case, dict(plan), file or "plan.json", progress)
    raise TypeError(
        "validate expects a Plan, a Dispatch, a parsed plan.json or the path of a plan file, "
        f"got {_kind(plan)}"
    )


def planned_net(
    case: Case,
    plan: Plan | Dispatch,
    stage: str | int,
    time: datetime | str | None = None,
) -> pp.pandapowerNet:
    """The pandapower network of one stage as planned, at one of its check times.

    The stage's works are out and its switching applied (on the network as the earlier
    stages' `after` changes left it), every load at its design load of that time; in each
    truck island the loads the trucks do not carry are out of service and its generation
    tripped (or curtailed, `islanded_sgen = "keep"`), as the planner checks it. Each placed
    truck is a generator named by its id (`type` "truck"): the island's first online truck a
    `gen` with `slack=True` at the fleet's `vm_setpoint_pu`, the others online `sgen`s at
    the planned kW and kvar, the trucks off that hour out of service. `stage` is its name or
    index; `time` (default: the stage's design peak) falls in one of the stage's check steps
    (with `daily`, inside a works window).
    `pandapower.runpp` on the result gives the plan's truck outputs and voltages."""
    _need_case(case, "planned_net")
    if isinstance(plan, Dispatch):
        result, dispatch = plan.plan, plan
    elif isinstance(plan, Plan):
        result, dispatch = plan, None
    else:
        raise TypeError(f"planned_net expects a Plan or a Dispatch, got {_kind(plan)}")
    k = _stage_index(case, stage)
    said = next((s for s in result.stages if s.name == case.stages[k].name), None)
    if said is None:
        raise ValueError(f"the plan has no stage {case.stages[k].name!r}")
    if dispatch is not None:
        setup, ctx = dispatch.checks[k].setup, dispatch.contexts[k]
    else:
        fleet = case.fleet  # a truck of a mixed fleet with its type's kVA
        kinds = [fleet.type_of(t.id) if fleet.types else None for t in said.trucks]
        trucks = tuple(
            TruckAt(t.id, t.bus, t.rating_kw, t.rating_kw / fleet.power_factor, None)
            if kind is None
            else TruckAt(t.id, t.bus, t.rating_kw, kind.rating_kva, kind)
            for t, kind in zip(said.trucks, kinds, strict=True)
        )
        setup, ctx = StageSetup(said.switching, trucks), StageContext.build(case, case.stages[k])
    when = _check_time(ctx, time)
    group = next(g for g in ctx.demand.groups if when in g.times)
    online, truck_kw, truck_kvar = _truck_outputs(said, dispatch, k, when)
    # the findings of this state are the plan's verification's to report
    net, _, parts = classify(ctx, setup, Findings(ctx.base_net, case.limits, namer=ctx.namer))
    set_design_loads(net, ctx, group)
    for island in parts:
        if island.kind is not Supply.TRUCKS:
            continue
        sub, _ = truck_island_net(ctx, net, island, island.trucks)
        for table in ("load", "sgen", "gen", "storage"):  # shed, tripped or curtailed
            if table not in net or not len(net[table]):
                continue
            rows = net[table].index[net[table].bus.isin(island.buses)]
            for column in ("in_service", "p_mw", "q_mvar"):
                if column in net[table]:
                    net[table].loc[rows, column] = sub[table].loc[rows, column]
        vm_pu = setpoint_pu(case.fleet, island.trucks)
        _add_trucks(net, island.trucks, online, truck_kw, truck_kvar, vm_pu)
    return net


def _add_trucks(net, trucks, online, truck_kw, truck_kvar, vm_pu: float) -> None:
    """An island's trucks: the first online one a slack `gen`, the others `sgen`s."""
    on = [t.id for t in trucks if t.id in online]
    for truck in trucks:
        p_mw, q_mvar = (
            (truck_kw[truck.id] / 1e3, truck_kvar[truck.id] / 1e3) if truck.id in on else (0, 0)
        )
        named = {"name": truck.id, "type": "truck", "sn_mva": truck.rating_kva / 1e3}
        if on and truck.id == on[0]:
            pp.create_gen(net, truck.bus, p_mw=p_mw, vm_pu=vm_pu, slack=True, **named)
        else:
            pp.create_sgen(net, truck.bus, p_mw, q_mvar, in_service=truck.id in on, **named)


def _stage_index(case: Case, stage: str | int) -> int:
    names = [s.name for s in case.stages]
    if isinstance(stage, int) and not isinstance(stage, bool):
        if 0 <= stage < len(names):
            return stage
        raise ValueError(f"the case has {len(names)} stage(s), no stage {stage}")
    if isinstance(stage, str):
        if stage in names:
            return names.index(stage)
        raise ValueError(f"the case has no stage {stage!r} (stages: {', '.join(map(repr, names))})")
    raise TypeError(f"stage must be a stage's name or index, got {_kind(stage)}")


def _check_time(ctx: StageContext, time: datetime | str | None) -> datetime:
    """The check time whose step holds `time` (default: the stage's design peak)."""
    if time is None:
        return ctx.demand.peak.times[0]
    if isinstance(time, str):
        try:
            time = datetime.fromisoformat(time)
        except ValueError:
            raise ValueError(f"time must be an ISO 8601 time with offset, got {time!r}") from None
    if not isinstance(time, datetime):
        raise TypeError(f"time must be a datetime or an ISO string, got {_kind(time)}")
    if time.tzinfo is None:
        raise ValueError(f"time must have a UTC offset, got {time.isoformat()}")
    stage = ctx.stage
    if not stage.start <= time < stage.end:
        raise ValueError(
            f"{time.isoformat()} is not within stage {stage.name!r} "
            f"({stage.start.isoformat()} to {stage.end.isoformat()})"
        )
    if not any(opens <= time < closes for opens, closes in stage.windows):
        raise ValueError(
            f"{time.isoformat()} is outside the daily works window "
            f"{stage.daily.text if stage.daily else ''} of stage {stage.name!r}: the network is "
            "then in its normal state"
        )
    return max(t for t in ctx.demand.times if t <= time)


def _truck_outputs(said, dispatch: Dispatch | None, k: int, when: datetime):
    """The trucks online at `when` and their kW and kvar: the check's own figures from a
    `Dispatch`, the plan's schedule row (0.1 kW) from a `Plan`."""
    if dispatch is not None:
        hour = next(h for h in dispatch.checks[k].hours if h.time == when)
        return set(hour.online), hour.truck_kw, hour.truck_kvar
    for row in said.schedule:
        if datetime.fromisoformat(row["time"]) == when:
            return set(row["online"]), row["truck_kw"], row["truck_kvar"]
    raise ValueError(f"the plan's stage {said.name!r} has no schedule row at {when.isoformat()}")


def schedule(plan: Plan | Dispatch) -> pd.DataFrame:
    """The stages' schedules, one row per check time and placed truck: stage, time, truck,
    bus, island, online, p_kw, q_kvar, fuel_l."""
    return tables.schedule_frame(_plan_of(plan, "schedule"))


def sequence(plan: Plan | Dispatch) -> pd.DataFrame:
    """The stages' checked switching sequences, one row per step (`sync_*`, `solved_*`)."""
    return tables.sequence_frame(_plan_of(plan, "sequence"))


def islands(plan: Plan | Dispatch) -> pd.DataFrame:
    """Every stage's islands, one row each: stage, island, supply and the island's figures."""
    return tables.islands_frame(_plan_of(plan, "islands"))


def fleet_schedule(dispatch: Dispatch) -> pd.DataFrame:
    """schedule.csv as a DataFrame: one row per truck per check time, full precision."""
    if not isinstance(dispatch, Dispatch):
        raise TypeError(
            "fleet_schedule needs the Dispatch of plan_dispatch(case) (a Plan does not hold the "
            f"fleet's hours), got {_kind(dispatch)}"
        )
    return tables.fleet_frame(dispatch.fleet_hours)


def _plan_of(plan: Any, what: str) -> Plan:
    if isinstance(plan, Dispatch):
        return plan.plan
    if isinstance(plan, Plan):
        return plan
    raise TypeError(f"{what} expects a Plan or a Dispatch, got {_kind(plan)}")


def _need_case(case: Any, what: str) -> None:
    if isinstance(case, Case):
        return
    hint = ""
    if isinstance(case, pp.pandapowerNet):
        hint = "; for a pandapower network, build one with planner.case_from_net(net, {...})"
    elif isinstance(case, str | os.PathLike):
        hint = "; for a case file, read it with planner.load_case(path)"
    raise TypeError(f"{what} expects a Case, got {_kind(case)}{hint}")


def _kind(value: Any) -> str:
    """What `value` is, for a TypeError: its type (with its module unless built in) and, but
    for None and networks, its repr cut short."""
    kind = type(value)
    name = kind.__qualname__
    if kind.__module__ != "builtins":
        name = f"{kind.__module__}.{name}"
    if value is None or isinstance(value, pp.pandapowerNet):
        return name
    text = repr(value)
    return f"{name} {text if len(text) <= 60 else text[:55] + '...'}"
