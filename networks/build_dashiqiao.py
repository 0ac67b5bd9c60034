"""Build the Dashiqiao reference network (Qiao A/B 66 kV relocation) and write dashiqiao.json.

Run `python networks/build_dashiqiao.py` (or `make network`). Deterministic: the same code gives
the same file, and a test proves the committed JSON is what this script builds. Where each
number comes from is in networks/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandapower as pp

OUT = Path(__file__).resolve().parent / "dashiqiao.json"

# Conductor and cable data (per km, per phase), from Chinese standard tables (GB/T 1179 for
# LGJ steel-cored aluminium, GB/T 12706 for YJV22 XLPE cables); see networks/README.md.
LGJ_240 = {"r_ohm_per_km": 0.1181, "x_ohm_per_km": 0.392, "c_nf_per_km": 9.3, "max_i_ka": 0.61}
YJV22_300 = {"r_ohm_per_km": 0.0601, "x_ohm_per_km": 0.087, "c_nf_per_km": 370.0, "max_i_ka": 0.47}
YJV22_240 = {"r_ohm_per_km": 0.0754, "x_ohm_per_km": 0.090, "c_nf_per_km": 340.0, "max_i_ka": 0.42}
YJV22_120 = {"r_ohm_per_km": 0.153, "x_ohm_per_km": 0.095, "c_nf_per_km": 260.0, "max_i_ka": 0.28}

# Power factor per load category (typical 10 kV feeder values before compensation).
TAN_PHI = {"residential": 0.484, "commercial": 0.426, "critical": 0.540}  # pf 0.90, 0.92, 0.88
KW_PER_HOUSEHOLD = 1.8  # after-diversity peak per household at 10 kV level (assumption)

# 10 kV feeders of Qiaonan substation: (name, section, [(rmu, km from previous, loads, bays)]),
# loads as (name, category, peak MW at profile 1.0).
QIAONAN_FEEDERS = [
    ("F1 Yumin I", 1, [
        ("RMU Y1-1", 0.62, [("Yumin I estate A", "residential", 0.95)], 2),
        ("RMU Y1-2", 0.45, [("Yumin I estate B", "residential", 0.78)], 0),
        ("RMU Y1-3", 0.38, [("Heping Road flats", "residential", 0.74)], 1),
        ("RMU Y1-4", 0.51, [("Yumin I estate C", "residential", 0.70),
                            ("Heating pump station", "critical", 0.18)], 1),
        ("RMU Y1-5", 0.44, [("Dongsheng flats", "residential", 0.66)], 0),
        ("RMU Y1-6", 0.36, [("Xinhua Street flats", "residential", 0.72)], 1),
        ("RMU Y1-7", 0.42, [("Yumin I estate D", "residential", 0.64)], 1),
    ]),
    ("F2 Yumin II", 2, [
        ("RMU Y2-1", 0.55, [("Yumin II estate A", "residential", 1.06)], 1),
        ("RMU Y2-2", 0.40, [("Dashiqiao Central Hospital", "critical", 0.62)], 1),
        ("RMU Y2-3", 0.47, [("Yumin II estate B", "residential", 1.00)], 2),
        ("RMU Y2-4", 0.35, [("Jianshe Road flats", "residential", 0.76)], 0),
        ("RMU Y2-5", 0.50, [("Yumin II estate C", "residential", 0.88)], 1),
        ("RMU Y2-6", 0.43, [("Qiaobei flats", "residential", 0.82)], 1),
    ]),
    ("F3 Qiaonan Commercial", 1, [
        ("RMU C-1", 0.70, [("Qiaonan market", "commercial", 1.20)], 0),
        ("RMU C-2", 0.48, [("Jinqiao shopping centre", "commercial", 1.25)], 0),
        ("RMU C-3", 0.52, [("Office park", "commercial", 0.95)], 0),
    ]),
    ("F4 Xincheng", 2, [
        ("RMU X-1", 0.66, [("Xincheng flats A", "residential", 0.95)], 1),
        ("RMU X-2", 0.58, [("Dashiqiao water plant", "critical", 0.80)], 0),
        ("RMU X-3", 0.49, [("Xincheng flats B", "residential", 0.90)], 1),
        ("RMU X-4", 0.41, [("Xincheng school", "commercial", 0.75)], 0),
    ]),
]  # fmt: skip

# Yumin 66/10 kV substation: its own feeders ending at the normally-open ties.
YUMIN_FEEDERS = [
    ("F5 Yumin South", "F3 Qiaonan Commercial", [
        ("RMU S-1", 0.80, [("Yumin South blocks", "residential", 1.30)], 0),
        ("RMU S-2", 0.65, [("Logistics yard", "commercial", 0.90)], 0),
    ]),
    ("F6 Yumin East", "F4 Xincheng", [
        ("RMU E-1", 0.75, [("Yumin East blocks", "residential", 1.20)], 0),
        ("RMU E-2", 0.60, [("Bus depot", "commercial", 0.60)], 0),
    ]),
]  # fmt: skip
YUMIN_LUMPED = [("Yumin other feeders", "residential", 6.5), ("Yumin industry", "commercial", 4.0)]


def _bus(
    net: pp.pandapowerNet,
    name: str,
    vn_kv: float,
    xy: tuple[float, float],
    rmu: bool = False,
    bays: int = 0,
) -> int:
    index = pp.create_bus(net, vn_kv=vn_kv, name=name, geodata=xy, type="b" if vn_kv < 60 else "n")
    net.bus.at[index, "rmu"] = rmu
    net.bus.at[index, "rmu_bays"] = bays
    return index


def _load(net: pp.pandapowerNet, bus: int, name: str, category: str, p_mw: float) -> None:
    households = round(p_mw * 1000 / KW_PER_HOUSEHOLD) if category == "residential" else 0
    index = pp.create_load(
        net,
        bus,
        p_mw=p_mw,
        q_mvar=round(p_mw * TAN_PHI[category], 4),
        name=name,
        sn_mva=round(p_mw / 0.9 * 1.6, 2),
    )
    net.load.at[index, "category"] = category
    net.load.at[index, "households"] = households


def _feeder(
    net: pp.pandapowerNet,
    name: str,
    start_bus: int,
    rmus: list,
    origin: tuple[float, float],
    step: tuple[float, float],
) -> int:  # type: ignore[type-arg]
    """A cable feeder from `start_bus` through its RMUs; returns the last RMU's bus."""
    previous = start_bus
    x, y = origin
    for k, (rmu, km, loads, bays) in enumerate(rmus):
        x, y = x + step[0], y + step[1]
        bus = _bus(net, rmu, 10.0, (x, y), rmu=True, bays=bays)
        line = pp.create_line_from_parameters(
            net,
            previous,
            bus,
            km,
            name=f"{name} cable {k + 1}",
            **(YJV22_300 if k < 3 else YJV22_240),
        )
        # load-break switches of the RMUs at both cable ends (feeder breaker on the first cable)
        pp.create_switch(
            net,
            previous,
            line,
            et="l",
            closed=True,
            type="CB" if k == 0 else "LBS",
            name=f"{name} breaker" if k == 0 else f"{name} {rmus[k - 1][0]} out",
        )
        pp.create_switch(net, bus, line, et="l", closed=True, type="LBS", name=f"{name} {rmu} in")
        for load_name, category, p_mw in loads:
            _load(net, bus, load_name, category, p_mw)
        previous = bus
    return previous


