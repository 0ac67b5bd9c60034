"""What a plan file says, read as untrusted input (bounded size and nesting, finite numbers, no
key twice, every value the validator reads of the right kind and range), and what it claims
beyond its set-up, checked against the planner's own solve: the schedule (every check time, the
trucks online and their output) and the switching sequence (replayed step by step, its
interruptions owned up to)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from planner.checks.findings import StageCheck
from planner.checks.paralleled import CONTROLS
from planner.checks.plan_file import shown
from planner.checks.replay import replay
from planner.checks.sequence import Step
from planner.core.plan import Violation
from planner.grid.context import StageContext
from planner.inputs.schema import Reader, join_key

__all__ = [
    "KW_TOL",
    "check_schedule",
    "check_sequence",
    "read_claims",
    "read_steps",
]

KW_TOL = 0.01  # a claimed truck output may differ from the solve by 1 % of its rating
KW_MAX = 1e7  # kW or kvar a plan may claim at all (10 GW): beyond, a value is not a plan's
MINUTES_MAX = 525_600.0  # an interruption of at most a year
SLACK = timedelta(days=30)  # how far from its stage a switching step may be


def read_claims(r: Reader, stage: dict[str, Any], key: str) -> None:
    """The types and ranges of what a stage claims beyond its set-up (schedule rows,
    interruptions, outage_free); a value of the wrong kind is a problem of the file."""
    rows = stage.get("schedule")
    for i, row in enumerate(_items(r, rows, join_key(key, "schedule"))):
        rkey = join_key(join_key(key, "schedule"), i)
        _time(r, row.get("time"), join_key(rkey, "time"))
        online = row.get("online")
        if online is not None and (
            not isinstance(online, list) or not all(isinstance(x, str) for x in online)
        ):
            r.error(join_key(rkey, "online"), f"expected a list of truck ids, got {shown(online)}")
        for column in ("truck_kw", "truck_kvar"):
            said = row.get(column)
            ckey = join_key(rkey, column)
            if said is not None and not isinstance(said, dict):
                r.error(ckey, f"expected an object of truck ids and numbers, got {shown(said)}")
            for truck, value in said.items() if isinstance(said, dict) else ():
                _in_range(r, value, join_key(ckey, truck), -KW_MAX, KW_MAX)
    cuts = stage.get("interruptions")
    for i, cut in enumerate(_items(r, cuts, join_key(key, "interruptions"))):
        ckey = join_key(join_key(key, "interruptions"), i)
        _in_range(r, cut.get("kw"), join_key(ckey, "kw"), 0.0, KW_MAX)
        _in_range(r, cut.get("minutes"), join_key(ckey, "minutes"), 0.0, MINUTES_MAX)
    if stage.get("outage_free") not in (None, True, False):
        r.error(
            join_key(key, "outage_free"),
            f"expected true or false, got {shown(stage['outage_free'])}",
        )


def _items(r: Reader, raw: Any, key: str) -> list[dict[str, Any]]:
    """A list of objects (absent: none); anything else is a problem."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        r.error(key, f"expected a list, got {shown(raw)}")
        return []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            r.error(join_key(key, i), f"expected an object, got {shown(item)}")
    return [item for item in raw if isinstance(item, dict)]


