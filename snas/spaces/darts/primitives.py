"""The DARTS cell: its candidate primitives and its topology.

A cell has two input nodes (the outputs of the two previous cells, numbered 0 and 1)
and ``STEPS`` intermediate nodes (numbered 2 .. STEPS+1).  Intermediate node ``n`` sums
one edge from every earlier node, so a cell with 4 steps has 2+3+4+5 = 14 edges.  The
edge order used everywhere (rows of α, cost tables, genotypes in ``edge_all`` form) is
target-major: all edges into node 2, then all edges into node 3, ...; within a target,
by source index.
"""

from __future__ import annotations

from functools import cache

from snas.registry import unknown_name

NAME = "darts"
"""The space's name in :data:`snas.spaces.SPACES` (and a genotype's ``space``)."""

PRIMITIVES: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
"""Candidate operations on every edge, in the order of α's columns."""

STEPS = 4
"""Intermediate nodes per cell."""

INPUT_NODES = 2
"""Input nodes per cell (outputs of the previous two cells)."""

NONE_INDEX = PRIMITIVES.index("none")
SKIP_INDEX = PRIMITIVES.index("skip_connect")


def check_primitive(name: str) -> str:
    """Return ``name`` if it is a known primitive; otherwise raise a ValueError naming the choices."""
    if name not in PRIMITIVES:
        raise unknown_name("primitive", name, PRIMITIVES)
    return name


@cache
def cell_edges(steps: int = STEPS) -> tuple[tuple[int, int], ...]:
    """Every edge of a cell as ``(source, target)`` node numbers, in α row order."""
    return tuple(
        (source, target)
        for target in range(INPUT_NODES, INPUT_NODES + steps)
        for source in range(target)
    )


def num_edges(steps: int = STEPS) -> int:
    """Number of edges in a cell with ``steps`` intermediate nodes (14 for 4 steps)."""
    return len(cell_edges(steps))


@cache
def edge_index(source: int, target: int, steps: int = STEPS) -> int:
    """Row of α that holds the edge ``source -> target``."""
    return cell_edges(steps).index((source, target))


def reduction_layers(layers: int) -> tuple[int, int]:
    """Cell positions that reduce resolution (and double channels): ⌊L/3⌋ and ⌊2L/3⌋."""
    return layers // 3, 2 * layers // 3
