"""The NAS-Bench-201 search network: the benchmark's macro network with cells whose every
edge mixes the five ops; all cells read the one α (6 × 5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from snas.compilation import CompileMode, compiled
from snas.layout import BatchNorm2d
from snas.ops import ReLUConvBN
from snas.pools import AvgPool2d
from snas.relax import EdgeSample
from snas.resource import CellGeometry
from snas.spaces.nas_bench_201.macro import MacroNetwork, stage_channels
from snas.spaces.nas_bench_201.primitives import (
    CONV_KERNELS,
    EDGE_INDEX,
    NODES,
    NONE_INDEX,
    NUM_EDGES,
    PRIMITIVES,
    SKIP_INDEX,
    cell_edges,
)
from snas.spaces.networks import SuperNetwork


def _search_conv(channels: int, kernel: int) -> ReLUConvBN:
    """ReLU-conv-BN of a search edge.  Its BN has neither affine parameters nor running
    statistics, as in the benchmark's search cells: it normalises with the statistics of
    the batch also in evaluation, since running means over a stream of sampled
    architectures describe none of them (evaluated with them, a SNAS or GDAS supernet
    scores at chance on held-out data while its training accuracy climbs)."""
    layer = ReLUConvBN(channels, channels, kernel, 1, kernel // 2, affine=False)
    layer[2] = BatchNorm2d(channels, affine=False, track_running_stats=False)
    return layer


class SearchCell(nn.Module):
    """A cell whose every edge mixes the five ops (search BN: see :func:`_search_conv`)."""

    def __init__(self, channels: int):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.ModuleDict({name: _search_conv(channels, k) for name, k in CONV_KERNELS.items()})
            for _ in cell_edges())
        self.pool = AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor, sample: EdgeSample, drop_masks: torch.Tensor | None) -> torch.Tensor:
        """The cell output; under a hard sample only the chosen op of each edge runs.

        A node's ReLU (read by both convolutions of each edge leaving it) and its average
        pool (the same on every edge leaving it: search pools have no BN) run once.
        """
        states: list[torch.Tensor] = [x]
        relus: dict[int, torch.Tensor] = {}
        pools: dict[int, torch.Tensor] = {}
        for target in range(1, NODES):
            total: torch.Tensor | None = None
            for source in range(target):
                e = EDGE_INDEX[source, target]
                out = self._edge(e, source, states[source], relus, pools, sample)
                if out is None:
                    continue
                if drop_masks is not None and not (sample.choice is not None and sample.choice[e] == SKIP_INDEX):
                    out = out * drop_masks[e].view(-1, 1, 1, 1)
                total = out if total is None else total + out
            states.append(total if total is not None else torch.zeros_like(x))
        return states[-1]

    def _edge(self, e: int, source: int, inp: torch.Tensor, relus: dict[int, torch.Tensor],
              pools: dict[int, torch.Tensor], sample: EdgeSample) -> torch.Tensor | None:
        def op(k: int) -> torch.Tensor:
            name = PRIMITIVES[k]
            if name == "skip_connect":
                return inp
            if name == "avg_pool_3x3":
                if source not in pools:
                    pools[source] = self.pool(inp)
                return pools[source]
            if source not in relus:
                relus[source] = F.relu(inp)
            conv = cast(nn.ModuleDict, self.convs[e])[name]
            return cast(ReLUConvBN, conv).after_relu(relus[source])

        weights = sample.weights[e]
        if sample.choice is not None:
            k = sample.choice[e]
            if k == NONE_INDEX:
                return None
            return op(k) * weights[k] if weights.requires_grad else op(k)
        total = None
        for k in range(len(PRIMITIVES)):
            if k != NONE_INDEX:
                term = weights[k] * op(k)
                total = term if total is None else total + term
        return total


class SearchNetwork(MacroNetwork, SuperNetwork):
    """The benchmark's macro network with search cells; every cell reads the one α."""

    def __init__(self, channels: int, num_classes: int, layers: int, in_channels: int = 3):
        super().__init__(channels, layers, num_classes, in_channels, SearchCell)
        self.channels = channels
        self.cells_per_stage = layers
        self._compiled_cells: list[Callable[..., torch.Tensor]] | None = None

    @property
    def cell_counts(self) -> tuple[int]:
        return (3 * self.cells_per_stage,)

    def geometry(self, height: int, width: int) -> list[CellGeometry]:
        """What each search cell's ops see (cells keep their resolution)."""
        out = []
        for c, reduction in stage_channels(self.channels, self.cells_per_stage):
            if reduction:
                height, width = (height + 1) // 2, (width + 1) // 2
            else:
                out.append(CellGeometry(c, height, width, False))
        return out

    def compile_training(self, mode: CompileMode) -> None:
        """Compile each cell's forward of soft samples in training as a region, the stem,
        reduction blocks and classifier eager (PyTorch's regional compilation).

        The 5 cells of a stage have one shape, and Dynamo keys a graph by the code object
        (``SearchCell.forward``) and its guards, with parameters as graph inputs, so the 15
        cells share 3 graphs, one per stage.  At ``bench/search_step.py``'s config nb201 (C = 16,
        batch 64) they compiled in 186 s with an empty Inductor cache where the whole network
        as one graph took 465 s, for the same step time within noise (1.38× against 1.29×
        eager; ``docs/performance.md``).  A hard sample (GDAS) and evaluation run the cells
        eagerly, as in :meth:`snas.spaces.darts.supernet.SuperNet.compile_training`.
        """
        self._compiled_cells = None if mode == "off" else [compiled(cell.forward, mode) for cell in self._cells()]

    def _cells(self) -> list[SearchCell]:
        return [block for block in self.blocks if isinstance(block, SearchCell)]

    def forward(self, x: torch.Tensor, cells: list[EdgeSample], drop_prob: float = 0.0,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits; ``cells`` holds one sample for all cells or one per cell.  The drop-path
        draws are made before any cell runs, cell by cell, so no generator reaches a
        compiled cell."""
        kept = None
        if self.training and drop_prob > 0.0:
            kept = [torch.rand(NUM_EDGES, x.shape[0], generator=generator) < 1.0 - drop_prob
                    for _ in range(sum(self.cell_counts))]
        regions = self._compiled_cells
        if not (self.training and all(s.choice is None for s in cells)):
            regions = None
        state = self.stem(x)
        i = 0
        for block in self.blocks:
            if isinstance(block, SearchCell):
                masks = None if kept is None else kept[i].to(state.device, state.dtype) / (1.0 - drop_prob)
                cell = block if regions is None else regions[i]
                state = cell(state, cells[i] if len(cells) > 1 else cells[0], masks)
                i += 1
            else:
                state = block(state)
        return self.head(state)
