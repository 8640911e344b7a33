"""The NAS-Bench-201 cell: its candidate ops' names and its edges.

The cell is a DAG of 4 nodes: node 0 is the cell input, node ``i`` (1..3) sums one edge
from every earlier node, and the cell output is node 3, so the cell has 6 edges.  The
edge order everywhere (rows of α, cost tables, the genotype string) is target-major, as in
the benchmark: 0→1, 0→2, 1→2, 0→3, 1→3, 2→3.
"""

from __future__ import annotations

from functools import cache

NAME = "nas-bench-201"
"""The space's name in :data:`snas.spaces.SPACES` (and a genotype's ``space``)."""

PRIMITIVES: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
"""Candidate ops of every edge, in the benchmark's order (the columns of α)."""

NODES = 4
"""Nodes of a cell: the input (0) and three computed ones."""

NONE_INDEX = PRIMITIVES.index("none")
SKIP_INDEX = PRIMITIVES.index("skip_connect")
CONV_KERNELS: dict[str, int] = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}


@cache
def cell_edges() -> tuple[tuple[int, int], ...]:
    """Every edge ``(source, target)`` in α row order (target-major)."""
    return tuple((source, target) for target in range(1, NODES) for source in range(target))


NUM_EDGES = len(cell_edges())
EDGE_INDEX = {edge: e for e, edge in enumerate(cell_edges())}
"""``(source, target)`` -> its row of α."""
