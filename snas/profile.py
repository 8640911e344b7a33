"""Counting parameters, MACs and memory accesses of a module for a given input size.

One counter serves both the resource costs of every candidate op in every search cell
(from the real input shape each cell sees) and the size of child networks.  The module is
built on PyTorch's ``meta`` device (no weight initialisation), given uninitialised CPU
storage, and run once on a single zero image with hooks on its layers: a 20-cell
evaluation network takes a few tenths of a second.  (Running on ``meta`` itself is ten
times slower: its kernels are Python decompositions.)

Conventions:

* **MACs** are multiply-accumulates of convolutions and linear layers for one image
  (what NAS papers call FLOPs or mult-adds; ``FlopCounterMode`` reports 2 FLOPs per MAC).
  Pooling, BatchNorm and ReLU count 0 MACs.
* **memory access** (MAC in the ShuffleNet-v2 sense) is the number of tensor elements each
  convolution, linear or pooling layer reads and writes, weights included; BatchNorm and
  ReLU are assumed fused into their producer.  For convolutions and the memory of pools
  this agrees with the official SNAS code's per-op formulas; it differs where the official
  code counts what is not executed (pool MACs 9·y²·C, an identity's 2·C·y² accesses, the
  shifted half of a stride-2 skip as 4y² pixels instead of its (2y−1)²).  The resource
  penalty uses the official formulas unless told otherwise (:mod:`snas.resource`).
* **params** count every parameter (DARTS ``count_parameters_in_MB``); callers exclude the
  auxiliary head.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from snas.ops import FactorizedReduce


@dataclass(frozen=True)
class Profile:
    """Size of a module for one input image."""

    params: int
    macs: int
    memory_access: int

    @property
    def params_m(self) -> float:
        return self.params / 1e6

    @property
    def macs_m(self) -> float:
        return self.macs / 1e6


_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)


def count_forward(module: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(MACs, memory accesses) of one forward pass of ``module`` on one image.

    ``input_shape`` excludes the batch dimension.  A module built on the ``meta`` device
    is first given (uninitialised) CPU storage; its outputs are meaningless, its shapes
    are not.  Every kernel tap counts, as in the papers' tables, including taps that read
    only padding; on grids narrower than a kernel the network crops those and executes
    fewer (:func:`snas.ops.depthwise_conv2d`).
    """
    if any(p.is_meta for p in module.parameters()) or any(b.is_meta for b in module.buffers()):
        module.to_empty(device="cpu")
    totals = {"macs": 0, "memory": 0}

    def conv_hook(layer: nn.Conv2d, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        kh, kw = layer.kernel_size
        totals["macs"] += output.numel() * (layer.in_channels // layer.groups) * kh * kw
        totals["memory"] += inputs[0].numel() + output.numel() + layer.weight.numel()

    def linear_hook(layer: nn.Linear, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        totals["macs"] += output.numel() * layer.in_features
        totals["memory"] += inputs[0].numel() + output.numel() + layer.weight.numel()

    def factorized_reduce_hook(layer: FactorizedReduce, inputs: tuple[torch.Tensor, ...],
                               output: torch.Tensor) -> None:
        """Its two stride-2 1×1 convolutions, counted as the separate layers of the
        reference design, on ``x`` and on ``x[:, :, 1:, 1:]`` (one fused call here)."""
        n, c_in, rows, cols = inputs[0].shape
        branch_weights = layer.conv_1.weight.numel()
        totals["macs"] += output.numel() * c_in
        totals["memory"] += (n * c_in * (rows * cols + (rows - 1) * (cols - 1)) + output.numel()
                             + 2 * branch_weights)

    def pool_hook(layer: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        totals["memory"] += inputs[0].numel() + output.numel()

    handles = []
    for layer in module.modules():
        if isinstance(layer, FactorizedReduce):
            handles.append(layer.register_forward_hook(factorized_reduce_hook))
        elif isinstance(layer, nn.Conv2d):  # FactorizedReduce's own are never called
            handles.append(layer.register_forward_hook(conv_hook))
        elif isinstance(layer, nn.Linear):
            handles.append(layer.register_forward_hook(linear_hook))
        elif isinstance(layer, _POOLS):
            handles.append(layer.register_forward_hook(pool_hook))
    try:
        with torch.inference_mode():
            module(torch.zeros((1, *input_shape)))
    finally:
        for handle in handles:
            handle.remove()
    return totals["macs"], totals["memory"]
