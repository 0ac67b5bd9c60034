"""`planner windows`: plan variants of a stage (daily windows, start shifts) and compare them."""

from __future__ import annotations
