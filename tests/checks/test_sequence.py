"""Switching sequences: trucks paralleled as the synchronised grid-forming machines they are,
every closing checked for voltage, angle and a device that can do it, honest interruptions."""

from __future__ import annotations

import json

import pytest

from tests.conftest import DATA

SAFETY = DATA / "cases" / "safety"


@pytest.fixture(scope="module")
def far_end(tmp_path_factory):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from planner.cli import main

    out = tmp_path_factory.mktemp("far_end")
    result = CliRunner().invoke(main, ["plan", str(SAFETY / "far_end.toml"), "--out", str(out)])
    return result, out


def test_far_end_feeder_plans_three_trucks_and_verifies(far_end) -> None:  # type: ignore[no-untyped-def]
    result, out = far_end
    assert result.exit_code == 0, result.output
    assert "feasible, 3 of 4 trucks used" in result.output
    stage = json.loads((out / "plan.json").read_text())["stages"][0]
    steps = stage["sequence"]
    assert [s["action"] for s in steps] == [
        "connect_truck", "connect_truck", "connect_truck", "take_out",
        "put_back", "disconnect_truck", "disconnect_truck", "disconnect_truck",
    ]  # fmt: skip
    # paralleled with the grid the trucks hold the far end at their 1.0 pu setpoint: no state
    # on the way in or out goes above the case's 1.07 pu (fixed injections gave 1.081)
    for step in steps:
        assert step["holds"] is True, step
        assert step["solved"]["max_vm_pu"] <= 1.07
    # the head span opens with the trucks ramped up: only the losses flow through it
    assert steps[3]["device"] == "CB" and 0 < steps[3]["across_kw"] < 350
    # re-joining: the trucks are raised to the band's top to meet the substation's 1.038 pu
    back = steps[4]
    assert back["joins"] == ["I1", "grid"] and back["device"] == "CB"
    assert back["sync"]["vm_setpoint_pu"] == 1.07
    assert back["sync"]["dv_percent"] == pytest.approx(1.06, abs=0.05)
    assert stage["interruptions"] == [] and stage["outage_free"] is True


def test_plan_and_validate_agree_on_the_far_end_plan(cli, far_end) -> None:  # type: ignore[no-untyped-def]
    _, out = far_end
    result = cli("validate", SAFETY / "far_end.toml", out / "plan.json")
    assert result.exit_code == 0, result.output
    assert "holds" in result.output


