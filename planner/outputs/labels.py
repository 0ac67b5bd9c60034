"""Placing text labels on a drawing without overlap: the must-show first, the rest where free.

A label is tried at a few positions around its anchor; it takes the first that overlaps no
label placed before it. A label that must show (works, ties, truck connection points,
trucks) is placed even where every position overlaps; any other label is left out then (its
name stays in the element's hover title).
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.core.text import for_html as escape

__all__ = ["CHAR_WIDTH", "BoxGrid", "Label", "place_labels"]

CHAR_WIDTH = 0.58  # average glyph width of the sans-serif font, in font sizes
_CELL = 64.0


@dataclass(frozen=True)
class Label:
    """A label to place near (x, y); lower `rank` is placed first."""

    text: str
    x: float
    y: float
    rank: int
    must: bool
    size: float = 9.0
    css: str = "l"


Box = tuple[float, float, float, float]


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class BoxGrid:
    """Boxes hashed into square cells, so a test looks only at its neighbours."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[Box]] = {}

    def _keys(self, box: Box) -> list[tuple[int, int]]:
        x0, y0, x1, y1 = (int(v // _CELL) for v in box)
        return [(i, j) for i in range(x0, x1 + 1) for j in range(y0, y1 + 1)]

    def free(self, box: Box) -> bool:
        return not any(_overlaps(box, o) for k in self._keys(box) for o in self.cells.get(k, ()))

    def add(self, box: Box) -> None:
        for k in self._keys(box):
            self.cells.setdefault(k, []).append(box)


def place_labels(labels: list[Label], blocked: list[Box], width: float, height: float) -> list[str]:
    """SVG <text> elements for the labels that fit (and every `must` label)."""
    grid = BoxGrid()
    for box in blocked:
        grid.add(box)
    out: list[str] = []
    for label in sorted(labels, key=lambda item: (item.rank, item.y, item.x)):
        w = len(label.text) * label.size * CHAR_WIDTH + 2
        h = label.size + 2
        tries = [
            (label.x + 6, label.y + h / 2 - 2, "start"),
            (label.x - 6, label.y + h / 2 - 2, "end"),
            (label.x, label.y - 8, "middle"),
            (label.x, label.y + h + 5, "middle"),
        ]
        chosen = None
        for x, y, anchor in tries:
            left = x if anchor == "start" else x - w if anchor == "end" else x - w / 2
            box = (left, y - h + 2, left + w, y + 2)
            if box[0] < 0 or box[2] > width or box[1] < 0 or box[3] > height:
                continue
            if grid.free(box):
                chosen = (x, y, anchor, box)
                break
        if chosen is None:
            if not label.must:
                continue
            x, y, anchor = tries[0]
            chosen = (x, y, anchor, (x, y - h + 2, x + w, y + 2))
        x, y, anchor, box = chosen
        grid.add(box)
        css = f' class="{label.css}"' if label.css else ""
        out.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{label.size:g}" text-anchor="{anchor}"'
            f"{css}>{escape(label.text)}</text>"
        )
    return out
