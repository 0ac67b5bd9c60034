"""The planner as a library: a case built in memory from a pandapower network, planned,
validated, and the planned network of its stage solved with pandapower.

Run it with `python docs/example.py` (any working directory: it reads no files).
tests/test_library.py runs it and checks what it prints.
"""

from datetime import UTC, datetime

import pandapower as pp
import pandapower.networks as pn

import planner

# The IEEE 33-bus feeder; line 28 is rebuilt for twelve hours, cutting off the lateral 29-32.
net = pn.case33bw()

# The case as a dict shaped like the case TOML (`planner.case/1`), checked like a case file.
data = {
    "case": {"name": "IEEE 33-bus: lateral 28-32 on trucks", "network": "pandapower:case33bw"},
    "limits": {"vm_min_pu": 0.90},
    "fleet": {"trucks": 3, "rating_kw": 500.0},
    "connection_points": [{"bus": "bus:#30", "bays": 2}, {"bus": "bus:#32"}],
    "transfer": {"ties": "none"},
    "stages": [
        {
            "name": "Line 28 out",
            "start": datetime(2025, 7, 1, 8, tzinfo=UTC),
            "end": datetime(2025, 7, 1, 20, tzinfo=UTC),
            "out_of_service": ["line:#28"],
        }
    ],
}

# Bad input gets the same named errors as a case file.
try:
    planner.case_from_net(net, {**data, "fleet": {"trucks": -1}})
except planner.CaseError as error:
    for problem in error.problems:
        print(f"refused: {problem.key}: {problem.message}")

case = planner.case_from_net(net, data)
dispatch = planner.plan_dispatch(case)  # planner.plan_case(case) gives the Plan alone
plan = dispatch.plan
print(f"feasible: {plan.feasible}, trucks used: {plan.trucks_used} of {plan.trucks_available}")

report = planner.validate(case, plan)
print(f"validated: {'holds' if report.passed else 'does not hold'}")

islands = planner.islands(plan)
for row in islands.itertuples():
    print(f"island {row.island}: buses {row.buses}, supply {row.supply}, trucks {row.trucks}")

schedule = planner.schedule(plan)
peak = schedule.groupby("truck").p_kw.max()
print("truck peak kW:", ", ".join(f"{truck} {kw:.1f}" for truck, kw in peak.items()))
steps = planner.sequence(plan)
print(f"switching steps: {len(steps)}, first: {steps.action.iloc[0]} {steps.element.iloc[0]}")

# The stage's network as planned, at its design peak: line 28 out, trucks as generators.
stage_net = planner.planned_net(case, dispatch, "Line 28 out")
pp.runpp(stage_net, numba=False)  # numba=False: no notice when numba is absent
trucks = stage_net.gen[stage_net.gen.type == "truck"].index
print(f"line 28 in service: {bool(stage_net.line.in_service.at[28])}")
for index in trucks:
    name = stage_net.gen.name.at[index]
    print(f"{name} (slack) at bus {stage_net.gen.bus.at[index]}: ", end="")
    print(f"{stage_net.res_gen.p_mw.at[index] * 1000:.1f} kW")
sgens = stage_net.sgen[stage_net.sgen.type == "truck"].index
for index in sgens:
    name = stage_net.sgen.name.at[index]
    print(f"{name} at bus {stage_net.sgen.bus.at[index]}: ", end="")
    print(f"{stage_net.res_sgen.p_mw.at[index] * 1000:.1f} kW")
print(f"lowest voltage: {stage_net.res_bus.vm_pu.min():.4f} pu")
