"""Memory-layout rules that keep channels_last training fast on the CPU.

Gradients are handed back in the layout of the activations they belong to.  With
channels_last activations, several autograd formulas hand back gradients that are
not channels_last: spatial slicing (``x[:, :, ::2, ::2]``) and global average pooling
give NCHW, ``conv2d_input`` gives NCHW, and ``torch.cat``'s backward gives each input a
strided channel slice.  Every later backward op then mixes layouts and falls off
PyTorch's fast CPU kernels.  Measured on 2 cores: ``threshold_backward`` of a
32×32×32×32 ReLU, 3.4 ms mixed against 0.19 ms matched; BatchNorm's backward at
32×16×16×16, 1.09 ms for a channel-slice gradient against 0.14 ms for a channels_last
one.  One copy at the source of the mismatch costs about as much as one matched
elementwise op.

The other way round, BatchNorm of a channels_last CPU tensor with fewer than
``PLAIN_BATCH_NORM_BELOW`` channels runs in NCHW: PyTorch's channels_last BatchNorm kernel
is fast only from 16 channels on, and at 4-12 channels forward and backward took 1.0-3.2×
as long as converting to NCHW, normalising there and converting back (32 images at 8×8
to 32×32, 2 cores).  At 16 channels and above it is 2-5× faster than that round trip.
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

PLAIN_BATCH_NORM_BELOW = 16


def layout_of(x: torch.Tensor) -> torch.memory_format:
    """channels_last for a 4-D tensor stored that way (and not also plain contiguous), else contiguous."""
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


class _ToLayout(torch.autograd.Function):
    """``x`` in ``layout`` (copied if it is not); its gradient is handed back in ``x``'s layout."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, layout: torch.memory_format) -> torch.Tensor:
        ctx.layout = layout_of(x)
        out = x.contiguous(memory_format=layout)
        return out.view_as(out) if out is x else out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad.contiguous(memory_format=ctx.layout), None


def grad_in_input_layout(x: torch.Tensor) -> torch.Tensor:
    """``x`` itself; its gradient is handed back in ``x``'s memory format.

    A no-op (no autograd node) for NCHW tensors and when no gradient is needed.
    """
    if not (x.requires_grad and torch.is_grad_enabled()) or layout_of(x) is not torch.channels_last:
        return x
    return cast(torch.Tensor, _ToLayout.apply(x, torch.channels_last))


def _normalise_in_nchw(x: torch.Tensor) -> bool:
    return (x.device.type == "cpu" and x.dim() == 4 and x.shape[1] < PLAIN_BATCH_NORM_BELOW
            and layout_of(x) is torch.channels_last)


def batch_norm(x: torch.Tensor, running_mean: torch.Tensor | None, running_var: torch.Tensor | None,
               training: bool, momentum: float, eps: float) -> torch.Tensor:
    """Affine-free ``F.batch_norm``, in NCHW for channels_last CPU tensors with few channels."""
    if not _normalise_in_nchw(x):
        return F.batch_norm(x, running_mean, running_var, None, None, training, momentum, eps)
    plain = F.batch_norm(_ToLayout.apply(x, torch.contiguous_format), running_mean, running_var, None, None,
                         training, momentum, eps)
    return cast(torch.Tensor, _ToLayout.apply(plain, torch.channels_last))


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` (same parameters, buffers and state dict) that normalises
    channels_last CPU tensors with few channels in NCHW."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _normalise_in_nchw(x):
            return super().forward(x)
        plain = super().forward(_ToLayout.apply(x, torch.contiguous_format))
        return cast(torch.Tensor, _ToLayout.apply(plain, torch.channels_last))
