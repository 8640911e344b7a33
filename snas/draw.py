"""Drawings of a genotype's normal and reduction cell, written as PNG and SVG.

The picture follows the DARTS papers' figures: the two cell inputs ``c_{k-2}`` and
``c_{k-1}`` on the left, the intermediate nodes 0..3 left to right, the cell output
``c_{k}`` on the right fed by the concatenated nodes, one arrow per kept edge labelled with
its op (``none`` edges compute nothing and are left out).  DARTS-form and edge_all
genotypes draw the same way.  It is pure matplotlib on its own Agg canvas (no pyplot, no
graphviz binary, no global backend switch), so it works on a headless cluster node.

Layout: every node has its own column and all nodes sit on an ellipse (so no straight
edge runs through a node); each label goes to the first point along its edge that keeps
clear of the labels and nodes already placed.  A node whose incoming edges are all
``none`` (it outputs zeros) has a dashed outline.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

from snas.atomic import atomic_write
from snas.spaces import space_of
from snas.spaces.base import AnyGenotype
from snas.spaces.darts.genotype import Genotype
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

_INPUT_FILL, _NODE_FILL, _OUTPUT_FILL = "#c1e6c1", "#cfe3f5", "#f0e6a8"
_COLUMN = 1.35  # horizontal distance between node columns, in inches
_FIRST = 1.5  # column of intermediate node 0 (the inputs are in column 0)
_HEIGHT = 1.75  # half the height of the ellipse the nodes sit on, in inches
_RADIUS = 0.24
_FONT = 8.0
_MARGIN = 0.3
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
    return (0.6 * len(text) + 0.8) * _FONT / 72, 1.9 * _FONT / 72


def _place_labels(edges: list[_Edge], positions: dict[int, Point]) -> dict[int, Point]:
    """A point on each labelled edge, chosen so labels keep clear of each other and of nodes.

    Greedy: short edges first (they have the least room), each at the first candidate
    point that overlaps nothing placed so far, else at the one with the most clearance.
    """
    taken: list[tuple[Point, tuple[float, float]]] = [(p, (2 * _RADIUS, 2 * _RADIUS)) for p in positions.values()]
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
    return positions[-1][0] + 2 * (_RADIUS + _MARGIN), 2 * (_HEIGHT + _RADIUS + _MARGIN) + _TITLE


def _draw_cell(fig: Figure, origin: Point, genotype: Genotype, cell: Cell, title: str) -> None:
    """Draw one cell in a panel whose lower left corner is ``origin`` (inches)."""
    steps = len(genotype.nodes(cell))
    positions = _positions(steps)
    width, height = _panel_size(steps)
    fig_width, fig_height = fig.get_size_inches()
    ax = fig.add_axes((origin[0] / fig_width, origin[1] / fig_height, width / fig_width, height / fig_height))
    left, bottom = -(_RADIUS + _MARGIN), -(_HEIGHT + _RADIUS + _MARGIN)
    ax.set_xlim(left, left + width)  # one data unit is one inch: circles stay round
    ax.set_ylim(bottom, bottom + height)
    ax.axis("off")
    ax.text(left + 0.1, bottom + height - 0.1, title, ha="left", va="top", fontsize=11)
    edges = _edges(genotype, cell, positions)
    fed = {edge.target for edge in edges} | set(range(INPUT_NODES))
    circles: dict[int, Circle] = {}
    for node, centre in positions.items():
        if node == -1:
            fill, text = _OUTPUT_FILL, r"$c_{k}$"
        elif node < INPUT_NODES:
            fill, text = _INPUT_FILL, (r"$c_{k-2}$", r"$c_{k-1}$")[node]
        else:
            fill, text = _NODE_FILL, str(node - INPUT_NODES)
        # a node whose every incoming edge is `none` outputs zeros: dashed outline
        circles[node] = Circle(centre, _RADIUS, facecolor=fill, edgecolor="#333333", linewidth=1.2,
                               linestyle="-" if node in fed else (0, (3, 2)), zorder=3)
        ax.add_patch(circles[node])
        ax.text(*centre, text, ha="center", va="center", fontsize=10, zorder=4)
    for edge in edges:
        ax.add_patch(FancyArrowPatch(
            positions[edge.source], positions[edge.target], patchA=circles[edge.source],
            patchB=circles[edge.target], connectionstyle=f"arc3,rad={edge.rad}", arrowstyle="-|>",
            mutation_scale=12, color=OP_COLOURS.get(edge.op or "", _CONCAT_COLOUR),
            linewidth=1.5 if edge.op else 1.0, linestyle="-" if edge.op else (0, (4, 3)), zorder=2))
    for i, point in _place_labels(edges, positions).items():
        colour = OP_COLOURS[edges[i].op or ""]
        ax.text(*point, edges[i].op, ha="center", va="center", fontsize=_FONT, color=colour, zorder=5,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": colour, "linewidth": 0.8})


def genotype_figure(genotype: AnyGenotype, title: str | None = None) -> Figure:
    """The drawing of a genotype of any space (:data:`FIGURES` of its space's name)."""
    return FIGURES[space_of(genotype).name](genotype, title)


def darts_figure(genotype: Genotype, title: str | None = None) -> Figure:
    """A figure with the normal cell beside the reduction cell."""
    width, height = _panel_size(len(genotype.nodes("normal")))
    header = 0.4 if title else 0.0
    fig = Figure(figsize=(2 * width, height + header))
    FigureCanvasAgg(fig)
    if title:
        fig.text(0.1 / (2 * width), 1 - 0.1 / (height + header), title, ha="left", va="top", fontsize=12,
                 fontweight="bold")
    form = "edge_all" if genotype.form == "edge_all" else "DARTS form"
    _draw_cell(fig, (0.0, 0.0), genotype, "normal", f"normal cell ({form})")
    _draw_cell(fig, (width, 0.0), genotype, "reduce", f"reduction cell ({form})")
    return fig


MARKER = "snas-study cell drawing"
"""Written into every drawing's metadata (PNG ``Software``, SVG ``Creator``), so a later
drawing may replace a file this code wrote and leave anyone else's alone."""
_METADATA_KEY = {"png": "Software", "svg": "Creator"}
_MARKER_WITHIN = 4096  # bytes: both formats put the metadata before the picture


def is_drawing(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a drawing this module wrote."""
    try:
        with open(path, "rb") as handle:
            return MARKER.encode("ascii") in handle.read(_MARKER_WITHIN)
    except OSError:
        return False


def drawing_paths(out: str | os.PathLike) -> list[Path]:
    """The PNG and the SVG that :func:`draw_genotype` writes for ``out``.

    ``out`` may name either format or none (``cells``, ``cells.png``, ``cells.svg`` all mean
    ``cells.png`` and ``cells.svg``).
    """
    out = Path(out)
    stem = out.with_suffix("") if out.suffix.lower() in (".png", ".svg") else out
    return [stem.with_name(f"{stem.name}.{fmt}") for fmt in _METADATA_KEY]


def draw_genotype(genotype: AnyGenotype, out: str | os.PathLike, title: str | None = None) -> list[Path]:
    """Write the drawing of both cells to :func:`drawing_paths` of ``out``, each atomically
    and marked as ours (:data:`MARKER`); return both paths."""
    fig = genotype_figure(genotype, title)
    for path in drawing_paths(out):
        fmt = path.suffix[1:]
        atomic_write(path, lambda handle, fmt=fmt: fig.savefig(handle, format=fmt, dpi=150,
                                                               metadata={_METADATA_KEY[fmt]: MARKER}))
    return drawing_paths(out)


NB201_COLOURS: dict[str, str] = {
    "skip_connect": "#6f6f6f",
    "nor_conv_1x1": "#3c9a52",
    "nor_conv_3x3": "#d9752b",
    "avg_pool_3x3": "#3a6fb0",
    "none": "#b0b0b0",
}
"""Edge colour per NAS-Bench-201 op; ``none`` edges are drawn dashed and pale (they compute zeros)."""

_NB201_SPACING = 2.1  # inches between neighbouring nodes on the line
_NB201_ARCS = {1: 0.0, 2: -0.55, 3: 0.5}
"""Curvature by how many nodes an edge skips: neighbours straight, 2-skips above, 0→3 below."""


def nb201_figure(genotype: Any, title: str | None = None) -> Figure:
    """A NAS-Bench-201 cell: nodes 0 (input) to 3 (output) on a line, all six edges labelled.

    Every edge is drawn, ``none`` included (dashed, pale): in this space the cell is the
    whole choice, and a ``none`` is part of what was chosen.
    """
    nodes = 4
    width = (nodes - 1) * _NB201_SPACING + 2 * (_RADIUS + _MARGIN) + 0.4
    height = 4.1 + (0.4 if title else 0.0)
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    left = -(_RADIUS + _MARGIN + 0.2)
    bottom = -1.95
    ax.set_xlim(left, left + width)
    ax.set_ylim(bottom, bottom + height)
    ax.axis("off")
    if title:
        ax.text(left + 0.1, bottom + height - 0.1, title, ha="left", va="top", fontsize=12, fontweight="bold")
    ax.text(left + 0.1, bottom + height - (0.5 if title else 0.1), "NAS-Bench-201 cell", ha="left", va="top",
            fontsize=11)
    positions = {n: (n * _NB201_SPACING, 0.0) for n in range(nodes)}
    fills = {0: _INPUT_FILL, nodes - 1: _OUTPUT_FILL}
    labels = {0: "in", nodes - 1: "out"}
    circles = {}
    for n, centre in positions.items():
        circles[n] = Circle(centre, _RADIUS, facecolor=fills.get(n, _NODE_FILL), edgecolor="#333333",
                            linewidth=1.2, zorder=3)
        ax.add_patch(circles[n])
        ax.text(centre[0], centre[1], str(n), ha="center", va="center", fontsize=10, zorder=4)
        if n in labels:
            ax.text(centre[0], centre[1] - _RADIUS - 0.15, labels[n], ha="center", va="top", fontsize=8)
    for target, node in enumerate(genotype.nodes, start=1):
        for op, source in node:
            rad = _NB201_ARCS[target - source]
            colour = NB201_COLOURS[op]
            ax.add_patch(FancyArrowPatch(
                positions[source], positions[target], patchA=circles[source], patchB=circles[target],
                connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>", mutation_scale=12, color=colour,
                linewidth=1.0 if op == "none" else 1.6, linestyle=(0, (4, 3)) if op == "none" else "-", zorder=2))
            (x0, y0), (x1, y1) = positions[source], positions[target]
            # the midpoint of an arc3 curve lies rad·length/2 off the chord, to the right of its direction
            mid = ((x0 + x1) / 2 + rad * (y1 - y0) / 2, (y0 + y1) / 2 - rad * (x1 - x0) / 2)
            ax.text(*mid, op, ha="center", va="center", fontsize=_FONT, color=colour, zorder=5,
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": colour, "linewidth": 0.8})
    return fig


FIGURES: dict[str, Callable[[Any, str | None], Figure]] = {"darts": darts_figure, "nas-bench-201": nb201_figure}
"""How each search space's genotypes are drawn, by space name (:data:`snas.spaces.SPACES`)."""
