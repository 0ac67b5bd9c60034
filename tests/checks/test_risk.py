"""Load uncertainty (#18 item 3): the keys, the scenarios, the quantile sizing, and the plan's
reported risk against an independent Monte-Carlo re-check with pandapower alone."""

from __future__ import annotations

import copy
import json
import math
from statistics import NormalDist

import numpy as np
import pandapower as pp
import pandas as pd
import pytest
from pandapower.toolbox import select_subnet

import planner
from planner.checks.risk import check_risk, stage_risk
from planner.checks.validation import validate
from planner.core.errors import CaseError
from planner.core.text import for_html, for_markdown
from planner.dispatch.pipeline import plan_dispatch
from planner.grid.engine import BatchModel
from planner.grid.state import copy_net
from planner.inputs.case import Loads
from planner.inputs.uncertainty import design_factors, feeders, scenario_factors
from planner.outputs.reports import crew_orders, html_report
from tests.conftest import CASES

TRUCKS_CASE = CASES / "case33bw_trucks.toml"
SIGMA, RHO, QUANTILE = 0.20, 0.5, 0.6
UNCERTAIN = (
    f"[loads]\nmargin = 0.0\nuncertainty_percent = {SIGMA * 100:g}\nquantile = {QUANTILE:g}\n"
    "scenarios = 1000\nseed = 7\n\n"
)
CHECKS = 200  # scenarios the independent re-check solves with pandapower
SAME_DRAWS = 60  # of the planner's own scenarios, re-solved with pandapower one by one


def _case_file(tmp_path, loads: str):  # type: ignore[no-untyped-def]
    """case33bw_trucks.toml with a `[loads]` table."""
    text = TRUCKS_CASE.read_text().replace("[transfer]", loads + "[transfer]")
    path = tmp_path / "case.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def uncertain(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The 33-bus lateral on trucks, planned with a 20 % forecast error and no margin."""
    case = planner.load_case(_case_file(tmp_path_factory.mktemp("risk"), UNCERTAIN))
    dispatch = plan_dispatch(case)
    return case, dispatch, json.loads(dispatch.plan.to_json())


@pytest.mark.parametrize(
    ("line", "key", "message"),
    [
        ("uncertainty_percent = 60", "uncertainty_percent", "must be in [0, 50], got 60"),
        ("uncertainty_percent = -1.5", "uncertainty_percent", "must be in [0, 50], got -1.5"),
        ("uncertainty_percent = nan", "uncertainty_percent", "expected a finite number, got nan"),
        ('uncertainty_percent = "10"', "uncertainty_percent", "expected a number, got str '10'"),
        ("quantile = 0.5", "quantile", "must be in (0.5, 0.999], got 0.5"),
        ("quantile = 1", "quantile", "must be in (0.5, 0.999], got 1"),
        ("seed = -1", "seed", "must be in [0, 4294967295], got -1"),
        ("seed = 1.5", "seed", "expected a whole number, got float 1.5"),
        ("scenarios = 5", "scenarios", "must be in [10, 100000], got 5"),
        ("scenarios = true", "scenarios", "expected a whole number, got boolean True"),
        ("feeder_share = 1.5", "feeder_share", "must be in [0, 1], got 1.5"),
        (
            "uncertainty = 10",
            "uncertainty",
            "unknown key (allowed: feeder_share, margin, profile, protected, quantile, scaling, "
            "scenarios, seed, uncertainty_percent); did you mean 'uncertainty_percent'?",
        ),
    ],
)
def test_bad_uncertainty_keys_are_named(tmp_path, line: str, key: str, message: str) -> None:
    path = _case_file(tmp_path, f"[loads]\n{line}\n\n")
    with pytest.raises(CaseError) as info:
        planner.load_case(path)
    assert [(p.file, p.key, p.message) for p in info.value.problems] == [
        (str(path), f"loads.{key}", message)
    ]


def test_keys_are_read_with_their_defaults(tmp_path) -> None:
    plain = planner.load_case(TRUCKS_CASE).loads
    assert (plain.uncertainty_percent, plain.quantile, plain.seed, plain.scenarios) == (
        0.0,
        0.9,
        1,
        1000,
    )
    assert plain.feeder_share == 0.5
    text = "[loads]\nuncertainty_percent = 12\nquantile = 0.95\nseed = 3\nscenarios = 50\n"
    loads = planner.load_case(_case_file(tmp_path, text + "feeder_share = 0.25\n\n")).loads
    assert (loads.uncertainty_percent, loads.quantile, loads.seed, loads.scenarios) == (
        12.0,
        0.95,
        3,
        50,
    )
    assert loads.feeder_share == 0.25


