"""Drawings of a DARTS genotype: its normal cell beside its reduction cell.

The picture follows the DARTS papers' figures: the two cell inputs ``c_{k-2}`` and
``c_{k-1}`` on the left, the intermediate nodes 0..3 left to right, the cell output
``c_{k}`` on the right fed by the concatenated nodes, one arrow per kept edge labelled with
its op (``none`` edges compute nothing and are left out).  DARTS-form and edge_all
genotypes draw the same way.

Layout: every node has its own column and all nodes sit on an ellipse (so no straight
edge runs through a node); each label goes to the first point along its edge that keeps
clear of the labels and nodes already placed.  A node whose incoming edges are all
``none`` (it outputs zeros) has a dashed outline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from matplotlib.figure import Figure

from snas.drawstyle import (
    FONT,
    INPUT_FILL,
    MARGIN,
    NODE_FILL,
    OUTPUT_FILL,
    RADIUS,
    canvas_figure,
    draw_node,
    edge_arrow,
    label_box,
)
from snas.spaces.darts.genotype import FORM_NAMES, Genotype
from snas.spaces.darts.primitives import INPUT_NODES

Cell = Literal["normal", "reduce"]
Point = tuple[float, float]

OP_COLOURS: dict[str, str] = {
    "max_pool_3x3": "#3a6fb0",
    "avg_pool_3x3": "#6aa5d8",
    "skip_connect": "#6f6f6f",
    "sep_conv_3x3": "#d9752b",
    "sep_conv_5x5": "#b8401f",
    "dil_conv_3x3": "#3c9a52",
    "dil_conv_5x5": "#7a4fa3",
}
"""Edge colour per primitive: pools blue, identity grey, separable convs orange/red, dilated green/purple."""

_COLUMN = 1.35  # horizontal distance between node columns, in inches
_FIRST = 1.5  # column of intermediate node 0 (the inputs are in column 0)
_HEIGHT = 1.75  # half the height of the ellipse the nodes sit on, in inches
_TITLE = 0.35  # room for a panel's title, in inches
_CONCAT_COLOUR = "#9a9a9a"


@dataclass(frozen=True)
class _Edge:
    source: int
    target: int
    op: str | None  # None: an unlabelled concat edge into the output
    rad: float  # curvature: 0 (straight) unless the same two nodes are joined twice

    def point(self, positions: dict[int, Point], t: float) -> Point:
        """The point at ``t`` of matplotlib's ``arc3`` curve (a quadratic Bézier) of this edge."""
        (x0, y0), (x2, y2) = positions[self.source], positions[self.target]
        cx = (x0 + x2) / 2 + self.rad * (y2 - y0)
        cy = (y0 + y2) / 2 - self.rad * (x2 - x0)
        a, b, c = (1 - t) ** 2, 2 * t * (1 - t), t**2
        return a * x0 + b * cx + c * x2, a * y0 + b * cy + c * y2


def _positions(steps: int) -> dict[int, Point]:
    """Node number -> centre (``-1`` is the cell output), in inches.

    Every node has its own column; the nodes sit on an ellipse, ``c_{k-2}`` and the even
    intermediate nodes on its upper half, ``c_{k-1}`` and the odd ones on its lower half,
    the output at its right tip.  Points on an ellipse are in convex position, so no
    straight edge between two nodes runs through a third.
    """
    centre = (steps + _FIRST) / 2
    half_width = centre + 0.5

    def on_ellipse(column: float, upper: bool) -> Point:
        y = _HEIGHT * math.sqrt(max(0.0, 1 - ((column - centre) / half_width) ** 2))
        return column * _COLUMN, y if upper else -y

    positions = {0: on_ellipse(0, True), 1: on_ellipse(0, False)}
    for i in range(steps):
        positions[INPUT_NODES + i] = on_ellipse(i + _FIRST, i % 2 == 0)
    positions[-1] = ((centre + half_width) * _COLUMN, 0.0)
    return positions


def _edges(genotype: Genotype, cell: Cell, positions: dict[int, Point]) -> list[_Edge]:
    edges: list[_Edge] = []
    seen: dict[tuple[int, int], int] = {}
    for n, node in enumerate(genotype.nodes(cell)):
        target = INPUT_NODES + n
        for op, source in node:
            if op == "none":
                continue
            repeat = seen.get((source, target), 0)
            seen[(source, target)] = repeat + 1
            edges.append(_Edge(source, target, op, 0.25 * repeat * (-1) ** repeat))
    concat = genotype.normal_concat if cell == "normal" else genotype.reduce_concat
    edges += [_Edge(node, -1, None, 0.0) for node in concat]
    return edges


