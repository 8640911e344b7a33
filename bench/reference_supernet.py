"""The baseline: a search supernet written as the public DARTS/SNAS reference code writes it.

Every edge is a ``MixedOp`` holding one module per primitive (pools followed by an
affine-free BatchNorm, ``none`` a real multiply by zero) and computes
``sum(w * op(x) for w, op in zip(weights, ops))``; no sharing, no stacking, no layout
tricks: every convolution is a plain ``nn.Conv2d`` call, as is each branch of the
stride-2 skip (FactorizedReduce).  ``load_into``
copies its weights into our :class:`snas.spaces.darts.supernet.SuperNet`, so the benchmark can check
both compute the same function before it times them.
"""

from __future__ import annotations

import torch
from torch import nn

from snas.spaces.darts.ops import CONV_SPECS, build_op
from snas.spaces.darts.primitives import INPUT_NODES, PRIMITIVES, STEPS, cell_edges, reduction_layers
from snas.spaces.darts.supernet import SuperNet


class PlainReLUConvBN(nn.Sequential):
    """ReLU → 1×1 conv → affine-free BatchNorm, the cell preprocessing of the reference code."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=False),
        )


class PlainDilConv(nn.Sequential):
    """ReLU → dilated depthwise conv → pointwise conv → BatchNorm, as the reference code has it."""

    def __init__(self, channels: int, stride: int, kernel: int, padding: int, dilation: int):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, stride, padding, dilation, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels, affine=False),
        )


class PlainSepConv(nn.Sequential):
    """Two (ReLU → depthwise conv → pointwise conv → BatchNorm) blocks, the first strided."""

    def __init__(self, channels: int, stride: int, kernel: int, padding: int):
        super().__init__(
            *PlainDilConv(channels, stride, kernel, padding, 1),
            *PlainDilConv(channels, 1, kernel, padding, 1),
        )


class PlainFactorizedReduce(nn.Module):
    """Two stride-2 1×1 convolutions, on ``x`` and on ``x`` shifted by one pixel, concatenated."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


def plain_op(primitive: str, channels: int, stride: int) -> nn.Module:
    """One candidate op as the reference code builds it (pools carry their BatchNorm)."""
    spec = CONV_SPECS.get(primitive)
    if primitive.startswith("dil_conv"):
        return PlainDilConv(channels, stride, spec.kernel, spec.padding, spec.dilation)
    if primitive.startswith("sep_conv"):
        return PlainSepConv(channels, stride, spec.kernel, spec.padding)
    if primitive == "skip_connect" and stride == 2:
        return PlainFactorizedReduce(channels, channels)
    op = build_op(primitive, channels, stride, affine=False)
    return nn.Sequential(op, nn.BatchNorm2d(channels, affine=False)) if "pool" in primitive else op


class MixedOp(nn.Module):
    def __init__(self, channels: int, stride: int):
        super().__init__()
        self.ops = nn.ModuleList(plain_op(primitive, channels, stride) for primitive in PRIMITIVES)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return sum(w * op(x) for w, op in zip(weights, self.ops))


class Cell(nn.Module):
    def __init__(self, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = PlainFactorizedReduce(c_pp, c) if reduction_prev else PlainReLUConvBN(c_pp, c)
        self.preprocess1 = PlainReLUConvBN(c_p, c)
        self.edges = nn.ModuleList(
            MixedOp(c, 2 if reduction and source < INPUT_NODES else 1) for source, _ in cell_edges())

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        offset = 0
        for _ in range(STEPS):
            s = sum(self.edges[offset + j](h, weights[offset + j]) for j, h in enumerate(states))
            offset += len(states)
            states.append(s)
        return torch.cat(states[-STEPS:], dim=1)


class ReferenceSuperNet(nn.Module):
    def __init__(self, channels: int, num_classes: int, layers: int, in_channels: int = 3):
        super().__init__()
        c_curr = 3 * channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr))
        c_pp, c_p, c_curr = c_curr, c_curr, channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in reduction_layers(layers)
            if reduction:
                c_curr *= 2
            self.cells.append(Cell(c_pp, c_p, c_curr, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, STEPS * c_curr
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor, normal: torch.Tensor, reduce: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, reduce if cell.reduction else normal)
        return self.classifier(self.global_pooling(s1).flatten(1))


@torch.no_grad()
def load_into(reference: ReferenceSuperNet, ours: SuperNet) -> None:
    """Copy the reference network's weights into ours (edge by edge, op by op)."""
    ours.stem.load_state_dict(reference.stem.state_dict())
    ours.classifier.load_state_dict(reference.classifier.state_dict())
    for ref_cell, cell in zip(reference.cells, ours.cells):
        cell.preprocess0.load_state_dict(ref_cell.preprocess0.state_dict())
        cell.preprocess1.load_state_dict(ref_cell.preprocess1.state_dict())
        for e, (source, _) in enumerate(cell_edges()):
            group = cell.sources[source]
            i = group.edge_ids.index(e)
            mixed = ref_cell.edges[e].ops
            for name, chain in group.convs.items():
                layers = [m for m in mixed[PRIMITIVES.index(name)] if isinstance(m, nn.Conv2d)]
                c = chain.channels
                for r in range(len(chain.depthwise)):
                    chain.depthwise[r][i * c:(i + 1) * c] = layers[2 * r].weight
                    chain.pointwise[r][i * c:(i + 1) * c] = layers[2 * r + 1].weight
            if group.reduce_skip is not None:
                fr = mixed[PRIMITIVES.index("skip_connect")]
                half = group.reduce_skip.channels // 2
                group.reduce_skip.conv_1[i * half:(i + 1) * half] = fr.conv_1.weight
                group.reduce_skip.conv_2[i * half:(i + 1) * half] = fr.conv_2.weight