def test_without_uncertainty_the_design_load_and_plan_are_as_before(planned) -> None:
    case, plan = planned("case33bw_trucks")
    net = case.network.net
    assert (design_factors(case, net) == 1.0 + case.loads.margin).all()
    assert "risk" not in plan.summary


def test_feeders_are_what_a_source_busbar_feeds() -> None:
    net = planner.load_case(TRUCKS_CASE).network.net
    assert feeders(net).tolist() == [0] * len(net.load)  # one radial feeder from bus 0
    two = copy.deepcopy(net)
    pp.create_transformer(two, 0, 5, "0.4 MVA 20/0.4 kV")  # bus 5 becomes a source busbar
    # each line out of a source busbar starts a feeder: 1-4 with the laterals 18-24 from bus
    # 1 and 2, then from bus 5 the main line 6-17 and the lateral 25-32; bus 5's own load
    # is a group of its own
    want = {**dict.fromkeys([*range(1, 5), *range(18, 25)], 0), **dict.fromkeys(range(6, 18), 1)}
    want |= {**dict.fromkeys(range(25, 33), 2), 5: 3}
    assert feeders(two).tolist() == [want[b] for b in two.load.bus]


def test_scenarios_are_seeded_and_correlated_within_a_feeder() -> None:
    loads = Loads(frozenset(), uncertainty_percent=10.0, seed=5, scenarios=40_000)
    feeder_of = np.array([0, 0, 1, 1])
    draws = scenario_factors(loads, feeder_of, stream=0)
    assert draws.shape == (40_000, 4)
    assert np.array_equal(draws, scenario_factors(loads, feeder_of, stream=0))
    assert not np.array_equal(draws, scenario_factors(loads, feeder_of, stream=1))
    error = draws - 1.0
    assert error.std(axis=0) == pytest.approx([0.1] * 4, rel=0.02)
    corr = np.corrcoef(error.T)
    assert corr[0, 1] == pytest.approx(0.5, abs=0.02)  # the feeder's share of the variance
    assert corr[2, 3] == pytest.approx(0.5, abs=0.02)
    assert corr[0, 2] == pytest.approx(0.0, abs=0.02)  # different feeders: independent


def test_engine_matches_runpp_on_scenarios() -> None:
    case = planner.load_case(TRUCKS_CASE)
    net = copy.deepcopy(case.network.net)
    loads = Loads(frozenset(), uncertainty_percent=20.0, scenarios=10)
    draws = scenario_factors(loads, feeders(net), stream=0)[:4]
    p = net.load.p_mw.to_numpy() * draws
    q = net.load.q_mvar.to_numpy() * draws
    model = BatchModel(copy_net(net))
    res = model.solve(p, q)
    assert res.converged.all()
    for k in range(len(draws)):
        ref = copy.deepcopy(net)
        ref.load["p_mw"], ref.load["q_mvar"] = p[k], q[k]
        pp.runpp(ref, numba=False)
        vm = ref.res_bus.vm_pu.loc[model.bus_ids].to_numpy()
        assert np.abs(res.vm_pu[k] - vm).max() < 1e-6
        line = ref.res_line.loading_percent.loc[model.lines].to_numpy()
        assert np.abs(res.line_loading_percent[k] - line).max() < 1e-4


def test_quantile_sizing_uplifts_every_load_and_holds(uncertain) -> None:
    case, _, plan = uncertain
    net = case.network.net
    uplift = 1.0 + NormalDist().inv_cdf(QUANTILE) * SIGMA  # each load at its own quantile
    risk = plan["summary"]["risk"]
    assert risk["stages"][0]["design_factor_max"] == round(uplift, 4)
    [stage] = plan["stages"]
    [island] = [i for i in stage["islands"] if i["supply"] == "trucks"]
    forecast_kw = net.load.p_mw.loc[island["loads"]].sum() * 1000.0
    assert island["design_peak_kw"] == round(forecast_kw * uplift, 1)
    assert risk["quantile_held"] is True
    assert 1.0 - risk["probability"] >= QUANTILE
    assert {k: risk[k] for k in ("scenarios", "seed", "quantile", "uncertainty_percent")} == {
        "scenarios": 1000,
        "seed": 7,
        "quantile": 0.6,
        "uncertainty_percent": 20.0,
    }
    assert risk["standard_error"] == round(
        math.sqrt(risk["probability"] * (1 - risk["probability"]) / 1000), 4
    )


