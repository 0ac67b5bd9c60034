"""`planner programme`: plan a region's works together with one shared fleet."""

from __future__ import annotations
