"""The benchmark's macro network (AutoDL's ``TinyNetwork``), whatever its cells.

A 3×3 convolution stem to C channels + BN, three stages of N cells at C, 2C, 4C with a
residual reduction block between stages (:class:`~snas.spaces.nas_bench_201.ops.ResNetReduction`),
then BN-ReLU, global average pooling and a linear classifier.  The search network and the
network of a genotype differ only in their cells.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from snas.layout import BatchNorm2d
from snas.spaces.nas_bench_201.ops import ResNetReduction


def stage_channels(channels: int, cells_per_stage: int) -> list[tuple[int, bool]]:
    """``(channels, is a reduction block)`` for every block after the stem, in order."""
    blocks = []
    for stage in range(3):
        if stage:
            blocks.append((channels * 2**stage, True))
        blocks += [(channels * 2**stage, False)] * cells_per_stage
    return blocks


class MacroNetwork(nn.Module):
    """Stem, three stages of cells with reduction blocks between them, BN-ReLU, pooling, classifier."""

    def __init__(self, channels: int, cells_per_stage: int, num_classes: int, in_channels: int,
                 make_cell: Callable[[int], nn.Module]):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
                                  BatchNorm2d(channels))
        blocks, c_prev = [], channels
        for c, reduction in stage_channels(channels, cells_per_stage):
            blocks.append(ResNetReduction(c_prev, c) if reduction else make_cell(c))
            c_prev = c
        self.blocks = nn.ModuleList(blocks)
        self.last = nn.Sequential(BatchNorm2d(c_prev), nn.ReLU(inplace=False))
        self.classifier = nn.Linear(c_prev, num_classes)

    def head(self, state: torch.Tensor) -> torch.Tensor:
        return cast(torch.Tensor, self.classifier(F.adaptive_avg_pool2d(self.last(state), 1).flatten(1)))
