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

The other way round, PyTorch's channels_last BatchNorm kernel is fast only from
``PLAIN_BATCH_NORM_BELOW`` (16) channels on: at 4-12 channels forward and backward took
1.0-3.2× as long as converting to NCHW, normalising there and converting back (32 images
at 8×8 to 32×32, 2 cores), and at 16 and above it is 2-5× faster than that round trip.
So a channels_last CPU tensor with fewer channels is normalised in one of two ways:

* on large grids, *folded*: the channels_last memory of ``N × C × H × W`` is also that of
  ``N × kC × H × W/k`` (``k`` neighbouring pixels of a row side by side), whose ``kC ≥ 16``
  channels take the fast kernels; the ``k`` partial statistics of each channel are
  combined exactly (:class:`_FoldedBatchNorm`);
* on smaller grids, where the folded form's dozen small per-channel operations cost more
  than they save, by the NCHW round trip.

Which grids are large depends on the thread count (:func:`fold_factor`).
``bench/few_channel_batch_norm.py`` (forward and backward in training mode, 32 images,
4-12 channels, grids 16-48): with two threads folding was 1.1-2.9× faster than the round
trip from 32×32 on (8 channels: 0.38 against 0.56 ms) and 0.70-0.97× as fast below, except
at 8 channels on 24×24 (1.2×); with one thread it was 1.0-3.4× faster from 2,048 values per
image on (8 channels on 32×32: 0.47 against 0.90 ms) and slower only at 4 channels on
16×16 (0.82×).
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

PLAIN_BATCH_NORM_BELOW = 16
FOLD_BATCH_NORM_FROM = 1024
"""Pixels per channel and image (``H·W``) from which few channels are normalised folded,
with two or more threads."""
FOLD_BATCH_NORM_ONE_THREAD_FROM = 2048
"""Values per image (``C·H·W``) from which few channels are normalised folded, with one thread."""


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


def _few_channels_last(x: torch.Tensor) -> bool:
    """A channels_last CPU tensor with too few channels for PyTorch's fast BatchNorm kernels."""
    return (x.device.type == "cpu" and x.dim() == 4 and x.shape[1] < PLAIN_BATCH_NORM_BELOW
            and layout_of(x) is torch.channels_last)


