"""The memory estimate of the DARTS space's networks (:mod:`snas.memory`), walked cell by cell.

* **parameters and buffers**: each distinct cell (same channels, resolution and reduction
  flags) is built once on PyTorch's ``meta`` device, which allocates no storage, and
  counted exactly.  A network of thousands of cells has only a handful of distinct ones.
* **activations**: a per-primitive count of the maps each op saves for the backward pass
  (:data:`_CHILD_SAVED`, :data:`_SEARCH_EDGE_SAVED`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import torch

from snas.memory import MemoryEstimate, module_size
from snas.spaces.base import NetworkFamily
from snas.spaces.darts.childnet import ChildCell
from snas.spaces.darts.genotype import Genotype
from snas.spaces.darts.primitives import INPUT_NODES, STEPS, cell_edges, reduction_layers
from snas.spaces.darts.supernet import SearchCell

# primitive -> (maps of the op's input, maps of its output) a training step keeps for one
# op of C channels: ReLU outputs, convolution inputs, BatchNorm inputs, max-pool indices
# (int64: two float maps), the drop-path product.
_CHILD_SAVED: dict[str, tuple[int, int]] = {
    "none": (0, 0), "max_pool_3x3": (1, 3), "avg_pool_3x3": (1, 1), "skip_connect": (0, 0),
    "sep_conv_3x3": (1, 6), "sep_conv_5x5": (1, 6), "dil_conv_3x3": (1, 3), "dil_conv_5x5": (1, 3),
}
_REDUCE_SKIP_SAVED = (1, 4)
"""The stride-2 skip_connect (FactorizedReduce), drop path included."""
_SEARCH_EDGE_SAVED = (1, 22)
"""One supernet edge: the stacked ReLU input of its convolutions, their intermediate maps
(two SepConvs 5 each, two DilConvs 2 each), the seven weighted terms of the mix and the
drop-path product."""
_SEARCH_REDUCE_EDGE_EXTRA = (0, 3)
_SEARCH_SOURCE_SAVED = (3, 4)
"""Once per source node: its ReLU, both pools' inputs, their BatchNorms and max-pool indices."""


@dataclass(frozen=True)
class _Cell:
    """What one cell sees: channels of its inputs and nodes, side lengths, reduction flags."""

    c_prev_prev: int
    c_prev: int
    channels: int
    reduction: bool
    reduction_prev: bool
    side_prev_prev: int
    side_in: int

    @property
    def side_out(self) -> int:
        return (self.side_in + 1) // 2 if self.reduction else self.side_in


def _cells(stem_channels: int, channels: int, layers: int, side: int, reduction_prev: bool,
           multiplier: int) -> list[_Cell]:
    """The cell stack of :class:`~snas.spaces.darts.childnet.ChildNetwork` /
    :class:`~snas.spaces.darts.supernet.SuperNet`."""
    cells = []
    c_prev_prev = c_prev = stem_channels
    side_prev_prev = side
    for i in range(layers):
        reduction = i in reduction_layers(layers)
        if reduction:
            channels *= 2
        cell = _Cell(c_prev_prev, c_prev, channels, reduction, reduction_prev, side_prev_prev, side)
        cells.append(cell)
        side_prev_prev, side = side, cell.side_out
        c_prev_prev, c_prev, reduction_prev = c_prev, multiplier * channels, reduction
    return cells


def _preprocess_saved(cell: _Cell) -> int:
    c, hw_in = cell.channels, cell.side_in**2
    first = (cell.c_prev_prev * cell.side_prev_prev**2 + 2 * c * hw_in if cell.reduction_prev
             else (cell.c_prev_prev + c) * hw_in)
    return first + (cell.c_prev + c) * hw_in


def _maps(saved: tuple[int, int], cell: _Cell, strided: bool) -> int:
    hw_out = cell.side_out**2
    return cell.channels * (saved[0] * (cell.side_in**2 if strided else hw_out) + saved[1] * hw_out)