def _island(net, island: list[int], trucks: list[int], case):  # type: ignore[no-untyped-def]
    """The island fed by its trucks alone: the first truck holds the voltage (the slack), the
    others are generators given their share."""
    sub = select_subnet(net, island)
    sub.ext_grid.drop(sub.ext_grid.index, inplace=True)
    pp.create_ext_grid(sub, trucks[0], vm_pu=case.fleet.vm_setpoint_pu)
    for bus in trucks[1:]:
        pp.create_sgen(sub, bus, p_mw=0.0, q_mvar=0.0)
    return sub


def _island_breaks(sub, trucks: list[int], case) -> bool:  # type: ignore[no-untyped-def]
    """The trucks share P and Q equally (equal ratings): any beyond its kW or kVA rating, or a
    bus outside the voltage band, breaks the island."""
    share_p = share_q = 0.0
    for _ in range(2):  # the slack's output shared (the losses it moves are a few kW)
        sub.sgen["p_mw"], sub.sgen["q_mvar"] = share_p, share_q
        pp.runpp(
            sub, numba=False, init="results" if "res_bus" in sub and len(sub.res_bus) else "auto"
        )
        share_p = (float(sub.res_ext_grid.p_mw.sum()) + share_p * len(sub.sgen)) / len(trucks)
        share_q = (float(sub.res_ext_grid.q_mvar.sum()) + share_q * len(sub.sgen)) / len(trucks)
    fleet = case.fleet
    loading = max(
        share_p * 1000 / fleet.rating_kw, math.hypot(share_p, share_q) * 1000 / fleet.rating_kva
    )
    vm = sub.res_bus.vm_pu
    return bool(
        loading > 1.0 + 1e-6
        or (vm < case.limits.vm_min_pu - 1e-6).any()
        or (vm > case.limits.vm_max_pu + 1e-6).any()
    )


def _grid_breaks(grid, case) -> bool:  # type: ignore[no-untyped-def]
    pp.runpp(grid, numba=False, init="results" if len(grid.res_bus) else "auto")
    vm = grid.res_bus.vm_pu.dropna()
    lines = grid.res_line.loading_percent.dropna()
    return bool(
        (vm < case.limits.vm_min_pu - 1e-6).any()
        or (vm > case.limits.vm_max_pu + 1e-6).any()
        or (lines > case.limits.max_line_loading_percent + 1e-6).any()
    )


def test_probability_agrees_with_an_independent_monte_carlo(uncertain) -> None:
    """Scenarios drawn here from the stated model (own generator and seed), each solved with
    pandapower's runpp alone: the share that breaks a limit agrees with the plan's within
    3 standard errors."""
    case, dispatch, plan = uncertain
    [stage] = plan["stages"]
    trucks = [t["bus"] for t in stage["trucks"]]
    [check] = dispatch.checks
    assert all(len(h.online) == len(trucks) for h in check.hours)  # both run at every hour
    [island_plan] = [i for i in stage["islands"] if i["supply"] == "trucks"]
    island = island_plan["buses"]
    assert sorted(trucks) == [30, 32]
    net = copy.deepcopy(case.network.net)
    net.line.loc[28, "in_service"] = False  # the works
    sub = _island(net, island, trucks, case)
    grid = copy.deepcopy(net)
    grid.bus.loc[island, "in_service"] = False
    forecast_p, forecast_q = net.load.p_mw, net.load.q_mvar
    rng = np.random.default_rng(20251)
    broken = 0
    for _ in range(CHECKS):  # one feeder: one common factor, and each load's own
        e = math.sqrt(RHO) * rng.standard_normal() + math.sqrt(1 - RHO) * rng.standard_normal(
            len(forecast_p)
        )
        factor = pd.Series(np.maximum(1.0 + SIGMA * e, 0.0), index=net.load.index)
        for part in (grid, sub):
            part.load["p_mw"] = (forecast_p * factor).loc[part.load.index]
            part.load["q_mvar"] = (forecast_q * factor).loc[part.load.index]
        broken += _grid_breaks(grid, case) or _island_breaks(sub, trucks, case)
    mine = broken / CHECKS
    theirs = plan["summary"]["risk"]["probability"]
    se = math.sqrt(mine * (1 - mine) / CHECKS + theirs * (1 - theirs) / 1000)
    assert 0.01 < theirs < 0.2  # a test that can tell: some scenarios break, most do not
    assert abs(mine - theirs) <= 3 * max(se, 1e-3), (mine, theirs, se)


