"""A stage's switching sequence: make-before-break where a device can synchronise, timed steps.

Before the stage (ending at its start, `[switching] step_minutes` apart): unprotected load of the
future truck islands is disconnected; every placed truck is connected at its bay (its own breaker
synchronises it to the live bus) and ramped to its share of the island it is to carry; ties are
closed before sectionalisers open; then the works' elements go out and the islands form with the
trucks already carrying them. After the stage, the same in reverse: each island is re-joined to
the grid where the works' elements go back. A device that cannot synchronise (anything but a
breaker) cannot join a live island to the grid: there the island's trucks are disconnected first,
an honest break-before-make transfer that the plan reports under `interruptions`. Then
sectionalisers close, ties open, loads are reconnected and the trucks ramp down and disconnect.
Where a state of that fails, the shut-down trucks are first connected again (paralleled with the
grid at their bays, as at the start) while the loops close, before ties are opened first.

Every step is replayed and solved by `planner.checks.sequence`, as `planner validate` does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from planner.checks.phase_states import shed_loads, stage_state
from planner.checks.replay import Phases, replay
from planner.checks.sequence import SequenceCheck, Step
from planner.checks.stage import StageCheck
from planner.checks.steps import online_at_end, sequence_window
from planner.core.plan import Supply
from planner.core.refs import ElementRef, ref_for
from planner.grid.context import StageContext
from planner.grid.devices import device_of, sides_of
from planner.grid.lv_points import lv_points
from planner.grid.state import operate
from planner.grid.topology import build_graph, energised_buses, islands_of

__all__ = ["switching_sequence"]


Steps = list[tuple[str, str, str]]


def _start_steps(ctx: StageContext, check: StageCheck, ties_first: bool = True) -> Steps:
    """Loads shed, trucks connected, then ties closed before sectionalisers open (make before
    break) or, with `ties_first` false, after (break before make), then the works go out."""
    setup = check.setup
    steps: Steps = [("disconnect_load", _load(ctx, i), "") for i in shed_loads(ctx, check)]
    for truck in setup.trucks:
        steps.append(("connect_truck", truck.id, ref_for(ctx.base_net, "bus", truck.bus).text))
    ties: Steps = [("close", ref.text, "") for ref in setup.switching.close]
    ties += [("put_in_service", ref.text, "") for ref in setup.switching.in_service]
    opens: Steps = [(_opening(ref.table), ref.text, "") for ref in setup.switching.open]
    steps += ties + opens if ties_first else opens + ties
    for ref in ctx.stage.out_of_service:
        steps.append(("take_out", ref.text, ""))
    return steps


def _end_steps(ctx: StageContext, check: StageCheck, order: str = "rejoin") -> Steps:
    """The way back. "rejoin": each island re-joined to the grid where the works go back (shut
    down first where only a non-synchronising device can do it), sectionalisers closed before
    ties open; "ties_first": ties opened before the works go back (break before make for the
    transfers); "islands_first": every truck island shut down, then "ties_first";
    "rejoin_supported": "rejoin" with the trucks shut down to re-join their islands connected
    again (their own breakers synchronise them to the grid-fed bays) before sectionalisers
    close, so that they hold the voltage of the loops closed before the ties open."""
    setup = check.setup
    online = list(online_at_end(check, sequence_window(ctx)[1]))
    connected = {t.id for t in setup.trucks if t.id in online}
    by_island = {isl.id: [t for t in isl.trucks if t in connected] for isl in check.islands}
    trucked = [isl for isl in check.islands if isl.supply is Supply.TRUCKS]
    bus_island = {b: isl.id for isl in trucked for b in isl.buses}
    net = stage_state(ctx, check)
    steps: Steps = []
    if order == "islands_first":
        for island in trucked:
            if by_island.get(island.id):
                steps.append(("shut_down_island", island.id, ""))
                by_island[island.id] = []
    ties: Steps = [
        ("take_out_of_service", r.text, "") for r in reversed(setup.switching.in_service)
    ]
    ties += [("open", ref.text, "") for ref in reversed(setup.switching.close)]
    if order not in ("rejoin", "rejoin_supported"):
        steps += ties
        for ref in (*setup.switching.in_service, *setup.switching.close):
            operate(net, ref, False)
    for ref in reversed(ctx.stage.out_of_service):
        live = {t.bus for t in setup.trucks if any(t.id in v for v in by_island.values())}
        sources = _sources(ctx, net, live)
        _rejoin(ctx, ref, sources, bus_island, by_island, ctx.case.switching.device, steps)
        steps.append(("put_back", ref.text, ""))
        operate(net, ref, True)
    if order == "rejoin_supported":  # shut-down trucks back on, paralleled, for the loops
        for truck in setup.trucks:
            if truck.id in connected and not any(truck.id in v for v in by_island.values()):
                steps.append(
                    ("connect_truck", truck.id, ref_for(ctx.base_net, "bus", truck.bus).text)
                )
    separations = _lv_separations(ctx, check)
    for ref in reversed(setup.switching.open):
        if ref in separations:  # an LV truck's transformer: its island off first if need be
            live = {t.bus for t in setup.trucks if any(t.id in v for v in by_island.values())}
            sources = _sources(ctx, net, live)
            _rejoin(ctx, ref, sources, bus_island, by_island, ctx.case.switching.device, steps)
        steps.append(("close" if ref.table == "switch" else "put_in_service", ref.text, ""))
        operate(net, ref, True)
    if order in ("rejoin", "rejoin_supported"):
        steps += ties
    steps += [("reconnect_load", _load(ctx, i), "") for i in shed_loads(ctx, check)]
    for truck in setup.trucks:  # online, shut down or on standby: every truck leaves its bay
        steps.append(("disconnect_truck", truck.id, ""))
    return steps


def _lv_separations(ctx: StageContext, check: StageCheck) -> set[ElementRef]:
    """What the switching opens to separate its LV trucks' transformers."""
    fleet = ctx.case.fleet
    lv = [t for t in check.setup.trucks if fleet.machine(t.id, t.kind).connects == "lv"]
    points = lv_points(ctx.base_net, ctx.case.switching.device) if lv else {}
    return {points[t.bus].opens for t in lv if t.bus in points}