@lru_cache(maxsize=256)
def _child_cell(genotype: Genotype, cell: _Cell) -> MemoryEstimate:
    with torch.device("meta"):
        module = ChildCell(genotype, cell.c_prev_prev, cell.c_prev, cell.channels, cell.reduction,
                           cell.reduction_prev)
    params, objects = module_size(module)
    saved = _preprocess_saved(cell) + module.multiplier * cell.channels * cell.side_out**2
    for node in genotype.nodes("reduce" if cell.reduction else "normal"):
        for op, source in node:
            strided = cell.reduction and source < INPUT_NODES
            counts = _REDUCE_SKIP_SAVED if strided and op == "skip_connect" else _CHILD_SAVED[op]
            saved += _maps(counts, cell, strided)
    return MemoryEstimate(params, objects, saved)


@lru_cache(maxsize=256)
def _search_cell(cell: _Cell) -> MemoryEstimate:
    with torch.device("meta"):
        module = SearchCell(cell.c_prev_prev, cell.c_prev, cell.channels, cell.reduction, cell.reduction_prev)
    params, objects = module_size(module)
    saved = _preprocess_saved(cell) + STEPS * cell.channels * cell.side_out**2
    for source in range(INPUT_NODES + STEPS - 1):
        strided = cell.reduction and source < INPUT_NODES
        saved += _maps(_SEARCH_SOURCE_SAVED, cell, strided)
        edges = sum(1 for s, _ in cell_edges() if s == source)
        per_edge = _maps(_SEARCH_EDGE_SAVED, cell, strided)
        if strided:
            per_edge += _maps(_SEARCH_REDUCE_EDGE_EXTRA, cell, strided)
        saved += edges * per_edge
    return MemoryEstimate(params, objects, saved)


def _total(parts: Counter[MemoryEstimate]) -> MemoryEstimate:
    total = MemoryEstimate(0, 0, 0)
    for part, count in parts.items():
        total += MemoryEstimate(part.params * count, part.objects * count, part.activations_per_image * count)
    return total


def _classifier(channels: int, side: int, num_classes: int) -> MemoryEstimate:
    return MemoryEstimate(channels * num_classes + num_classes, 2, channels * side**2 + channels)


def child_memory(genotype: Genotype, *, family: NetworkFamily = "cifar", channels: int = 36, layers: int = 20,
                 num_classes: int = 10, in_channels: int = 3, image_size: int = 32,
                 auxiliary: bool = False) -> MemoryEstimate:
    """The estimate for :class:`~snas.spaces.darts.childnet.ChildNetwork` with these arguments."""
    multiplier = len(genotype.normal_concat)
    if family == "cifar":
        stem_channels, side, reduction_prev = 3 * channels, image_size, False
        stem = MemoryEstimate(in_channels * stem_channels * 9 + 5 * stem_channels, 4,
                              (in_channels + 2 * stem_channels) * image_size**2)
    else:
        stem_channels, side, reduction_prev = channels, (image_size + 7) // 8, True
        stem = MemoryEstimate(in_channels * channels * 9 + 14 * channels**2, 16,
                              in_channels * image_size**2 + 4 * channels * image_size**2)
    cells = _cells(stem_channels, channels, layers, side, reduction_prev, multiplier)
    total = stem + _total(Counter(_child_cell(genotype, cell) for cell in cells))
    last = cells[-1]
    total += _classifier(multiplier * last.channels, last.side_out, num_classes)
    if auxiliary:
        aux = cells[2 * layers // 3]
        c = multiplier * aux.channels
        total += MemoryEstimate(128 * c + 768 * 128 * 4 + 768 * num_classes + 4 * (128 + 768), 12,
                                c * aux.side_out**2 + 4 * (128 + 768))
    return total


def supernet_memory(channels: int, num_classes: int, layers: int, in_channels: int = 3,
                    image_size: int = 32) -> MemoryEstimate:
    """The estimate for :class:`~snas.spaces.darts.supernet.SuperNet` (every op of every edge
    mixed, the most a training step of any relaxation keeps)."""
    stem_channels = 3 * channels
    stem = MemoryEstimate(in_channels * stem_channels * 9 + 3 * stem_channels, 4,
                          (in_channels + 2 * stem_channels) * image_size**2)
    cells = _cells(stem_channels, channels, layers, image_size, False, STEPS)
    last = cells[-1]
    return (stem + _total(Counter(_search_cell(cell) for cell in cells))
            + _classifier(STEPS * last.channels, last.side_out, num_classes))
