"""Replaying a stage's switching sequence step by step, whoever wrote it.

The planner's own sequence and a plan file's are checked by the same replay: each step is applied
to the network state, the state after it is solved at the step's own time and at the stage's
worst time, every closing is checked for voltage and angle difference (and, joining separately
fed systems, for a device that can synchronise), every opening for a device that can break what
flows through it. Protected load left without supply by a step is an interruption until a later
step restores it; the start steps must reach the stage's checked state, the end steps the
network's normal state.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from planner.checks.findings import StageCheck
from planner.checks.paralleled import Paralleled, Power, match_voltage, on_grid
from planner.checks.phase_states import differences, works_stay_out
from planner.checks.solved_state import SolvedState
from planner.checks.step_memo import Normal, broken_normally
from planner.checks.step_models import Models
from planner.checks.step_state import solve_states
from planner.checks.steps import (
    ACTIONS,
    BREAK_TOL_KVA,
    CLOSING,
    TABLES_OF,
    SequenceCheck,
    Step,
    sequence_window,
)
from planner.core.plan import Violation
from planner.core.refs import TABLES, ElementRef, resolve_ref
from planner.grid.context import StageContext
from planner.grid.devices import (
    CAN_BREAK,
    dead_section_has_load,
    device_of,
    reading_bus,
    sides_of,
)
from planner.grid.limits import TOL, broken_as_normally
from planner.grid.powerflow import TruckAt
from planner.grid.state import copy_net, operate
from planner.inputs.demand import StepGroup, design_matrix

__all__ = ["ACTIONS", "SequenceCheck", "Step", "StepReplay"]


class StepReplay:
    def __init__(
        self, ctx: StageContext, check: StageCheck, days: tuple[timedelta, ...] = ()
    ) -> None:
        # with `daily` windows: how far each later day's switching is from the timed (first)
        # day's, so that every state a step leaves is solved at each day's own load
        self.ctx, self.check, self.days, self.rules = ctx, check, days, ctx.case.switching
        self.by_id = {t.id: t for t in check.setup.trucks}
        self.island_of = {tid: isl for isl in check.islands for tid in isl.trucks}
        self.out = SequenceCheck()
        self.groups: dict[datetime, StepGroup] = {}
        self.normal: Normal = {}  # `broken_normally`'s
        self.peak = ctx.demand.peak
        self.carrying: set[str] = set()  # the trucks that carry the islands in this phase
        self.standby: set[str] = set()  # placed, on site, breaker open
        self.models = Models(list(self.by_id.values()))
        self.control, self.join_shift = Paralleled(), 0.0  # paralleled trucks' control, phase
        self.normal_models = Models([], capacity=0)  # the normal state's one model
        # whether a step of the last phase replayed had problems with a truck paralleled with
        # the grid before or after it: only those can differ with the trucks' control
        self.dependent = False
        self.refs: dict[tuple[str, tuple[str, ...]], ElementRef | str] = {}  # `_resolve`'s

    # -- load states --------------------------------------------------------------------------
    def group_at(self, when: datetime) -> StepGroup:
        if when not in self.groups:
            for g in self.ctx.demand.groups:
                if when in g.times:
                    self.groups[when] = g
                    break
            else:
                p, q = design_matrix(self.ctx.case, self.ctx.base_net, [when])
                self.groups[when] = StepGroup((when,), p[0], q[0])
        return self.groups[when]

    def output(self, trucks: dict[str, TruckAt], group: StepGroup) -> dict[str, Power]:
        """Each connected truck's ramped output (kW, kvar): its rating's share of its island's
        served load among the island's trucks that carry it."""
        out: dict[str, Power] = {}
        for tid, truck in trucks.items():
            island = self.island_of.get(tid)
            if island is None:
                continue
            mates = [self.by_id[t] for t in island.trucks if t in self.carrying or t in trucks]
            served = [i for i in island.loads if i in self.ctx.protected]
            load_kw, load_kvar = self.ctx.load_kw(served, group)
            by = "rating_kva" if self.ctx.case.fleet.types else "rating_kw"  # types: pf differs
            share = getattr(truck, by) / sum(getattr(t, by) for t in mates)
            out[tid] = (load_kw * share, load_kvar * share)
        return out

    # -- one step -----------------------------------------------------------------------------
    def solve(self, net, trucks, when: datetime) -> tuple[SolvedState, dict[str, Any], list[str]]:
        """The state after a step at its own time and at the stage's worst time."""
        times = [when, *(when + d for d in self.days)]
        times += (
            [self.peak.times[0]] if all(self.group_at(t) is not self.peak for t in times) else []
        )
        problems: list[str] = []
        summary: dict[str, Any] = {"at": [t.isoformat() for t in times]}
        first: SolvedState | None = None
        vmin, vmax, loading, truck_kw = math.inf, -math.inf, 0.0, 0.0
        groups = [self.group_at(t) for t in times]
        outputs = [self.output(trucks, group) for group in groups]
        whens = [t.isoformat() for t in times]
        states = solve_states(
            self.ctx, net, trucks, outputs, groups, whens, self.models, self.control
        )
        for t, group, state in zip(times, groups, states, strict=True):
            first = first or state
            normal = broken_normally(self.ctx, self.normal, self.normal_models, group)
            if not state.converged:
                problems.append(f"load flow did not converge at {t.isoformat()}")
            for v in state.findings.sorted_violations():
                if not broken_as_normally(v, normal):
                    problems.append(f"{v.message} (at {t.isoformat()})")
            f = state.findings
            if f.min_vm:
                vmin, vmax = (
                    min(vmin, f.min_vm.value),
                    max(vmax, f.max_vm.value if f.max_vm else vmax),
                )
            loading = max(loading, f.max_line.value if f.max_line else 0.0,
                          f.max_trafo.value if f.max_trafo else 0.0)  # fmt: skip
            truck_kw = max([truck_kw, *state.truck_kw.values()])
        summary |= {
            "min_vm_pu": round(vmin, 4) if math.isfinite(vmin) else None,
            "max_vm_pu": round(vmax, 4) if math.isfinite(vmax) else None,
            "max_loading_percent": round(loading, 1),
            "max_truck_kw": round(truck_kw, 1),
        }
        assert first is not None
        if first.truck_kw:  # each truck's own output at the step's time, for the crew sheet
            summary["truck_kw"] = {t: round(kw, 1) for t, kw in sorted(first.truck_kw.items())}
        return first, summary, problems

    def closing(
        self, ref: ElementRef, device: str, before: SolvedState, trucks: dict[str, TruckAt], net
    ) -> tuple[dict, list[str]]:
        """What a closing device sees before it closes, and what it may not do."""
        sides = sides_of(self.ctx.base_net, ref)
        if sides is None:
            return {}, []
        a, b, shift = sides
        src_a, src_b = before.source.get(a), before.source.get(b)
        extra: dict[str, Any] = {}
        problems: list[str] = []
        if src_a is None or src_b is None:  # energising a dead section
            dead = b if src_a else a
            if src_a is None and src_b is None:
                return {}, []
            if device not in CAN_BREAK and dead_section_has_load(net, dead, set(before.source)):
                problems.append(f"a disconnector ({device}) cannot pick up load")
            return extra, problems
        dv = abs(before.vm[a] - before.vm[b]) * 100.0
        limits = self.rules
        if src_a == src_b:  # closing a loop in one system
            dtheta = abs((before.angle(a) - shift - before.angle(b) + 180.0) % 360.0 - 180.0)
            if math.isnan(dtheta):
                problems.append("the angle across it is not known (a state did not solve)")
            extra["sync"] = {
                "dv_percent": round(dv, 2),
                "dtheta_deg": round(dtheta, 2),
                "df_hz": 0.0,
            }
            if device not in CAN_BREAK:
                problems.append(f"a disconnector ({device}) cannot close a loop carrying load")
        else:  # two separately fed systems: only a synchronising breaker joins them
            dtheta = 0.0  # a synchronising close waits for the phases to coincide
            extra["joins"] = sorted({self._name(src_a), self._name(src_b)})
            if device != "CB":
                problems.append(
                    f"joins {' and '.join(extra['joins'])}, which are separately fed, with a "
                    f"{device} that cannot synchronise"
                )
            dv, setpoint, self.join_shift, found = match_voltage(self.ctx, a, b, before, trucks)
            problems += found
            extra["sync"] = {"dv_percent": round(dv, 2), "dtheta_deg": 0.0, "df_hz": 0.0}
            if setpoint is not None:
                extra["sync"]["vm_setpoint_pu"] = round(setpoint, 4)
        if dv > limits.sync_max_dv_percent + TOL:
            problems.append(
                f"voltage difference {dv:.1f} % across it, above {limits.sync_max_dv_percent:g} %"
            )
        if dtheta > limits.sync_max_dtheta_deg + TOL:
            problems.append(
                f"angle difference {dtheta:.1f} deg across it, above "
                f"{limits.sync_max_dtheta_deg:g} deg"
            )
        return extra, problems

    def _name(self, source: str) -> str:
        if source == "grid":
            return "grid"
        bus = int(source.split("@")[1])
        for island in self.check.islands:
            if bus in island.buses:
                return island.id
        return f"island at {self.ctx.namer('bus', bus).text}"

    def opening(self, ref: ElementRef, device: str, before: SolvedState) -> tuple[dict, list[str]]:
        if ref.table == "load":
            bus: int | None = self.ctx.load_bus.get(ref.index)
        else:
            sides = sides_of(self.ctx.base_net, ref)
            bus = sides[0] if sides else None
        flow = before.across_kva(bus, ref) if bus is not None else (0.0, 0.0)
        if flow is None:
            unknown = f"a disconnector ({device}) cannot be shown to break no load (flow unknown)"
            return {"across_kw": None}, [] if device in CAN_BREAK else [unknown]
        kw, kva = flow
        problems = []
        if device not in CAN_BREAK and kva > BREAK_TOL_KVA:
            problems.append(f"a disconnector ({device}) cannot break {kva:,.0f} kVA")
        return {"across_kw": round(kw, 1)}, problems

    def problem(self, number: int, step: Step, text: str) -> None:
        when = step.time.isoformat()
        message = f"switching step {number} ({step.action} {step.element}) at {when}: {text}"
        self.out.violations.append(Violation("sequence", message, step.element, time=when))

    def phase(self, control, first, steps, start_net, trucks, target, target_trucks, what) -> bool:
        """Replay one phase (the start or the end steps) with the paralleled trucks in `control`
        and check where it leaves the network; whether any truck was paralleled with the grid."""
        net, trucks = copy_net(start_net), dict(trucks)
        self.control = Paralleled(control)
        paralleled, self.dependent = False, False
        self.carrying = set(target_trucks) | set(trucks)
        when = steps[0].time if steps else sequence_window(self.ctx)[0]
        prev, _, _ = self.solve(net, trucks, when)
        opened: dict[int, tuple[int, Step]] = {}  # unfed protected load -> step that cut it
        out: set[tuple[str, int]] = set()  # works elements taken out so far
        for position, step in enumerate(steps, start=first):
            number = step.number or position
            entry: dict[str, Any] = {
                "step": number,
                "time": step.time.isoformat(),
                "action": step.action,
                "element": step.element,
            }
            self.join_shift = 0.0  # how far a join moved its island's setpoint to match
            was = on_grid(prev, trucks)
            problems = self.apply(step, net, trucks, prev, entry)
            if what == "start":
                problems += works_stay_out(self.ctx.stage.out_of_service, net, out)
            self.control.before(prev.vm, prev.source, self.join_shift)  # an island moved to match
            state, summary, found = self.solve(net, trucks, step.time)
            problems, paralleled = problems + found, paralleled or "grid" in entry.get("joins", ())
            if problems and (was or on_grid(state, trucks)):
                self.dependent = True  # another control might not have them
            for load in state.unfed - prev.unfed:
                opened.setdefault(load, (number, step))
            self._restore(opened, state.unfed, step)
            bus = self._point_bus(step, entry)
            if bus is not None and bus in state.vm:  # the reading at the device itself
                summary["point_vm_pu"] = round(state.vm[bus], 4)
            entry |= {"checked": True, "holds": not problems, "solved": summary}
            if problems:
                entry["violations"] = problems
            for text in problems:
                self.problem(number, step, text)
            self.out.steps.append(entry)
            prev = state
        left: dict[int, tuple[Step, list[str]]] = {}
        for load, (number, step) in sorted(opened.items()):
            left.setdefault(number, (step, []))[1].append(self.ctx.namer("load", load).text)
        for number, (step, names) in sorted(left.items()):
            self.problem(number, step, f"leaves protected load without supply: {', '.join(names)}")
        goal = "the stage's state" if what == "start" else "the network's normal state"
        leftover = [f"truck {t} (on standby) is never disconnected" for t in sorted(self.standby)]
        for text in [*differences(net, target, trucks, target_trucks), *leftover]:
            message = f"the {what} steps do not reach {goal}: {text}"
            self.out.violations.append(Violation("sequence", message, what))
        return paralleled

    def _restore(
        self, opened: dict[int, tuple[int, Step]], unfed: frozenset[int], at: Step
    ) -> None:
        """Close the interruptions a step ends: customers, kW and minutes, per cutting step."""
        ended: dict[int, list[int]] = {}
        for load, (number, _) in opened.items():
            if load not in unfed:
                ended.setdefault(number, []).append(load)
        for number, loads in sorted(ended.items()):
            step = opened[loads[0]][1]
            for load in loads:
                del opened[load]
            loads.sort()
            kw = self.ctx.load_kw(loads, self.group_at(step.time))[0]
            minutes = (at.time - step.time).total_seconds() / 60.0 or self.rules.step_minutes
            self.out.interruptions.append(
                {
                    "step": number,
                    "households": self.ctx.households(loads),
                    "kw": round(kw, 1),
                    "minutes": round(minutes, 1),
                    "loads": [self.ctx.namer("load", i).text for i in loads],
                    "reason": f"break-before-make: step {number} ({step.action} {step.element}) "
                    f"cuts them off until step {at.action} {at.element} restores them",
                    **self._days(),
                }
            )

    def _days(self) -> dict[str, int]:
        """With `daily` windows the sequence is carried out once a day: an interruption happens
        on each day (`days`, an added field); nothing is added without `daily`."""
        return {"days": len(self.ctx.stage.windows)} if self.ctx.stage.daily is not None else {}

    def _point_bus(self, step: Step, entry: dict[str, Any]) -> int | None:
        """The bus a crew reads the voltage at after a step (a truck's bay, a device's bus)."""
        if step.action in ("connect_truck", "disconnect_truck"):
            truck = self.by_id.get(step.element)
            return truck.bus if truck is not None else None
        ref = self._resolve(entry.get("element", ""), TABLES)
        return None if isinstance(ref, str) else reading_bus(self.ctx.base_net, ref)

    def _resolve(self, text: object, tables: tuple[str, ...]) -> ElementRef | str:
        """`resolve_ref` on the stage's base network, once per text and tables: a sequence
        names a few elements many times (each step twice, each phase, each day)."""
        if not isinstance(text, str):
            return resolve_ref(self.ctx.base_net, text, tables)
        if (text, tables) not in self.refs:
            self.refs[text, tables] = resolve_ref(self.ctx.base_net, text, tables)
        return self.refs[text, tables]

    def apply(
        self, step: Step, net, trucks: dict[str, TruckAt], before: SolvedState, entry
    ) -> list[str]:
        """Carry out one step on `net`/`trucks`; what the device sees and may not do."""
        if step.action not in ACTIONS:
            return [f"unknown action {step.action!r} (known: {', '.join(sorted(ACTIONS))})"]
        if step.action in ("connect_truck", "disconnect_truck"):
            return self._truck(step, trucks, before, entry)
        if step.action == "shut_down_island":  # every truck of the island off at once
            island = next((i for i in self.check.islands if i.id == step.element), None)
            if island is None:
                return [f"the stage has no island {step.element!r}"]
            off = [t for t in island.trucks if trucks.pop(t, None)]
            self.standby.update(off)  # breakers open, still at their bays
            entry |= {"trucks": off, "device": "CB"}
            return [] if off else [f"island {island.id} has no truck connected"]
        ref = self._resolve(step.element, TABLES_OF.get(step.action, TABLES))
        if isinstance(ref, str):
            return [ref]
        entry["element"] = ref.text
        if ref.table == "load":
            device = self.rules.device
        else:
            device = device_of(self.ctx.base_net, ref, self.rules.device)
        entry["device"] = device
        closing = step.action in CLOSING
        extra: dict[str, Any] = {}
        problems: list[str] = []
        if closing and ref.table == "load":
            if device not in CAN_BREAK:
                problems.append(f"a disconnector ({device}) cannot pick up load")
        elif closing:
            extra, problems = self.closing(ref, device, before, trucks, net)
        else:
            extra, problems = self.opening(ref, device, before)
        entry |= extra
        operate(net, ref, closing)
        return problems

    def _truck(
        self, step: Step, trucks: dict[str, TruckAt], before: SolvedState, entry
    ) -> list[str]:
        truck = self.by_id.get(step.element)
        if truck is None:
            return [f"truck {step.element!r} is not placed in this stage"]
        entry |= {"at": self.ctx.namer("bus", truck.bus).text, "device": "CB"}
        if step.action == "disconnect_truck":
            entry["across_kw"] = 0.0  # ramped down before its breaker opens
            if trucks.pop(truck.id, None) is None and truck.id not in self.standby:
                return [f"truck {truck.id} is not connected"]
            self.standby.discard(truck.id)
            return []
        if truck.id in trucks:
            return [f"truck {truck.id} is already connected"]
        self.standby.discard(truck.id)
        source = before.source.get(truck.bus)
        if source is not None:  # the truck's own breaker synchronises it to the live bus
            entry["sync"] = {"dv_percent": 0.0, "dtheta_deg": 0.0, "df_hz": 0.0}
            entry["joins"] = sorted([self._name(source), truck.id])
        trucks[truck.id] = truck
        return []
