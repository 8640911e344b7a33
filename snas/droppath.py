"""Drop path in the networks of a genotype: its draws, made before the forward, and the
node sum that applies them.

Drop path zeroes a whole edge's output for some samples of a batch (every edge but the
identities) and rescales the rest; both spaces' child networks
(:mod:`snas.spaces.darts.childnet`, :mod:`snas.spaces.nas_bench_201.childnet`) use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import nn


def drop_path(x: torch.Tensor, kept: torch.Tensor, keep: float) -> torch.Tensor:
    """Zero the samples ``kept`` (one boolean per sample) drops, rescaling the others by ``1 / keep``."""
    return x * (kept.to(x.device, x.dtype) / keep).view(-1, 1, 1, 1)


def draw_kept(edges_per_cell: Iterable[int], batch: int, drop_prob: float,
              generator: torch.Generator | None) -> list[list[torch.Tensor]]:
    """Drop path's draws for one forward, made before it runs: per cell, one boolean per
    sample for each edge drop path applies to, in the order the cell uses them.

    Drawn up front so the forward has no generator in it (a graph break for
    ``torch.compile``); the draws and their order are those of one ``rand(batch)`` per
    edge as the forward reaches it.
    """
    keep = 1.0 - drop_prob
    return [[torch.rand(batch, generator=generator) < keep for _ in range(edges)] for edges in edges_per_cell]


def node_sum(ops: Iterable[nn.Module], sources: Iterable[int], identity: Iterable[bool], states: list[torch.Tensor],
             kept: Iterator[torch.Tensor] | None, keep: float) -> torch.Tensor | None:
    """One node of a child cell: the sum of its chosen edges, each non-identity edge under
    drop path (the next of ``kept``'s draws; ``None``: no drop path); ``None`` when the node
    has no edge left."""
    total = None
    for op, source, is_identity in zip(ops, sources, identity):
        h = op(states[source])
        if kept is not None and not is_identity:
            h = drop_path(h, next(kept), keep)
        total = h if total is None else total + h
    return total