def _opening(table: str) -> str:
    """Opening a switch, or taking out a transformer opened for an LV truck (no switch)."""
    return "open" if table == "switch" else "take_out_of_service"


def _load(ctx: StageContext, index: int) -> str:
    return ref_for(ctx.base_net, "load", index).text


def _sources(ctx: StageContext, net, truck_buses: set[int]) -> dict[int, str]:
    """What feeds each bus, by topology: "grid", "island@<lowest bus>" (trucks) or nothing."""
    graph = build_graph(net)
    grid = energised_buses(graph)
    source = dict.fromkeys(grid, "grid")
    for buses in islands_of(graph, set(ctx.base_energised) - grid):
        if buses & truck_buses:
            source |= dict.fromkeys(buses, f"island@{min(buses)}")
    return source


def _rejoin(ctx, ref, source, bus_island, by_island, default, steps) -> None:
    """Before a works element goes back: if it joins a truck island to a live system and is no
    breaker, the island's trucks come off first (break-before-make)."""
    sides = sides_of(ctx.base_net, ref)
    if sides is None or device_of(ctx.base_net, ref, default) == "CB":
        return
    a, b, _ = sides
    if source.get(a) is None or source.get(b) is None or source.get(a) == source.get(b):
        return
    for bus in (a, b):
        island = bus_island.get(bus)
        if (
            island is not None
            and by_island.get(island)
            and source.get(bus, "").startswith("island")
        ):
            steps.append(("shut_down_island", island, ""))
            by_island[island] = []


def _timed(ctx: StageContext, start: Steps, end: Steps) -> list[Step]:
    minutes = timedelta(minutes=ctx.case.switching.step_minutes)
    opens, closes = sequence_window(ctx)
    steps = [
        Step(opens - minutes * (len(start) - k), action, element, at)
        for k, (action, element, at) in enumerate(start)
    ]
    return steps + [
        Step(closes + minutes * k, action, element, at)
        for k, (action, element, at) in enumerate(end)
    ]


def _score(ctx: StageContext, result: SequenceCheck, start: bool) -> tuple[int, float]:
    """A phase's violations and the kW it interrupts: fewer is better."""

    def ours(when: str | None) -> bool:
        opens = sequence_window(ctx)[0]
        return bool(when) and (datetime.fromisoformat(str(when)) <= opens) == start

    bad = sum(
        1 for v in result.violations if ours(v.time) or v.element == ("start" if start else "end")
    )
    cut = sum(c["kw"] for c in result.interruptions if ours(result.steps[c["step"] - 1]["time"]))
    return bad, cut


def switching_sequence(ctx: StageContext, check: StageCheck) -> SequenceCheck:
    """The stage's start and end sequences, each step replayed and solved. Make before break
    first; where a state of that fails (a loop that cannot be closed, a weak state while an
    island re-joins), break-before-make orders are tried and the best kept."""
    starts = [_start_steps(ctx, check), _start_steps(ctx, check, ties_first=False)]
    ends = [
        _end_steps(ctx, check, order)
        for order in ("rejoin", "rejoin_supported", "ties_first", "islands_first")
    ]
    start, end = starts[0], ends[0]
    memo = Phases()  # a phase an option leaves as it was is not solved again
    best = replay(ctx, check, _timed(ctx, start, end), memo)
    for phase, options in ((True, starts[1:]), (False, ends[1:])):
        for option in options:
            score = _score(ctx, best, phase)
            if score[0] == 0:
                break
            if option == (start if phase else end):
                continue
            trial_start, trial_end = (option, end) if phase else (start, option)
            trial = replay(ctx, check, _timed(ctx, trial_start, trial_end), memo)
            if _score(ctx, trial, phase) < score:
                best, start, end = trial, trial_start, trial_end
    return best
