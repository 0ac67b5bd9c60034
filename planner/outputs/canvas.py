"""From layout coordinates to SVG pixels: scale, buses set apart, curved and measured paths."""

from __future__ import annotations

import itertools
import math

import numpy as np

from planner.outputs.layout import Layout

__all__ = ["Canvas", "Point", "along", "curve", "polyline_points", "spread"]

Point = tuple[float, float]


class Canvas:
    """Abstract layout coordinates to SVG pixels, and the canvas size that keeps names legible."""

    def __init__(self, lay: Layout) -> None:
        points = list(lay.xy.values()) or [(0.0, 0.0)]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        self.pad = 40.0
        self.x0, self.y1 = min(xs), max(ys)
        dx, dy = (max(xs) - self.x0), (self.y1 - min(ys))
        if lay.geographic:
            degrees = all(abs(x) <= 180 for x in xs) and all(abs(y) <= 90 for y in ys)
            self.kx = math.cos(math.radians((self.y1 + min(ys)) / 2)) if degrees else 1.0
            span = max(dx * self.kx, dy, 1e-9)
            gap = _typical_gap([(x * self.kx, y) for x, y in points])
            fit = 900.0 / span
            self.sx = self.sy = min(max(fit, 22.0 / gap if gap > 0 else fit), 2300.0 / span)
            self.width = 2 * self.pad + max(dx * self.kx * self.sx, 200.0)
            self.height = 2 * self.pad + max(dy * self.sy, 200.0) + 30
        else:
            self.kx, self.sx, self.sy = 1.0, 130.0, 18.0
            self.width = 2 * self.pad + dx * self.sx + 220
            self.height = 2 * self.pad + dy * self.sy + 40
        self.width, self.height = max(self.width, 980.0), max(self.height, 300.0)

    def __call__(self, p: Point) -> Point:
        return (
            self.pad + (p[0] - self.x0) * self.kx * self.sx,
            self.pad + (self.y1 - p[1]) * self.sy,
        )


def _typical_gap(points: list[Point]) -> float:
    """The median distance from a point to its nearest other point (0 for fewer than two)."""
    unique = np.unique(np.array(points, dtype=float).reshape(-1, 2), axis=0)
    if len(unique) < 2:
        return 0.0
    nearest = []
    for start in range(0, len(unique), 500):
        block = unique[start : start + 500]
        d = np.sqrt(((block[:, None, :] - unique[None, :, :]) ** 2).sum(axis=2))
        d[d == 0] = np.inf
        nearest.append(d.min(axis=1))
    return float(np.median(np.concatenate(nearest)))


def spread(points: dict[int, Point]) -> dict[int, Point]:
    """Buses drawn on one spot (shared geodata) set apart on a small circle round it."""
    spots: dict[tuple[int, int], list[int]] = {}
    for bus, (x, y) in points.items():
        spots.setdefault((round(x / 4), round(y / 4)), []).append(bus)
    out = dict(points)
    for buses in spots.values():
        if len(buses) > 1:
            r = 6.0 + 2.0 * len(buses)
            for k, bus in enumerate(buses):
                x, y = points[bus]
                angle = 2 * math.pi * k / len(buses)
                out[bus] = (x + r * math.cos(angle), y + r * math.sin(angle))
    return out


def curve(a: Point, b: Point, bow: float) -> list[Point]:
    """A quadratic curve from a to b, its middle `bow` pixels off the straight line."""
    (x1, y1), (x2, y2) = a, b
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    cx = (x1 + x2) / 2 - (y2 - y1) / length * bow * 2
    cy = (y1 + y2) / 2 + (x2 - x1) / length * bow * 2
    return [
        (
            (1 - t) ** 2 * x1 + 2 * (1 - t) * t * cx + t * t * x2,
            (1 - t) ** 2 * y1 + 2 * (1 - t) * t * cy + t * t * y2,
        )
        for t in (k / 8 for k in range(9))
    ]


def along(path: list[Point], fraction: float) -> Point:
    """The point at `fraction` of the path's length."""
    steps = list(itertools.pairwise(path))
    total = sum(math.dist(p, q) for p, q in steps) or 1.0
    goal = total * fraction
    for p, q in steps:
        d = math.dist(p, q)
        if goal <= d and d > 0:
            return (p[0] + (q[0] - p[0]) * goal / d, p[1] + (q[1] - p[1]) * goal / d)
        goal -= d
    return path[-1]


def polyline_points(path: list[Point]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in path)