def _label_size(text: str) -> tuple[float, float]:
    """Approximate width and height of a boxed label, in inches."""
    return (0.6 * len(text) + 0.8) * FONT / 72, 1.9 * FONT / 72


def _place_labels(edges: list[_Edge], positions: dict[int, Point]) -> dict[int, Point]:
    """A point on each labelled edge, chosen so labels keep clear of each other and of nodes.

    Greedy: short edges first (they have the least room), each at the first candidate
    point that overlaps nothing placed so far, else at the one with the most clearance.
    """
    taken: list[tuple[Point, tuple[float, float]]] = [(p, (2 * RADIUS, 2 * RADIUS)) for p in positions.values()]
    placed: dict[int, Point] = {}
    candidates = (0.5, 0.4, 0.6, 0.32, 0.68, 0.25, 0.75)
    labelled = [i for i, edge in enumerate(edges) if edge.op is not None]
    length = lambda i: math.dist(positions[edges[i].source], positions[edges[i].target])
    for i in sorted(labelled, key=length):
        size = _label_size(edges[i].op or "")

        def clearance(p: Point, size: tuple[float, float] = size) -> float:
            return min(max(abs(p[0] - q[0]) / ((size[0] + s[0]) / 2), abs(p[1] - q[1]) / ((size[1] + s[1]) / 2))
                       for q, s in taken)

        points = [edges[i].point(positions, t) for t in candidates]
        placed[i] = next((p for p in points if clearance(p) >= 1.0), None) or max(points, key=clearance)
        taken.append((placed[i], size))
    return placed


def _panel_size(steps: int) -> tuple[float, float]:
    positions = _positions(steps)
    return positions[-1][0] + 2 * (RADIUS + MARGIN), 2 * (_HEIGHT + RADIUS + MARGIN) + _TITLE


def _draw_cell(fig: Figure, origin: Point, genotype: Genotype, cell: Cell, title: str) -> None:
    """Draw one cell in a panel whose lower left corner is ``origin`` (inches)."""
    steps = len(genotype.nodes(cell))
    positions = _positions(steps)
    width, height = _panel_size(steps)
    fig_width, fig_height = fig.get_size_inches()
    ax = fig.add_axes((origin[0] / fig_width, origin[1] / fig_height, width / fig_width, height / fig_height))
    left, bottom = -(RADIUS + MARGIN), -(_HEIGHT + RADIUS + MARGIN)
    ax.set_xlim(left, left + width)  # one data unit is one inch: circles stay round
    ax.set_ylim(bottom, bottom + height)
    ax.axis("off")
    ax.text(left + 0.1, bottom + height - 0.1, title, ha="left", va="top", fontsize=11)
    edges = _edges(genotype, cell, positions)
    fed = {edge.target for edge in edges} | set(range(INPUT_NODES))
    for node, centre in positions.items():
        if node == -1:
            fill, text = OUTPUT_FILL, r"$c_{k}$"
        elif node < INPUT_NODES:
            fill, text = INPUT_FILL, (r"$c_{k-2}$", r"$c_{k-1}$")[node]
        else:
            fill, text = NODE_FILL, str(node - INPUT_NODES)
        # a node whose every incoming edge is `none` outputs zeros: dashed outline
        draw_node(ax, centre, fill, text, dashed=node not in fed)
    for edge in edges:
        ax.add_patch(edge_arrow(
            positions[edge.source], positions[edge.target], edge.rad,
            color=OP_COLOURS.get(edge.op or "", _CONCAT_COLOUR),
            linewidth=1.5 if edge.op else 1.0, linestyle="-" if edge.op else (0, (4, 3)), zorder=2))
    for i, point in _place_labels(edges, positions).items():
        colour = OP_COLOURS[edges[i].op or ""]
        ax.text(*point, edges[i].op or "", ha="center", va="center", fontsize=FONT, color=colour, zorder=5,
                bbox=label_box(colour))


def darts_figure(genotype: Genotype, title: str | None = None) -> Figure:
    """A figure with the normal cell beside the reduction cell."""
    width, height = _panel_size(len(genotype.nodes("normal")))
    header = 0.4 if title else 0.0
    fig = canvas_figure(2 * width, height + header)
    if title:
        fig.text(0.1 / (2 * width), 1 - 0.1 / (height + header), title, ha="left", va="top", fontsize=12,
                 fontweight="bold")
    form = FORM_NAMES[genotype.form]
    _draw_cell(fig, (0.0, 0.0), genotype, "normal", f"normal cell ({form})")
    _draw_cell(fig, (width, 0.0), genotype, "reduce", f"reduction cell ({form})")
    return fig
