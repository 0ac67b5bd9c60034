"""The search over switch sets: fewer trucks than the greedy transfer, and a bound it proves.

Every switch set within the operation limit (`decide/switchsets.py`) that keeps the energised
network radial and loses no customer is a candidate, with the trucks its islands need at least.
Candidates are AC-screened (`transfer.Screen`: the grid at the stage's peak hours, no limit
broken that the works state does not break already) in order of that bound, so only those that
could beat the plan in hand cost a load flow; the results are kept per stage, for planning and
for the proof alike.

The proof: a plan with a switch set needs at least its islands' protected design kW over
`rating_kw` in trucks (trucks never absorb power and losses only add), and a switch set whose
grid fails the screen fails verification too (the screen's hours are verified hours). So when
the enumeration was exhaustive, the smallest kW bound over the candidates that pass the screen
(and the plan's own switching) is a lower bound for every plan whose switch set is within the
limit.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from planner.core.switching import Switching
from planner.decide.flowbound import FlowBound
from planner.decide.switchsets import (
    MAX_OPERATIONS,
    MAX_SETS,
    Candidate,
    Enumeration,
    enumerate_switch_sets,
)
from planner.decide.transfer import Screen, candidate_ties, screening_groups
from planner.grid.context import StageContext
from planner.inputs.demand import StepGroup

__all__ = ["StageSearch", "operation_limit", "search_note", "stage_search"]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
MAX_SCREENS = 50  # AC screens per stage; beyond them the search stops and proves nothing
UNSERVED_TOL_KW = 1e-3  # unserved kW this close are the same (sums differ in rounding only)


def operation_limit(ctx: StageContext) -> int:
    """The case's limit on switching operations per switch set, or the default."""
    value = ctx.case.max_switching_operations
    return MAX_OPERATIONS if value is None else value


def search_note(candidate: Candidate, greedy: int | None) -> str:
    """The plan's note on a switch set the search chose (against the greedy transfer's bound,
    or, `greedy` None, as the next tried after verification needed more trucks)."""
    s = candidate.switching
    steps = [f"close {r.text}" for r in (*s.close, *s.in_service)]
    steps += [f"open {r.text}" for r in s.open]
    against = (
        f"against {greedy} after the greedy transfer"
        if greedy is not None
        else "tried after verification needed more trucks than the first switch set's bound"
    )
    return (
        f"switch set found by search ({candidate.operations} operation(s): {', '.join(steps)}): "
        f"{candidate.trucks} truck(s) by bound, {against}"
    )


def _key(switching: Switching) -> tuple:
    return (
        tuple(sorted(switching.close)),
        tuple(sorted(switching.open)),
        tuple(sorted(switching.in_service)),
    )