def _in_range(r: Reader, value: Any, key: str, low: float, high: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        r.error(key, f"expected a number, got {shown(value)}")
    elif not low <= value <= high:
        r.error(key, f"must be in [{low:g}, {high:g}], got {shown(value)}")


def _time(
    r: Reader, raw: Any, key: str, window: tuple[datetime, datetime] | None = None
) -> datetime | None:
    """An ISO 8601 time with offset; with `window`, within `SLACK` of it."""
    try:
        when = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        r.error(key, f"expected an ISO 8601 time with offset, got {shown(raw)}")
        return None
    if window is not None and not window[0] - SLACK <= when <= window[1] + SLACK:
        r.error(
            key,
            f"{when.isoformat()} is more than {SLACK.days} days from its stage "
            f"({window[0].isoformat()} to {window[1].isoformat()})",
        )
        return None
    return when


def read_steps(
    r: Reader, raw: Any, key: str, window: tuple[datetime, datetime] | None = None
) -> list[Step]:
    """The plan's `sequence`, as steps; what cannot be read is a problem of the file. Step
    times must lie within `SLACK` of the stage's `window`."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        r.error(key, "expected a list of steps")
        return []
    steps = []
    for i, item in enumerate(raw):
        skey = join_key(key, i)
        if not isinstance(item, dict):
            r.error(skey, "expected an object")
            continue
        action = r.value(item, "action", skey, str)
        element = r.value(item, "element", skey, str)
        text = r.value(item, "time", skey, str)
        when = None if text is None else _time(r, text, join_key(skey, "time"), window)
        at = item.get("at")
        if at is not None and not isinstance(at, str):
            r.error(join_key(skey, "at"), f"expected a string, got {shown(at)}")
        number = item.get("step")
        if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
            r.error(join_key(skey, "step"), f"expected a whole number, got {shown(number)}")
            number = None
        control = item.get("control", "")
        if control != "" and control not in CONTROLS:
            known = ", ".join(CONTROLS)
            r.error(join_key(skey, "control"), f"expected one of {known}, got {shown(control)}")
            control = ""
        if action is not None and element is not None and when is not None:
            at = at if isinstance(at, str) else ""
            steps.append(Step(when, action, element, at, number or 0, control))
    return steps


def check_sequence(
    ctx: StageContext, check: StageCheck, steps: list[Step], claimed: Any, outage_free: Any = None
) -> list[Violation]:
    """Replay the plan's steps; they must reach the stage's state and back, every state must
    hold, and every interruption they cause must be in the plan's `interruptions`."""
    result = replay(ctx, check, sorted(steps, key=lambda s: s.time))
    if not steps and result.violations:
        message = (
            f"stage {ctx.stage.name!r}: the plan gives no switching sequence, so nothing shows "
            "how crews reach the stage's state and back (the works out, "
            f"{len(check.setup.trucks)} truck(s) connected); plan again to get one"
        )
        return [Violation("sequence", message, ctx.stage.name)]
    out = [
        dataclasses.replace(v, message=f"stage {ctx.stage.name!r}: {v.message}")
        for v in result.violations
    ]
    said = [c for c in claimed if isinstance(c, dict)] if isinstance(claimed, list) else []
    found = result.interruptions

    def kw_minutes(cuts: list[dict[str, Any]]) -> float:
        return sum(
            float(c["kw"]) * float(c["minutes"])
            for c in cuts
            if _number(c.get("kw")) and _number(c.get("minutes"))
        )

    said_kw = sum(float(c["kw"]) for c in said if _number(c.get("kw")))
    found_kw = sum(c["kw"] for c in found)
    if found_kw > said_kw + 1.0 or kw_minutes(found) > kw_minutes(said) * 1.01 + 1.0:
        what = "; ".join(
            f"step {c['step']}: {c['kw']:,.0f} kW for {c['minutes']:g} min" for c in found
        )
        message = (
            f"stage {ctx.stage.name!r}: the switching sequence interrupts {found_kw:,.0f} kW of "
            f"protected load ({what}); the plan's interruptions claim {said_kw:,.0f} kW"
            f" for {kw_minutes(said):,.0f} kW-minutes"
        )
        out.append(Violation("interruptions", message, ctx.stage.name, round(found_kw, 1)))
    if found and outage_free is True:
        message = (
            f"stage {ctx.stage.name!r}: the plan calls it outage-free, but {len(found)} "
            "switching step(s) interrupt protected load"
        )
        out.append(Violation("interruptions", message, ctx.stage.name))
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_schedule(ctx: StageContext, check: StageCheck, raw: Any) -> list[Violation]:
    """Every check time of the stage has a schedule row; its online trucks and their kW and
    kvar are what the solve gives (within 1 % of a truck's rating)."""
    name = ctx.stage.name
    out: list[Violation] = []
    rows: dict[datetime, dict[str, Any]] = {}
    for row in raw if isinstance(raw, list) else []:
        try:
            rows[datetime.fromisoformat(row["time"])] = row
        except (TypeError, KeyError, ValueError):
            continue
    ratings = {t.id: t.rating_kw for t in check.setup.trucks}
    if not check.setup.trucks:
        return out
    missing = [h.time for h in check.hours if h.time not in rows]
    if missing:
        message = (
            f"stage {name!r}: the schedule has no row for {len(missing)} of its "
            f"{len(check.hours)} check times (first {missing[0].isoformat()})"
        )
        out.append(Violation("schedule", message, name, time=missing[0].isoformat()))
    checked = {h.time for h in check.hours}
    extra = sorted(t for t in rows if t not in checked)
    if extra:  # e.g. trucks shown online outside the `daily` windows, where the plan has none
        message = (
            f"stage {name!r}: the schedule has {len(extra)} row(s) at times that are no check "
            f"time of the stage's works (first {extra[0].isoformat()}): the stage's works are "
            "checked only inside its works windows; plan again"
        )
        out.append(Violation("schedule", message, name, time=extra[0].isoformat()))
    for hour in check.hours:
        row = rows.get(hour.time)
        if row is None:
            continue
        when = hour.time.isoformat()
        online = row.get("online")
        if not isinstance(online, list) or sorted(map(str, online)) != sorted(hour.online):
            message = (
                f"stage {name!r} at {when}: the schedule says trucks {shown(online)} are online, "
                f"the solve runs {sorted(hour.online)}"
            )
            out.append(Violation("schedule", message, name, time=when))
            continue
        for column, unit, solved in (
            ("truck_kw", "kW", hour.truck_kw),
            ("truck_kvar", "kvar", hour.truck_kvar),
        ):
            said = row.get(column)
            said = said if isinstance(said, dict) else {}
            for truck, value in sorted(solved.items()):
                claim = said.get(truck)
                tol = KW_TOL * ratings.get(truck, 1000.0)
                if not isinstance(claim, int | float) or abs(claim - value) > tol:
                    message = (
                        f"stage {name!r} at {when}: the schedule says truck {truck} runs "
                        f"{shown(claim)} {unit}, the load flow gives {value:,.1f} {unit}"
                    )
                    out.append(
                        Violation("schedule", message, truck, claim, round(value, 1), "", when)
                    )
    return out[:50]