def test_a_join_that_cannot_be_synchronised_becomes_a_break(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With a tight 0.5 % sync limit and the trucks held at 1.05 pu, the island cannot be matched
    to the grid: the planner shuts it down, re-energises it from the grid, and says so."""
    text = (SAFETY / "far_end.toml").read_text()
    text = text.replace("[fleet]", "[limits]\nvm_max_pu = 1.05\n\n[fleet]")
    text = text.replace("[[stages]]", "[switching]\nsync_max_dv_percent = 0.5\n\n[[stages]]")
    (tmp_path / "far_end.json").write_bytes((SAFETY / "far_end.json").read_bytes())
    case = tmp_path / "tight.toml"
    case.write_text(text)
    result = cli("plan", case, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "NOT OUTAGE-FREE: switching step 5 interrupts 4,950 kW" in result.output
    stage = json.loads((tmp_path / "out" / "plan.json").read_text())["stages"][0]
    actions = [s["action"] for s in stage["sequence"]][4:]
    assert actions == ["shut_down_island", "put_back", *["disconnect_truck"] * 3]
    [cut] = stage["interruptions"]
    assert cut["minutes"] == 5.0 and cut["kw"] == pytest.approx(4950.0)
    assert stage["outage_free"] is False and stage["verification"]["passed"] is True
    md = (tmp_path / "out" / "plan.md").read_text()
    assert "**Not outage-free:** 1 break-before-make transfer(s)" in md


def _replayed(name: str, stage: int = 0):  # type: ignore[no-untyped-def]
    """A shipped case's stage planned, and its switching sequence replayed and solved."""
    import planner
    from planner.decide.planning import plan_stage
    from planner.dispatch.sequence import switching_sequence
    from planner.grid.context import StageContext

    case = planner.load_case(name)
    ctx = StageContext.build(case, case.stages[stage])
    _, check = plan_stage(ctx)
    return switching_sequence(ctx, check)


def _numbers(value, path=""):  # type: ignore[no-untyped-def]
    """Every leaf of a step's entry by key path."""
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        return {k: v for key, item in items for k, v in _numbers(item, f"{path}.{key}").items()}
    return {path: value}


def test_the_sequence_on_the_engine_matches_pandapower(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every step of the far-end sequence (trucks paralleled, an island formed and re-joined at a
    matched voltage) solved by the batched engine, models kept across steps, and by pandapower
    alone (the engine refused): the same steps, verdicts and numbers."""
    from planner.checks import step_state
    from planner.grid import powerflow
    from planner.grid.engine import Unsupported

    fast = _replayed(str(SAFETY / "far_end.toml"))

    def refused(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise Unsupported("forced for the test")

    monkeypatch.setattr(step_state, "BatchModel", refused)
    monkeypatch.setattr(powerflow, "BatchModel", refused)
    slow = _replayed(str(SAFETY / "far_end.toml"))
    assert [v.message for v in fast.violations] == [v.message for v in slow.violations]
    assert fast.interruptions == slow.interruptions
    assert len(fast.steps) == len(slow.steps) == 8
    for a, b in zip(fast.steps, slow.steps, strict=True):
        na, nb = _numbers(a), _numbers(b)
        assert na.keys() == nb.keys()
        for key, value in na.items():
            if isinstance(value, float):  # rounded: 4 decimals in pu, 1 in kW and percent
                assert value == pytest.approx(nb[key], abs=1e-4 if "pu" in key else 0.1), key
            else:
                assert value == nb[key], key


def test_a_phase_builds_one_model_per_topology(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Steps that only connect or disconnect trucks reuse the model of the step before, and the
    normal state is one model at every step's load, and the end phase (its network has the
    start's parameters) shares the start's: the far end's nine states, each at two loads, take
    three grid models, not eighteen plus one per normal state."""
    from planner.checks import step_state

    built: list[list[int]] = []
    real = step_state.BatchModel

    def counted(net, *args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(list(kwargs.get("pv_buses") or []))
        return real(net, *args, **kwargs)

    monkeypatch.setattr(step_state, "BatchModel", counted)
    result = _replayed(str(SAFETY / "far_end.toml"))
    assert all(step["holds"] for step in result.steps)
    # start phase: the grid with the trucks' bus 5 held (before and after each truck connects),
    # the normal state, the grid with the island cut off; the end phase's grid beside the island
    # and re-joined with the trucks paralleled until the last disconnects are the start's
    assert built == [[5], [], []]


def test_validate_replays_the_control_a_plan_names(far_end, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The far end's plan parallels its trucks at the fleet's setpoint. The same plan telling
    the crew "power_factor" is replayed in that control alone and fails (the trucks' output
    lifts the far end past 1.07 pu while they are paralleled); a control the planner does not
    know is an error of the plan file naming the key."""
    _, out = far_end
    plan = json.loads((out / "plan.json").read_text())
    steps = plan["stages"][0]["sequence"]
    assert {s.get("control") for s in steps if s["action"] == "connect_truck"} == {"setpoint"}
    for step in steps:
        if "control" in step:
            step["control"] = "power_factor"
    told = tmp_path / "power_factor.json"
    told.write_text(json.dumps(plan))
    result = cli("validate", SAFETY / "far_end.toml", told)
    assert result.exit_code == 1, result.output
    assert "step 3 (connect_truck T3)" in result.output and "above 1.07 pu" in result.output
    steps[0]["control"] = "droop"
    told.write_text(json.dumps(plan))
    result = cli("validate", SAFETY / "far_end.toml", told)
    assert result.exit_code == 2, result.output
    assert (
        "stages[0].sequence[0].control: expected one of setpoint, power_factor, voltage, got "
        "'droop'"
    ) in result.output


def test_alternative_orders_replay_only_the_phase_they_change(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Where the make-before-break order fails (a join that cannot be synchronised), the other
    orders of that phase are replayed; the phase they leave as it was is taken from the first
    replay, not solved again: the same steps, violations and interruptions as replaying every
    trial whole, in fewer phase replays."""
    import planner
    from planner.checks import replay as replay_module
    from planner.checks import step_state
    from planner.decide.planning import plan_stage
    from planner.dispatch import sequence
    from planner.grid.context import StageContext

    text = (SAFETY / "far_end.toml").read_text()
    text = text.replace("[fleet]", "[limits]\nvm_max_pu = 1.05\n\n[fleet]")
    text = text.replace("[[stages]]", "[switching]\nsync_max_dv_percent = 0.5\n\n[[stages]]")
    (tmp_path / "far_end.json").write_bytes((SAFETY / "far_end.json").read_bytes())
    (tmp_path / "tight.toml").write_text(text)
    case = planner.load_case(str(tmp_path / "tight.toml"))
    ctx = StageContext.build(case, case.stages[0])
    _, check = plan_stage(ctx)
    phases: list[str] = []
    real_phase, real_replay = replay_module._phase, replay_module.replay

    def counted(r, memo, *phase):  # type: ignore[no-untyped-def]
        if replay_module.phase_key(r, phase) not in memo.outcomes:
            phases.append(phase[-1])
        return real_phase(r, memo, *phase)

    built: list[int] = []
    real_model = step_state.BatchModel

    def model(*args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(1)
        return real_model(*args, **kwargs)

    monkeypatch.setattr(replay_module, "_phase", counted)
    monkeypatch.setattr(step_state, "BatchModel", model)
    shared = sequence.switching_sequence(ctx, check)
    solved_shared, built_shared = list(phases), len(built)
    phases.clear()
    built.clear()
    monkeypatch.setattr(sequence, "replay", lambda c, k, steps, memo=None: real_replay(c, k, steps))
    whole = sequence.switching_sequence(ctx, check)
    assert shared.steps == whole.steps
    assert [v.message for v in shared.violations] == [v.message for v in whole.violations]
    assert shared.interruptions == whole.interruptions
    assert [s["action"] for s in shared.steps][4:6] == ["shut_down_island", "put_back"]
    # the second end order is tried: whole, both phases again; shared, the end phase alone
    assert phases == ["start", "end", "start", "end"]
    assert solved_shared == ["start", "end", "end"]
    # and the second end order's topologies the first reached take the first's models, the
    # end phase the start's (the same parameters), the normal state's one model serves every
    # replay: 3 models built where replaying every order whole builds 6
    assert (built_shared, len(built)) == (3, 6)


def test_a_phase_failing_only_where_no_truck_is_paralleled_is_replayed_in_one_control(
    monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """The reference works with the voltage floor raised to 0.98 pu: the tie-fed grid breaks it
    after the trucks have left it. A phase whose every problem is at a step with no truck
    paralleled with the grid (before or after it) keeps its first control: another control
    solves those steps alike. The same steps, violations and interruptions as trying every
    control, in two replays of a phase fewer."""
    import planner
    from planner.checks import sequence as steps_module
    from planner.checks.paralleled import CONTROLS
    from planner.decide.planning import plan_stage
    from planner.dispatch.sequence import switching_sequence
    from planner.grid.context import StageContext

    root = DATA.parent.parent
    text = (root / "cases" / "dashiqiao.toml").read_text()
    text = text.replace("vm_min_pu = 0.93", "vm_min_pu = 0.98")
    text = text.replace(
        '"../networks/dashiqiao.json"', repr(str(root / "networks" / "dashiqiao.json"))
    )
    (tmp_path / "case.toml").write_text(text)
    case = planner.load_case(str(tmp_path / "case.toml"))
    ctx = StageContext.build(case, case.stages[1])
    _, check = plan_stage(ctx)
    assert not check.verification.passed
    tried: list[tuple[str, str]] = []
    real = steps_module.StepReplay.phase

    def counted(self, control, *phase):  # type: ignore[no-untyped-def]
        tried.append((phase[-1], control))
        return real(self, control, *phase)

    monkeypatch.setattr(steps_module.StepReplay, "phase", counted)
    kept = switching_sequence(ctx, check)
    kept_tried = list(tried)
    tried.clear()
    monkeypatch.setattr(steps_module, "on_grid", lambda state, trucks: True)
    every = switching_sequence(ctx, check)
    assert kept.steps == every.steps and kept.interruptions == every.interruptions
    assert [v.message for v in kept.violations] == [v.message for v in every.violations]
    assert len(kept.violations) == 12
    every_control = [(phase, c) for phase in ("start", "end") for c in CONTROLS]
    # the start order with ties first, then the other start order, then the end orders in turn
    # (a phase another order leaves as it was is not replayed again)
    assert tried == [*every_control, *every_control[:3], *every_control[3:], ("end", "setpoint")]
    # kept: the third order's end phase fails only where the trucks have left the grid
    assert kept_tried == [*every_control, *every_control[:3], *[("end", "setpoint")] * 2]
