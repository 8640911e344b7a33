"""What every cell drawing shares: node fills and sizes, label fonts, and a figure on its
own Agg canvas (no pyplot, no graphviz binary, no global backend switch), so drawing works
on a headless cluster node.  Each space draws its cells (``drawing.py`` in its package);
:mod:`snas.draw` writes the files.
"""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

INPUT_FILL, NODE_FILL, OUTPUT_FILL = "#c1e6c1", "#cfe3f5", "#f0e6a8"
"""Fills of a cell's input nodes (green), intermediate nodes (blue) and output (yellow)."""
RADIUS = 0.24
"""Node radius, in inches."""
FONT = 8.0
"""Font size of the op labels."""
MARGIN = 0.3
"""Room around a cell, in inches."""
_NODE_EDGE = 1.2
"""Line width of a node circle's outline, in points."""
_ARROW_GAP = 2.0
"""Points between a node's outline and the end of an arrow (matplotlib's default shrink)."""
POINTS_PER_INCH = 72


def canvas_figure(width: float, height: float) -> Figure:
    """An empty ``width × height`` inch figure drawn by its own Agg canvas."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def label_box(colour: str) -> dict[str, object]:
    """The white rounded box around an op label, outlined in the op's colour."""
    return {"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": colour, "linewidth": 0.8}


def edge_arrow(start: tuple[float, float], end: tuple[float, float], rad: float, **style: Any) -> FancyArrowPatch:
    """An arrow from the node drawn at ``start`` to the one at ``end`` (in an axes where one
    data unit is one inch), bent by ``rad`` (matplotlib's ``arc3``), stopping short of both
    circles' outlines.

    The arrow is cut by a circle of the node's radius around each end (``shrinkA`` and
    ``shrinkB``), the node's own shape, computed in closed form.  Clipping it against the
    Circle patches instead (``patchA``/``patchB``) draws the same curve but hit-tests every
    bisection point as a mouse event: 20 ms an arrow, a second for one DARTS cell drawing."""
    shrink = RADIUS * POINTS_PER_INCH + _NODE_EDGE / 2 + _ARROW_GAP
    return FancyArrowPatch(start, end, shrinkA=shrink, shrinkB=shrink, connectionstyle=f"arc3,rad={rad}",
                           arrowstyle="-|>", mutation_scale=12, **style)


def draw_node(ax: Axes, centre: tuple[float, float], fill: str, label: str, dashed: bool = False) -> None:
    """A node: a circle of :data:`RADIUS` filled with ``fill``, outlined (dashed when
    ``dashed``), and ``label`` at its centre, above the edges' arrows."""
    ax.add_patch(Circle(centre, RADIUS, facecolor=fill, edgecolor="#333333", linewidth=_NODE_EDGE,
                        linestyle=(0, (3, 2)) if dashed else "-", zorder=3))
    ax.text(*centre, label, ha="center", va="center", fontsize=10, zorder=4)
