"""What every cell drawing shares: node fills and sizes, label fonts, and a figure on its
own Agg canvas (no pyplot, no graphviz binary, no global backend switch), so drawing works
on a headless cluster node.  Each space draws its cells (``drawing.py`` in its package);
:mod:`snas.draw` writes the files.
"""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

INPUT_FILL, NODE_FILL, OUTPUT_FILL = "#c1e6c1", "#cfe3f5", "#f0e6a8"
"""Fills of a cell's input nodes (green), intermediate nodes (blue) and output (yellow)."""
RADIUS = 0.24
"""Node radius, in inches."""
FONT = 8.0
"""Font size of the op labels."""
MARGIN = 0.3
"""Room around a cell, in inches."""


def canvas_figure(width: float, height: float) -> Figure:
    """An empty ``width × height`` inch figure drawn by its own Agg canvas."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def label_box(colour: str) -> dict[str, object]:
    """The white rounded box around an op label, outlined in the op's colour."""
    return {"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": colour, "linewidth": 0.8}
