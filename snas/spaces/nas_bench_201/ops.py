"""The NAS-Bench-201 ops by name, and the residual block between the network's stages.

``none`` (zeros), ``skip_connect`` (identity), ``nor_conv_1x1`` and ``nor_conv_3x3``
(ReLU → convolution → BatchNorm), ``avg_pool_3x3`` (stride 1, padding not counted).
Every op keeps its channels and resolution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
from torch import nn

from snas.ops import ReLUConvBN, Zero
from snas.pools import AvgPool2d
from snas.registry import Registry
from snas.spaces.nas_bench_201.primitives import PRIMITIVES


class ResNetReduction(nn.Module):
    """The residual block between stages: stride-2 ResNet basic block with an avg-pool + 1×1 shortcut."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return cast(torch.Tensor, self.shortcut(x) + self.conv_b(self.conv_a(x)))


OpBuilder = Callable[[int, bool], nn.Module]
"""``(channels, affine) -> module`` (stride 1: cells never change resolution)."""

OPS: Registry[OpBuilder] = Registry("NAS-Bench-201 op", {
    "none": lambda c, affine: Zero(1),
    "skip_connect": lambda c, affine: nn.Identity(),
    "nor_conv_1x1": lambda c, affine: ReLUConvBN(c, c, 1, 1, 0, affine=affine),
    "nor_conv_3x3": lambda c, affine: ReLUConvBN(c, c, 3, 1, 1, affine=affine),
    "avg_pool_3x3": lambda c, affine: AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
})
assert tuple(OPS) == PRIMITIVES
