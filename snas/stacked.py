"""Candidate ops of all edges that leave one node, with their weights stacked edge by edge.

The edges leaving a node all read the same tensor.  Instead of one small module per
(edge, op) -- hundreds of tiny convolution calls per cell, each dominated by fixed
per-call cost on a CPU -- each convolutional primitive keeps the weights of its ``E``
edges in one tensor, edge-major (channels ``e·C … e·C + C − 1`` belong to edge ``e``),
and runs all edges with grouped convolutions: ``groups = E·C`` for depthwise,
``groups = E`` for pointwise.  The arithmetic per edge is exactly that of
:class:`snas.ops.SepConv` / :class:`snas.ops.DilConv` / :class:`snas.ops.FactorizedReduce`
with affine-free BatchNorm (BatchNorm statistics are per channel, so one BatchNorm over
``E·C`` channels equals ``E`` separate ones).  ``forward_edge`` runs a single edge with
slices of the same weights, for hard samples where each edge runs one op.

Inputs are already ReLU-activated: the source node applies the leading ReLU once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from snas.layout import BatchNorm2d, batch_norm, layout_of
from snas.ops import depthwise_conv2d, factorized_reduce


def _conv_weight(out_channels: int, in_per_group: int, kernel: int) -> nn.Parameter:
    """Initialised as ``nn.Conv2d`` does (Kaiming-uniform, a = √5) for the same fan-in."""
    weight = torch.empty(out_channels, in_per_group, kernel, kernel)
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    return nn.Parameter(weight)


def _batch_norm(x: torch.Tensor, bn: nn.BatchNorm2d, channels: slice, training: bool) -> torch.Tensor:
    """Affine-free BatchNorm of ``x`` using (and updating) a slice of ``bn``'s statistics."""
    mean, var, momentum = bn.running_mean, bn.running_var, bn.momentum
    assert mean is not None and var is not None and momentum is not None  # built tracking running statistics
    return batch_norm(x, mean[channels], var[channels], training, momentum, bn.eps)


class StackedConvChain(nn.Module):
    """``repeats`` × (depthwise k×k → pointwise 1×1 → BatchNorm) for ``edges`` edges.

    ``repeats = 2`` is SepConv (only the first depthwise conv strided, ReLU between the
    blocks), ``repeats = 1`` is DilConv.
    """

    def __init__(self, channels: int, edges: int, kernel: int, stride: int, padding: int,
                 dilation: int, repeats: int):
        super().__init__()
        self.channels, self.edges = channels, edges
        self.stride, self.padding, self.dilation = stride, padding, dilation
        total = channels * edges
        self.depthwise = nn.ParameterList(_conv_weight(total, 1, kernel) for _ in range(repeats))
        self.pointwise = nn.ParameterList(_conv_weight(total, channels, 1) for _ in range(repeats))
        self.norms = nn.ModuleList(BatchNorm2d(total, affine=False) for _ in range(repeats))

    @property
    def _norms(self) -> Iterable[BatchNorm2d]:
        """``self.norms``, typed as what it holds (``nn.ModuleList`` types its items as ``Module``)."""
        return cast(Iterable[BatchNorm2d], self.norms)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """All edges: ``x`` is the (activated) input repeated per edge, ``N × E·C × H × W``."""
        for r, (dw, pw, bn) in enumerate(zip(self.depthwise, self.pointwise, self._norms)):
            if r:
                x = F.relu(x)
            x = depthwise_conv2d(x, dw, self.stride if r == 0 else 1, self.padding, self.dilation)
            x = bn(F.conv2d(x, pw, groups=self.edges))
        return x

    def forward_edge(self, x: torch.Tensor, edge: int) -> torch.Tensor:
        """Edge ``edge`` alone on its (activated) input ``N × C × H × W``."""
        c = self.channels
        sl = slice(edge * c, (edge + 1) * c)
        for r, (dw, pw, bn) in enumerate(zip(self.depthwise, self.pointwise, self._norms)):
            if r:
                x = F.relu(x)
            x = depthwise_conv2d(x, dw[sl], self.stride if r == 0 else 1, self.padding, self.dilation)
            x = _batch_norm(F.conv2d(x, pw[sl]), bn, sl, self.training)
        return x


class StackedFactorizedReduce(nn.Module):
    """The stride-2 ``skip_connect`` (FactorizedReduce C → C) of ``edges`` edges."""

    def __init__(self, channels: int, edges: int):
        super().__init__()
        if channels % 2:
            raise ValueError(f"FactorizedReduce needs an even channel count, got {channels}")
        self.channels, self.edges = channels, edges
        half = channels // 2
        self.conv_1 = _conv_weight(edges * half, channels, 1)
        self.conv_2 = _conv_weight(edges * half, channels, 1)
        self.norm = BatchNorm2d(edges * channels, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """All edges from the shared (activated) input; ``N × E·C × H/2 × W/2``."""
        out = factorized_reduce(x, self.conv_1, self.conv_2)  # channels: branch, then edge, then half
        n, _, h, w = out.shape
        half = self.channels // 2
        # Reorder to edge, then branch, then half, with one copy in the storage order
        # (a channels_last result fed to BatchNorm keeps its backward on the fast kernels).
        if layout_of(out) is torch.channels_last:
            nhwc = out.permute(0, 2, 3, 1).view(n, h, w, 2, self.edges, half).transpose(3, 4)
            per_edge = nhwc.reshape(n, h, w, self.edges * self.channels).permute(0, 3, 1, 2)
        else:
            per_edge = out.view(n, 2, self.edges, half, h, w).transpose(1, 2).reshape(n, -1, h, w)
        return cast(torch.Tensor, self.norm(per_edge))

    def forward_edge(self, x: torch.Tensor, edge: int) -> torch.Tensor:
        half = self.channels // 2
        rows = slice(edge * half, (edge + 1) * half)
        out = factorized_reduce(x, self.conv_1[rows], self.conv_2[rows])
        sl = slice(edge * self.channels, (edge + 1) * self.channels)
        return _batch_norm(out, self.norm, sl, self.training)
