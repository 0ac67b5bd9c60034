"""What the works cut off, stage by stage, before any decision: the basis of `planner inspect`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from planner.core.refs import ref_for
from planner.core.switching import Switching
from planner.decide.allocation import trucks_needed
from planner.decide.candidates import Candidate, CutOff, candidates_of_stage
from planner.decide.lv_slots import lv_slots
from planner.decide.transfer import candidate_ties, sectionalisers
from planner.grid.context import StageContext
from planner.grid.topology import build_graph, islands_of
from planner.inputs.case import Case, Reserve

__all__ = ["AffectedIsland", "StageArea", "affected_area", "area_warnings", "stage_contexts"]


@dataclass(frozen=True)
class AffectedIsland:
    id: str
    buses: tuple[int, ...]
    loads: tuple[int, ...]
    households: int
    design_peak_kw: float
    design_peak_kvar: float
    protected_kw: float
    protected_kvar: float
    ties: tuple[str, ...]
    sectionalisers: tuple[str, ...]
    connection_points: tuple[tuple[str, int], ...]
    lower_bound_trucks: int
    candidates: tuple[Candidate, ...] = ()
    # where LV trucks could connect (`decide.lv_slots`): (LV bus, transformer, protected kW)
    lv_points: tuple[tuple[str, str, float], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "buses": list(self.buses),
            "loads": list(self.loads),
            "households": self.households,
            "design_peak_kw": round(self.design_peak_kw, 1),
            "design_peak_kvar": round(self.design_peak_kvar, 1),
            "protected_kw": round(self.protected_kw, 1),
            "protected_kvar": round(self.protected_kvar, 1),
            "ties": list(self.ties),
            "sectionalisers": list(self.sectionalisers),
            "connection_points": [{"bus": b, "bays": n} for b, n in self.connection_points],
            "lower_bound_trucks": self.lower_bound_trucks,
            "candidates": [c.as_json() for c in self.candidates],
            "lv_points": [
                {"bus": b, "transformer": t, "protected_kw": round(kw, 1)}
                for b, t, kw in self.lv_points
            ],
        }


@dataclass(frozen=True)
class StageArea:
    name: str
    start: str
    end: str
    islands: tuple[AffectedIsland, ...]

    @property
    def lower_bound_trucks(self) -> int:
        return sum(i.lower_bound_trucks for i in self.islands)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "start": self.start,
            "end": self.end,
            "islands": [i.as_json() for i in self.islands],
            "lower_bound_trucks": self.lower_bound_trucks,
        }


def _ties_touching(ctx: StageContext, buses: frozenset[int]) -> list[str]:
    net = ctx.base_net
    out = []
    for tie in candidate_ties(ctx):
        if tie.table == "switch":
            sw = net.switch.loc[tie.index]
            ends = {int(sw.bus)}
            if sw.et == "b":
                ends.add(int(sw.element))
            elif sw.et == "l":
                line = net.line.loc[int(sw.element)]
                ends |= {int(line.from_bus), int(line.to_bus)}
        else:
            line = net.line.loc[tie.index]
            ends = {int(line.from_bus), int(line.to_bus)}
        if ends & buses:
            out.append(tie.text)
    return out


Progress = Callable[[str, int, int], None]  # (label, steps done since last call, total)


def stage_contexts(case: Case, progress: Progress | None = None) -> list[StageContext]:
    """Each stage's fixed context, in the case's order (built once for `check`'s several uses)."""
    out = []
    for stage in case.stages:
        if progress:
            progress("building each stage's network and demand", 0, len(case.stages))
        out.append(StageContext.build(case, stage))
        if progress:
            progress("building each stage's network and demand", 1, len(case.stages))
    return out


def affected_area(
    case: Case, contexts: list[StageContext] | None = None, progress: Progress | None = None
) -> list[StageArea]:
    """Per stage: the islands the works cut off, with loads, ties, points, the truck bound and
    the candidate connection points (see `candidates`).

    Islands are named as the plan names its islands: `I1`, `I2`, ... by their lowest bus index.
    Where the plan's switching does not split or join them (no transfer, no paralleling), the
    plan's `I1` is inspect's `I1`; a transfer re-supplying part of one leaves the plan its own
    islands of what is left, numbered the same way."""
    areas = []
    n_1 = case.fleet.reserve == Reserve.N_1
    for ctx in contexts if contexts is not None else stage_contexts(case, progress):
        stage = ctx.stage
        if progress:
            progress(
                "finding what each stage cuts off and where trucks could connect",
                1,
                len(case.stages),
            )
        graph = build_graph(ctx.works_net)
        islands = []
        cut: list[CutOff] = []
        for k, buses in enumerate(islands_of(graph, ctx.cut_off)):
            loads = ctx.loads_on(buses)
            protected = [i for i in loads if i in ctx.protected]
            p, q = ctx.peak_kw(loads)
            pp_, pq = ctx.peak_kw(protected)
            points = tuple(
                (ref_for(ctx.base_net, "bus", c.bus.index).text, c.bays)
                for c in case.connection_points
                if c.bus.index in buses
            )
            bound = trucks_needed(pp_, pq, case.fleet.rating_kw, case.fleet.rating_kva, n_1)
            cut.append(CutOff(buses, tuple(protected), bound))
            islands.append(
                AffectedIsland(
                    id=f"I{k + 1}",
                    buses=tuple(sorted(buses)),
                    loads=tuple(loads),
                    households=ctx.households(loads),
                    design_peak_kw=p,
                    design_peak_kvar=q,
                    protected_kw=pp_,
                    protected_kvar=pq,
                    ties=tuple(_ties_touching(ctx, buses)),
                    sectionalisers=tuple(
                        s.text for s in sectionalisers(ctx.base_net, buses, ctx.namer)
                    ),
                    connection_points=points,
                    lower_bound_trucks=bound,
                )
            )
        suggested = candidates_of_stage(ctx, graph, cut)
        islands = [replace(i, candidates=c) for i, c in zip(islands, suggested, strict=True)]
        slots = lv_slots(ctx, Switching(), [frozenset(i.buses) for i in islands])
        islands = [
            replace(i, lv_points=tuple(
                (ref_for(ctx.base_net, "bus", s.bus).text, s.name, s.p_kw) for s in lv))
            for i, lv in zip(islands, slots, strict=True)
        ]  # fmt: skip
        areas.append(
            StageArea(stage.name, stage.start.isoformat(), stage.end.isoformat(), tuple(islands))
        )
    return areas


def area_warnings(areas: list[StageArea]) -> list[str]:
    """What `planner check` flags before any planning: cut-off protected load that no truck
    can reach (no connection point in its island), and whether a tie could still carry it."""
    out = []
    for area in areas:
        for island in area.islands:
            if island.protected_kw <= 0 or island.connection_points:
                continue
            what = (
                f"stage {area.name!r}: island {island.id} ({len(island.buses)} buses, "
                f"{island.protected_kw:,.0f} kW protected design peak) has no connection point "
                "for trucks"
            )
            if island.ties:
                what += f": only a transfer through {', '.join(island.ties)} can carry it"
            else:
                what += " and no tie: its protected load cannot be kept supplied"
            used = [c.bus for c in island.candidates if c.use] or [
                c.bus for c in island.candidates[:3]
            ]
            if used:
                what += f" (`planner inspect` suggests {', '.join(used)})"
            out.append(what)
    return out
