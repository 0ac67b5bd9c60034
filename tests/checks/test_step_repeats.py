"""What the switching replays solve once and look up after (`planner.checks.step_memo`): the
normal state's broken limits at a load the stage's normal-state scan solved, and the states a
phase's other orders and controls reach again. Looked up or solved, the outcome is the same."""

from __future__ import annotations

import pytest

from tests.conftest import CASES, DATA

SAFETY = DATA / "cases" / "safety"
INSPECT = DATA / "cases" / "inspect"


def test_the_normal_state_at_a_scanned_load_is_the_scan_s() -> None:
    """Line 0 (155.2 %) and bus 17 (0.9036 pu, its own 0.95 pu floor) are broken before the
    works: at every check time the scan found them, the replay takes the scan's values, and
    they are what solving the normal state at that load alone gives."""
    import planner
    from planner.checks.normal_state import normal_exemptions
    from planner.checks.step_memo import broken_normally
    from planner.checks.step_state import Models
    from planner.grid.context import StageContext

    case = planner.load_case(str(INSPECT / "broken_normally.toml"))
    ctx = StageContext.build(case, case.stages[0])
    groups = list(ctx.demand.groups)
    solved = [broken_normally(ctx, {}, Models([]), g) for g in groups]  # no scan yet: solved
    normal_exemptions(ctx)
    looked_up = [broken_normally(ctx, {}, Models([]), g) for g in groups]
    assert looked_up == solved
    broken = [found for found in solved if found]
    assert len(broken) >= 1
    assert max(found.get(("line_loading", "line:#0"), 0.0) for found in broken) == 155.23
    assert min(found.get(("vm_min", "bus:#17"), 1.0) for found in broken) == 0.90356


def _sequence(path: str, tmp_path, edit=lambda text: text, stage: int = 0):  # type: ignore[no-untyped-def]
    """The stage's checked set-up and context, from the case at `path` edited by `edit`."""
    from pathlib import Path

    import planner
    from planner.decide.planning import plan_stage
    from planner.grid.context import StageContext

    source = Path(path)
    text = edit(source.read_text())
    network = source.with_suffix(".json")
    if network.exists():
        (tmp_path / network.name).write_bytes(network.read_bytes())
    (tmp_path / source.name).write_text(text)
    case = planner.load_case(str(tmp_path / source.name))
    ctx = StageContext.build(case, case.stages[stage])
    _, check = plan_stage(ctx)
    return ctx, check


def _tight(text: str) -> str:
    text = text.replace("[fleet]", "[limits]\nvm_max_pu = 1.05\n\n[fleet]")
    return text.replace("[[stages]]", "[switching]\nsync_max_dv_percent = 0.5\n\n[[stages]]")


def _dashiqiao(text: str) -> str:
    root = str(CASES.parent / "networks" / "dashiqiao.json")
    text = text.replace("vm_min_pu = 0.93", "vm_min_pu = 0.98")
    return text.replace('"../networks/dashiqiao.json"', repr(root))


# cases whose sequence is replayed in more than one order or control: (case, edit, stage,
# `solve_states` runs (the steps' and the normal state's) with repeats looked up, without)
REPLAYED = {
    "far end, a join that cannot be synchronised": (SAFETY / "far_end.toml", _tight, 0, 29, 35),
    "dashiqiao, the voltage floor at 0.98 pu": (CASES / "dashiqiao.toml", _dashiqiao, 1, 150, 210),
}


@pytest.mark.parametrize("name", sorted(REPLAYED))
def test_repeated_states_are_looked_up_and_the_sequence_is_the_same(
    name: str, monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """The sequence with each repeated state looked up and with every state solved: the same
    steps (numbers included), violations, interruptions and controls, in fewer solves."""
    from planner.checks import sequence as steps_module
    from planner.checks import step_memo
    from planner.dispatch.sequence import switching_sequence

    path, edit, stage, fewer, every = REPLAYED[name]
    ctx, check = _sequence(str(path), tmp_path, edit, stage)
    solves: list[int] = []
    real = step_memo.solve_states

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        solves.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(step_memo, "solve_states", counted)
    looked_up = switching_sequence(ctx, check)
    with_repeats = len(solves)
    solves.clear()
    real_states = step_memo.step_states

    def forgetful(ctx, repeats, *args):  # type: ignore[no-untyped-def]
        return real_states(ctx, {}, *args)

    monkeypatch.setattr(steps_module, "step_states", forgetful)
    solved = switching_sequence(ctx, check)
    assert looked_up.steps == solved.steps
    assert [v.message for v in looked_up.violations] == [v.message for v in solved.violations]
    assert looked_up.interruptions == solved.interruptions
    assert (with_repeats, len(solves)) == (fewer, every)