def build() -> pp.pandapowerNet:
    net = pp.create_empty_network(name="Dashiqiao Qiao A/B 66 kV relocation", f_hz=50.0)
    grid = _bus(net, "Yingkou 220 kV", 220.0, (0.0, 0.0))
    pp.create_ext_grid(
        net, grid, vm_pu=1.0, name="Yingkou 220 kV grid", s_sc_max_mva=8000.0, rx_max=0.1
    )
    hv66 = _bus(net, "Dashiqiao 66 kV", 66.0, (2.0, 0.0))
    pp.create_transformer_from_parameters(
        net,
        grid,
        hv66,
        sn_mva=180.0,
        vn_hv_kv=220.0,
        vn_lv_kv=66.0,
        vk_percent=14.0,
        vkr_percent=0.30,
        pfe_kw=110.0,
        i0_percent=0.08,
        name="Dashiqiao 220/66 kV T1",
    )
    qiaonan66 = _bus(net, "Qiaonan 66 kV", 66.0, (7.0, 0.0))
    for circuit in ("Qiao A", "Qiao B"):
        pp.create_line_from_parameters(net, hv66, qiaonan66, 5.056, name=circuit, **LGJ_240)
    sections = {}
    for k in (1, 2):
        lv = _bus(
            net, f"Qiaonan 10 kV section {'I' if k == 1 else 'II'}", 10.0, (8.0, 2.0 - 4 * (k - 1))
        )
        trafo = pp.create_transformer_from_parameters(
            net,
            qiaonan66,
            lv,
            sn_mva=20.0,
            vn_hv_kv=66.0,
            vn_lv_kv=10.5,
            vk_percent=9.0,
            vkr_percent=0.55,
            pfe_kw=18.0,
            i0_percent=0.25,
            name=f"Qiaonan T{k} 20 MVA",
        )
        pp.create_switch(
            net, lv, trafo, et="t", closed=True, type="CB", name=f"Qiaonan T{k} 10 kV incomer"
        )
        sections[k] = lv
    pp.create_switch(
        net,
        sections[1],
        sections[2],
        et="b",
        closed=False,
        type="CB",
        name="Qiaonan 10 kV bus coupler",
    )
    ends = {}
    directions = {
        "F1 Yumin I": (1.0, 0.6),
        "F2 Yumin II": (1.0, -0.6),
        "F3 Qiaonan Commercial": (0.9, 1.4),
        "F4 Xincheng": (0.9, -1.4),
    }
    for name, section, rmus in QIAONAN_FEEDERS:
        origin = (8.0, 2.0 - 4 * (section - 1))
        ends[name] = _feeder(net, name, sections[section], rmus, origin, directions[name])

    yumin66 = _bus(net, "Yumin 66 kV", 66.0, (3.0, 9.0))
    pp.create_line_from_parameters(net, hv66, yumin66, 7.8, name="Yu line", **LGJ_240)
    yumin10 = _bus(net, "Yumin 10 kV", 10.0, (5.0, 9.0))
    trafo = pp.create_transformer_from_parameters(
        net,
        yumin66,
        yumin10,
        sn_mva=31.5,
        vn_hv_kv=66.0,
        vn_lv_kv=10.5,
        vk_percent=10.5,
        vkr_percent=0.50,
        pfe_kw=25.0,
        i0_percent=0.22,
        name="Yumin T1 31.5 MVA",
    )
    pp.create_switch(
        net, yumin10, trafo, et="t", closed=True, type="CB", name="Yumin T1 10 kV incomer"
    )
    for load_name, category, p_mw in YUMIN_LUMPED:
        _load(net, yumin10, load_name, category, p_mw)
    for k, (name, partner, rmus) in enumerate(YUMIN_FEEDERS):
        last = _feeder(net, name, yumin10, rmus, (5.0, 9.0), (1.5 + k, -0.8 - 1.6 * k))
        tie = pp.create_line_from_parameters(
            net,
            last,
            ends[partner],
            1.1 + 0.4 * k,
            name=f"Tie cable {name} - {partner}",
            **YJV22_120,
        )
        pp.create_switch(net, last, tie, et="l", closed=True, type="LBS", name=f"{name} tie end")
        pp.create_switch(
            net,
            ends[partner],
            tie,
            et="l",
            closed=False,
            type="LBS",
            name=f"Tie {partner.split()[0]}-{name.split()[0]}",
        )
    net.bus["rmu"] = net.bus["rmu"].astype(bool)
    net.bus["rmu_bays"] = net.bus["rmu_bays"].astype(int)
    net.load["households"] = net.load["households"].astype(int)
    return net


def main() -> int:
    net = build()
    pp.to_json(net, str(OUT))
    print(f"wrote {OUT}: {len(net.bus)} buses, {len(net.line)} lines, {len(net.load)} loads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