@dataclass
class StageSearch:
    """One stage's candidates and the AC screens made of them (at the peak hours)."""

    ctx: StageContext
    found: Enumeration
    progress: Progress | None = None
    screened: dict[tuple, bool] = field(default_factory=dict)
    screens: int = 0
    pruned: int = 0
    _screen: Screen | None = None
    _baseline: set[tuple[str, int]] | None = None
    _bound: FlowBound | None = None

    @property
    def cut_short(self) -> bool:
        return self.screens >= MAX_SCREENS

    def passes(self, switching: Switching, extra: tuple[StepGroup, ...] = ()) -> bool:
        """Does the grid stay within its limits at the peak hours (and at `extra` hours)?
        False, unscreened, once `MAX_SCREENS` load flows were spent."""
        key = _key(switching)
        if key not in self.screened and self.cut_short:
            return False
        if key not in self.screened:
            if self._screen is None:
                groups = screening_groups(self.ctx)
                self._screen = Screen(self.ctx, groups)
                self._baseline = self._screen.problems(Switching()) or set()
                self._bound = FlowBound(self.ctx, self.found.topology, groups)
            baseline = self._baseline or set()
            assert self._bound is not None
            if self._bound.must_fail(switching, baseline):
                self.pruned += 1
                self.screened[key] = False
            else:
                problems = self._screen.problems(switching)
                self.screens += 1
                self.screened[key] = problems is not None and problems <= baseline
        if not self.screened[key] or not extra:
            return self.screened[key]
        screen = Screen(self.ctx, [*screening_groups(self.ctx), *extra])
        baseline = screen.problems(Switching()) or set()
        problems = screen.problems(switching)
        return problems is not None and problems <= baseline

    def _tick(self, what: str, total: int) -> None:
        """One more of `total` (the Progress callback takes advances, not positions)."""
        if self.progress is not None:
            self.progress(f"{self.ctx.stage.name}: {what}", 1, total)

    def better_than(
        self, trucks: int, unserved_kw: float, extra: tuple[StepGroup, ...] = ()
    ) -> Candidate | None:
        """The candidate that passes the screen and leaves less protected kW unserved than the
        plan in hand (`unserved_kw`: islands no truck can reach), or as much and needs fewer
        trucks than `trucks`; least unserved, then fewest trucks, then fewest operations."""

        def better(c: Candidate) -> bool:
            if c.unserved_kw < unserved_kw - UNSERVED_TOL_KW:
                return True
            return abs(c.unserved_kw - unserved_kw) <= UNSERVED_TOL_KW and c.trucks < trucks

        ranked = sorted(
            (c for c in self.found.candidates if better(c)),
            key=lambda c: (c.unserved_kw > UNSERVED_TOL_KW, round(c.unserved_kw, 3), c.trucks,
                           c.operations, -c.transferred_kw),
        )  # fmt: skip
        for candidate in ranked:
            self._tick("screening switch sets", len(ranked))
            if self.passes(candidate.switching, extra):
                return candidate
            if self.cut_short:
                break
        return None

    def alternatives(
        self, tried: list[Switching], extra: tuple[StepGroup, ...] = ()
    ) -> Iterator[Candidate]:
        """Candidates serving every island, other than `tried`, that pass the screen: fewest
        trucks by bound first (then fewest operations), for verification in turn."""
        done = {_key(s) for s in tried}
        ranked = sorted(
            (c for c in self.found.candidates if c.unserved_kw <= UNSERVED_TOL_KW),
            key=lambda c: (c.trucks, c.operations, -c.transferred_kw),
        )
        for candidate in ranked:
            if _key(candidate.switching) in done:
                continue
            if self.passes(candidate.switching, extra):
                yield candidate
            elif self.cut_short:
                return

    def proven_bound(self, chosen_kw: int) -> int | None:
        """The fewest trucks any plan within the searched switch sets can have (None when the
        enumeration stopped early): the smallest kW bound among candidates that pass."""
        if not self.found.exhaustive:
            return None
        ranked = sorted(
            (
                c
                for c in self.found.candidates
                if c.unserved_kw <= UNSERVED_TOL_KW and c.trucks_kw < chosen_kw
            ),
            key=lambda c: (c.trucks_kw, c.operations),
        )
        for candidate in ranked:
            self._tick("proving the truck bound", len(ranked))
            if self.passes(candidate.switching):
                return candidate.trucks_kw
            if self.cut_short and _key(candidate.switching) not in self.screened:
                return None
        return chosen_kw

    def searched(self) -> dict[str, object]:
        found = self.found
        return {
            "stage": self.ctx.stage.name,
            "max_operations": found.limit,
            "closes": found.closes,
            "opens": found.opens,
            "switch_sets": found.looked_at,
            "distinct": len(found.candidates),
            "ac_screened": self.screens,
            "failed_by_flow_bound": self.pruned,
            "exhaustive": found.exhaustive and not self.cut_short,
        }


_SEARCHES: dict[int, tuple[weakref.ref[StageContext], StageSearch]] = {}


def stage_search(ctx: StageContext, progress: Progress | None = None) -> StageSearch:
    """The stage's search, made once per stage context (planning and bounds share it)."""
    held = _SEARCHES.get(id(ctx))
    if held is not None and held[0]() is ctx:
        if progress is not None:
            held[1].progress = progress
        return held[1]
    for key in [k for k, (ref, _) in _SEARCHES.items() if ref() is None]:
        del _SEARCHES[key]
    limit = operation_limit(ctx)

    def tick(done: int) -> None:
        if progress is not None:  # the sets looked at, in steps of 500, against the cap
            progress(f"{ctx.stage.name}: enumerating switch sets", 500, MAX_SETS)

    found = enumerate_switch_sets(ctx, candidate_ties(ctx), limit, tick=tick)
    log.info(
        "stage %s: %d switch sets within %d operations, %d distinct",
        ctx.stage.name,
        found.looked_at,
        limit,
        len(found.candidates),
    )
    search = StageSearch(ctx, found, progress)
    _SEARCHES[id(ctx)] = (weakref.ref(ctx), search)
    return search
