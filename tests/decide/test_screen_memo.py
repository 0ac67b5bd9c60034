"""Transfer screens keep their answers and models in the stage's memo (`transfer.Screen`): a
second screening of a stage with hours added builds no model again and answers exactly as a
screen of a fresh stage context (no memo) does, hours solved in one batch."""

from __future__ import annotations

import pytest

import planner
from planner.core.switching import Switching
from planner.decide import transfer
from planner.decide.transfer import SCREEN_MODELS, Screen, candidate_ties, screening_groups
from planner.grid.context import StageContext
from tests.conftest import ROOT


def _counted_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    built: list[int] = []
    real = transfer.BatchModel

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(transfer, "BatchModel", counting)
    return built


def test_a_second_screening_reuses_the_models_and_answers_as_a_fresh_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = planner.load_case(ROOT / "cases" / "dashiqiao.toml")
    stage = case.stages[0]
    ctx = StageContext.build(case, stage)
    ties = candidate_ties(ctx)
    assert ties
    switchings = [Switching(), *(Switching().with_tie(tie, ()) for tie in ties[:3])]
    groups = screening_groups(ctx)
    extra = [g for g in ctx.demand.groups if all(g is not h for h in groups)][:2]
    assert extra
    built = _counted_builds(monkeypatch)
    first = [Screen(ctx, groups).problems(s) for s in switchings]
    assert len(built) == len(switchings)  # one model per switching
    again = [Screen(ctx, groups).problems(s) for s in switchings]
    assert again == first and len(built) == len(switchings)  # answered from the memo
    wider = [Screen(ctx, [*groups, *extra]).problems(s) for s in switchings]
    assert len(built) == len(switchings)  # more hours: the same models, no build
    fresh = StageContext.build(case, stage)
    assert wider == [Screen(fresh, [*groups, *extra]).problems(s) for s in switchings]
    assert first == [Screen(StageContext.build(case, stage), groups).problems(s)
                     for s in switchings]  # fmt: skip
    ctx.memo.pop(SCREEN_MODELS)
    Screen(ctx, [*groups, *extra[:1]]).problems(switchings[0])
    assert len(built) == 3 * len(switchings) + 1  # two fresh contexts; models dropped: again
