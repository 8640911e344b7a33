"""Drawings of a NAS-Bench-201 genotype: its one cell, every edge labelled with its op."""

from __future__ import annotations

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
from snas.spaces.nas_bench_201.genotype import CellGenotype
from snas.spaces.nas_bench_201.primitives import NODES

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


def nb201_figure(genotype: CellGenotype, title: str | None = None) -> Figure:
    """A NAS-Bench-201 cell: nodes 0 (input) to 3 (output) on a line, all six edges labelled.

    Every edge is drawn, ``none`` included (dashed, pale): in this space the cell is the
    whole choice, and a ``none`` is part of what was chosen.
    """
    nodes = NODES
    width = (nodes - 1) * _NB201_SPACING + 2 * (RADIUS + MARGIN) + 0.4
    height = 4.1 + (0.4 if title else 0.0)
    fig = canvas_figure(width, height)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    left = -(RADIUS + MARGIN + 0.2)
    bottom = -1.95
    ax.set_xlim(left, left + width)
    ax.set_ylim(bottom, bottom + height)
    ax.axis("off")
    if title:
        ax.text(left + 0.1, bottom + height - 0.1, title, ha="left", va="top", fontsize=12, fontweight="bold")
    ax.text(left + 0.1, bottom + height - (0.5 if title else 0.1), "NAS-Bench-201 cell", ha="left", va="top",
            fontsize=11)
    positions = {n: (n * _NB201_SPACING, 0.0) for n in range(nodes)}
    fills = {0: INPUT_FILL, nodes - 1: OUTPUT_FILL}
    labels = {0: "in", nodes - 1: "out"}
    for n, centre in positions.items():
        draw_node(ax, centre, fills.get(n, NODE_FILL), str(n))
        if n in labels:
            ax.text(centre[0], centre[1] - RADIUS - 0.15, labels[n], ha="center", va="top", fontsize=8)
    for target, node in enumerate(genotype.nodes, start=1):
        for op, source in node:
            rad = _NB201_ARCS[target - source]
            colour = NB201_COLOURS[op]
            ax.add_patch(edge_arrow(
                positions[source], positions[target], rad, color=colour,
                linewidth=1.0 if op == "none" else 1.6, linestyle=(0, (4, 3)) if op == "none" else "-", zorder=2))
            (x0, y0), (x1, y1) = positions[source], positions[target]
            # the midpoint of an arc3 curve lies rad·length/2 off the chord, to the right of its direction
            mid = ((x0 + x1) / 2 + rad * (y1 - y0) / 2, (y0 + y1) / 2 - rad * (x1 - x0) / 2)
            ax.text(*mid, op, ha="center", va="center", fontsize=FONT, color=colour, zorder=5,
                    bbox=label_box(colour))
    return fig
