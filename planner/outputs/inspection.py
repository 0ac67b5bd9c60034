"""`planner inspect` as text: per stage what the works cut off, and where trucks could connect.

Lines are returned unescaped; the command prints each through `core.text.for_terminal`.
"""

from __future__ import annotations

import json

from planner.decide.affected import AffectedIsland, StageArea
from planner.decide.candidates import Basis

__all__ = ["SHOWN", "inspection_lines"]

SHOWN = 8  # candidates listed per island in the text (`--json` lists all)

_BASIS = {
    Basis.CASE: "the case's connection points (or the network's RMU marks)",
    Basis.SWITCHGEAR: "buses with switchgear; no RMU marks, so 1 bay is assumed: check on site",
    Basis.BUS: "any bus of the island's voltage level (no switchgear in it); 1 bay assumed",
}


def inspection_lines(areas: list[StageArea]) -> list[str]:
    """Every stage's islands, their ties, bays and truck bound, and their candidate points."""
    out: list[str] = []
    for area in areas:
        out.append(
            f"stage {area.name!r} ({area.start} to {area.end}): {len(area.islands)} "
            f"island(s) cut off, lower bound {area.lower_bound_trucks} truck(s) "
            "without transfer"
        )
        if not area.islands:
            continue
        out.append(
            f"  {'island':<7}{'buses':>6}{'loads':>6}{'househ.':>8}{'peak kW':>10}"
            f"{'peak kvar':>10}{'prot. kW':>10}{'trucks':>7}  points / ties"
        )
        for i in area.islands:
            points = ", ".join(f"{b} x{n}" for b, n in i.connection_points) or "none"
            out.append(
                f"  {i.id:<7}{len(i.buses):>6}{len(i.loads):>6}{i.households:>8}"
                f"{i.design_peak_kw:>10,.0f}{i.design_peak_kvar:>10,.0f}"
                f"{i.protected_kw:>10,.0f}{i.lower_bound_trucks:>7}  points: {points}"
            )
            out.append(f"  {'':<53}ties: {', '.join(i.ties) or 'none'}")
            out.append(f"  {'':<53}sectionalisers: {len(i.sectionalisers)}")
        for i in area.islands:
            out += _candidate_lines(i)
            out += _lv_lines(i)
    return out


def _lv_lines(island: AffectedIsland) -> list[str]:
    """The transformers of the island an LV truck could take over (fleets with LV trucks)."""
    if not island.lv_points:
        return []
    out = [f"  LV points of {island.id} (one LV truck per transformer, its LV side opened):"]
    out.append(f"    {'bus':<24}{'protected kW':>13}  transformer")
    for bus, trafo, kw in island.lv_points:
        out.append(f"    {bus:<24}{kw:>13,.0f}  {trafo}")
    return out


def _candidate_lines(island: AffectedIsland) -> list[str]:
    cands = island.candidates
    if not cands:
        return []
    out = [
        f"  candidate connection points of {island.id}: {_BASIS[cands[0].basis]}",
        f"    {'bus':<24}{'bays':>5}{'downstream kW':>15}{'to load centre':>16}  planner",
    ]
    for c in cands[:SHOWN]:
        use = f"{c.use} truck{'s' if c.use != 1 else ''}" if c.use else "-"
        out.append(
            f"    {c.bus:<24}{c.bays:>5}{c.downstream_kw:>15,.0f}{c.distance_ohm:>12.3f} ohm  {use}"
        )
    if len(cands) > SHOWN:
        out.append(f"    ... and {len(cands) - SHOWN} more (`--json` lists them all)")
    used = [c for c in cands if c.use]
    if island.protected_kw > 0 and not used:
        out.append(
            f"    no placement of {island.lower_bound_trucks} truck(s) fits these bays and "
            "the fleet"
        )
    if used and cands[0].basis is not Basis.CASE:
        out.append("    to use the planner's choice, add to the case:")
        for c in used:  # a JSON string (ASCII, escaped) is a TOML basic string
            out += ["      [[connection_points]]", f"      bus = {json.dumps(c.bus)}"]
            out.append(f"      bays = {c.bays}")
    return out