def test_validate_recomputes_the_risk(uncertain) -> None:
    case, dispatch, plan = uncertain
    report = validate(case, plan)
    assert not [v for v in report.plan_violations if v.kind == "risk"]
    tampered = copy.deepcopy(plan)
    said = plan["summary"]["risk"]["probability"]
    tampered["summary"]["risk"]["probability"] = 0.0
    contexts = list(zip(dispatch.contexts, dispatch.checks, strict=True))
    [v] = check_risk(case, tampered["summary"]["risk"], contexts)
    assert (v.kind, v.element) == ("risk", "summary.risk")
    assert v.message == (
        "summary.risk disagrees with its re-computation (same seed): probability says 0.0, "
        f"re-computed {said!r}"
    )
    [v] = check_risk(case, None, contexts)
    assert v.message == f"summary.risk is None; re-computed: probability {said}"


def test_plan_md_and_the_report_show_the_risk(uncertain) -> None:
    case, dispatch, _ = uncertain
    line = (
        "a limit breaks in 7.3 % (standard error 0.8 %) of 1,000 load scenarios (forecast error "
        "20 %, 50 % of its variance common to a feeder, seed 7); the 0.6 quantile is held; most "
        "often: unserved at island I1 in stage 'Line 28 out' at 2025-07-01T08:00 (7.3 %)"
    )
    orders = crew_orders(case, dispatch).splitlines()
    assert [x for x in orders if x.startswith("- Risk:")] == [f"- Risk: {for_markdown(line)}"]
    assert (
        "- design load: profile flat, scaling 1, margin 0 %; forecast error 20 % (one standard "
        "deviation), each load sized to its own 0.6 quantile where that is above the margin (so "
        "every island's total is at least at its quantile)"
    ) in orders
    assert f"<p>Risk: {for_html(line)}</p>" in html_report(case, dispatch)


def test_a_bad_key_stops_check_with_exit_2(tmp_path, cli) -> None:
    path = _case_file(tmp_path, "[loads]\nquantile = 0.4\n\n")
    result = cli("check", path)
    assert result.exit_code == 2
    assert f"{path}: loads.quantile: must be in (0.5, 0.999], got 0.4" in result.output
    assert "Traceback" not in result.output


def test_each_scenario_breaks_as_pandapower_says(uncertain) -> None:
    """On the planner's own draws, scenario by scenario: the verdict of `stage_risk` (engine)
    is the verdict of pandapower's runpp (the grid part and the island with its trucks)."""
    case, dispatch, plan = uncertain
    [stage] = plan["stages"]
    trucks = [t["bus"] for t in stage["trucks"]]
    [island] = [i["buses"] for i in stage["islands"] if i["supply"] == "trucks"]
    risk = stage_risk(dispatch.contexts[0], dispatch.checks[0], stream=0)
    assert risk.broken.mean() == plan["summary"]["risk"]["probability"]
    net = copy.deepcopy(case.network.net)
    net.line.loc[28, "in_service"] = False
    sub = _island(net, island, trucks, case)
    grid = copy.deepcopy(net)
    grid.bus.loc[island, "in_service"] = False
    draws = scenario_factors(case.loads, feeders(case.network.net), stream=0)  # before works
    verdicts = []
    for s in range(SAME_DRAWS):
        factor = pd.Series(draws[s], index=net.load.index)
        for part in (grid, sub):
            part.load["p_mw"] = (net.load.p_mw * factor).loc[part.load.index]
            part.load["q_mvar"] = (net.load.q_mvar * factor).loc[part.load.index]
        verdicts.append(_grid_breaks(grid, case) or _island_breaks(sub, trucks, case))
    assert verdicts == risk.broken[:SAME_DRAWS].tolist()
    assert any(verdicts) and not all(verdicts)
