"""The plan's risk under load uncertainty in words, the same in plan.md and the report."""

from __future__ import annotations

from typing import Any

__all__ = ["risk_text"]


def risk_text(summary: dict[str, Any]) -> str | None:
    """One line: how likely a limit breaks, how sure that figure is, and what breaks most
    often; None without `[loads] uncertainty_percent` in the case."""
    r = summary.get("risk")
    if not r:
        return None
    held = "held" if r["quantile_held"] else "NOT held"
    text = (
        f"a limit breaks in {r['probability'] * 100:.1f} % "
        f"(standard error {r['standard_error'] * 100:.1f} %) of {r['scenarios']:,} load "
        f"scenarios (forecast error {r['uncertainty_percent']:g} %, "
        f"{r['feeder_share'] * 100:g} % of its variance common to a feeder, seed {r['seed']}); "
        f"the {r['quantile']:g} quantile is {held}"
    )
    most = r.get("most_often")
    if most:
        text += (
            f"; most often: {most['kind']} at {most['element']} in stage {most['stage']!r} at "
            f"{most['time'][:16]} ({most['probability'] * 100:.1f} %)"
        )
    return text
