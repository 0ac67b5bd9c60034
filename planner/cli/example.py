"""`planner example`: write a shipped example case (and its network) to a directory."""

from __future__ import annotations