def fold_width(channels: int) -> int:
    """How many neighbouring pixels a fold puts side by side for ``channels`` channels: the
    fewest that make at least ``PLAIN_BATCH_NORM_BELOW`` channels."""
    return -(-PLAIN_BATCH_NORM_BELOW // channels)


def fold_factor(x: torch.Tensor) -> int:
    """How many neighbouring pixels BatchNorm of ``x`` (a channels_last CPU tensor with few
    channels) folds into its channels; 1: none, it is normalised in NCHW.  Never under
    ``torch.compile``, whose own kernels need neither."""
    if torch.compiler.is_compiling() or not _few_channels_last(x):
        return 1
    channels, rows, cols = x.shape[1:]
    k = fold_width(channels)
    if torch.get_num_threads() == 1:
        large = channels * rows * cols >= FOLD_BATCH_NORM_ONE_THREAD_FROM
    else:
        large = rows * cols >= FOLD_BATCH_NORM_FROM
    return k if large and cols % k == 0 and x.dtype in (torch.float32, torch.float64) else 1


def _folded(t: torch.Tensor, k: int) -> torch.Tensor:
    """``N × C × H × W`` as ``N × kC × H × W/k`` channels_last: a view of a channels_last
    ``t`` (channel ``j·C + c`` holds channel ``c`` of the pixels ``j`` mod ``k`` of each row),
    a copy of any other."""
    n, c, h, w = t.shape
    return t.permute(0, 2, 3, 1).reshape(n, h, w // k, k * c).permute(0, 3, 1, 2)


def _unfolded(t: torch.Tensor, k: int) -> torch.Tensor:
    """The inverse of :func:`_folded` for its channels_last result: a view."""
    n, kc, h, w = t.shape
    return t.permute(0, 2, 3, 1).reshape(n, h, w * k, kc // k).permute(0, 3, 1, 2)


def _per_channel(v: torch.Tensor | None, k: int) -> torch.Tensor | None:
    """A per-channel vector for the ``kC`` folded channels (``cat``: one operation, where
    ``repeat`` makes a dozen)."""
    return None if v is None else torch.cat([v] * k)


class _FoldedBatchNorm(torch.autograd.Function):
    """Training-mode BatchNorm of a channels_last tensor with few channels, run folded
    (see the module's docstring); the same numbers as ``F.batch_norm`` up to float rounding.

    Forward: PyTorch's statistics kernel gives each folded channel's mean and biased variance
    over ``1/k`` of the pixels; a channel's mean is the mean of its ``k`` means and its
    variance the mean of their variances plus the variance of their means.  The running
    statistics are updated as ``F.batch_norm`` does (the variance unbiased), and the
    normalisation is an eval-mode BatchNorm of the folded tensor with those statistics.

    Backward: with ``x̂`` the normalised input, ``∂L/∂x = γ·σ⁻¹·(g − mean(g) − x̂·mean(g·x̂))``
    per channel.  PyTorch's BatchNorm backward on the folded tensor, asked only for the
    affine gradients, gives ``Σ g·x̂`` and ``Σ g`` per folded channel; summed over the ``k``
    folds, they are also ``γ``'s and ``β``'s gradients.  ``∂L/∂x`` is then ``a·g + b·x + d``
    with per-channel ``a``, ``b``, ``d``: two passes over the tensor.  The backward is not
    itself differentiable (the statistics are saved as constants): a second derivative
    raises instead of coming out wrong.  Nothing here needs one (DARTS' second-order step
    takes finite differences).

    The output is the folded ``N × kC × H × W/k`` tensor, unfolded by the caller: a view made
    outside the function, which in-place operations after BatchNorm (an in-place ReLU) may
    change, as they may ``F.batch_norm``'s output.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
                running_mean: torch.Tensor | None, running_var: torch.Tensor | None,
                momentum: float, eps: float, k: int) -> torch.Tensor:
        n, c, h, w = x.shape
        count = n * h * w
        folded = _folded(x, k)
        part_mean, part_var = (s.view(k, c) for s in torch.batch_norm_update_stats(folded, None, None, 0.0))
        spread, mean = torch.var_mean(part_mean, 0, correction=0)
        var = part_var.mean(0) + spread
        with torch.no_grad():
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
            if running_var is not None:
                running_var.mul_(1 - momentum).add_(var, alpha=momentum * count / (count - 1))
        invstd = (var + eps).rsqrt()
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.k = k
        return F.batch_norm(folded, _per_channel(mean, k), _per_channel(var, k), _per_channel(weight, k),
                            _per_channel(bias, k), False, 0.0, eps)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight, mean, invstd = ctx.saved_tensors
        k = ctx.k
        n, c, h, w = x.shape
        count = n * h * w
        folded_x, folded_grad = _folded(x, k), grad.contiguous(memory_format=torch.channels_last)
        _, part_grad_xhat, part_grad = torch.ops.aten.native_batch_norm_backward(
            folded_grad, folded_x, None, None, None, _per_channel(mean, k), _per_channel(invstd, k), True, 0.0,
            [False, True, True])
        sum_grad_xhat, sum_grad = part_grad_xhat.view(k, c).sum(0), part_grad.view(k, c).sum(0)
        grad_x = None
        if ctx.needs_input_grad[0]:
            a = invstd if weight is None else weight * invstd
            b = -a * invstd * sum_grad_xhat / count
            d = -a * sum_grad / count - b * mean
            a, b, d = (cast(torch.Tensor, _per_channel(v, k)).view(1, -1, 1, 1) for v in (a, b, d))
            grad_x = _unfolded(torch.addcmul(d, folded_x, b).addcmul_(folded_grad, a), k)
        grad_weight = sum_grad_xhat if ctx.needs_input_grad[1] else None
        grad_bias = sum_grad if ctx.needs_input_grad[2] else None
        return grad_x, grad_weight, grad_bias, None, None, None, None, None


def batch_norm(x: torch.Tensor, running_mean: torch.Tensor | None, running_var: torch.Tensor | None,
               training: bool, momentum: float, eps: float, weight: torch.Tensor | None = None,
               bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.batch_norm``; for a channels_last CPU tensor with few channels, folded on large
    grids and in NCHW on small ones (see the module's docstring)."""
    if not _few_channels_last(x):
        return F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
    k = fold_factor(x)
    if k > 1 and training:
        folded = _FoldedBatchNorm.apply(x, weight, bias, running_mean, running_var, momentum, eps, k)
        return _unfolded(cast(torch.Tensor, folded), k)
    if k > 1:  # statistics given: a per-channel affine map, the same on every fold
        y = F.batch_norm(_folded(x, k), _per_channel(running_mean, k), _per_channel(running_var, k),
                         _per_channel(weight, k), _per_channel(bias, k), False, momentum, eps)
        return _unfolded(y, k)
    plain = F.batch_norm(_ToLayout.apply(x, torch.contiguous_format), running_mean, running_var, weight, bias,
                         training, momentum, eps)
    return cast(torch.Tensor, _ToLayout.apply(plain, torch.channels_last))


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` (same parameters, buffers and state dict) that normalises
    channels_last CPU tensors with few channels by :func:`batch_norm`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _few_channels_last(x):
            return super().forward(x)
        # nn.BatchNorm2d's own choice of momentum, statistics and buffers, then batch_norm
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative average
                momentum = 1.0 / float(self.num_batches_tracked)
        batch_statistics = self.training or (self.running_mean is None and self.running_var is None)
        buffers = not self.training or self.track_running_stats
        return batch_norm(x, self.running_mean if buffers else None, self.running_var if buffers else None,
                          batch_statistics, momentum, self.eps, self.weight, self.bias)
