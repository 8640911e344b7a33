"""The pools of the search cells: ATen's kernels under ``torch.compile``, and the 3×3 average
pool as separable sums on the CPU.

Inductor lowers a max or average pool, and their backward, to loops of its own whose
index arithmetic names every window bound as ``Min``/``Max`` terms (and the divisor of an
average pool that does not count padding as products of them).  Its C++ code generator
simplifies each such index with SymPy, and for the 3×3 pools of a DARTS cell that was the
largest single part of a cold compile: at ``bench/search_step.py`` config a (5 cells,
C = 8, batch 32) the first compiled step took 470 s with Inductor's pools and 268 s with
the ones below, and the compiled step was no slower (figures in ``bench/README.md``).

:class:`MaxPool2d` and :class:`AvgPool2d` are ``nn.MaxPool2d`` and ``nn.AvgPool2d``.  Traced
by ``torch.compile`` with a square window they call the custom operators
``snas::max_pool2d`` / ``snas::avg_pool2d``, whose forward and backward are each one ATen
kernel call that Inductor leaves opaque, with ATen's values and gradients.  The cost: a
compiled max pool saves ATen's int64 window indices for its backward (3% more saved tensors
in a trace of config a at batch 8), and no second derivative is registered under compile
(the search takes none).

Run eagerly they are those modules (the same ATen calls and autograd), with one exception:
the cells' 3×3 average pool with stride 1, padding not counted, runs on the CPU as
:func:`box_average` where that is faster (:func:`box_average_applies`): three shifted
columns summed, then three shifted rows, divided by each window's pixel count --
whole-tensor additions instead of ATen's per-window loop, whose channels_last kernel
vectorises over the channels (so runs nearly scalar at the 8 channels of a cell at C = 8)
and whose NCHW kernel works plane by plane.  Its values equal ATen's up to the order of the
additions (float rounding).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

import torch
from torch import Tensor, nn

_aten = torch.ops.aten


def _window(kernel_size: int, stride: int, padding: int) -> tuple[list[int], list[int], list[int]]:
    return [kernel_size] * 2, [stride] * 2, [padding] * 2


def _in_layout(channels_last: bool, *tensors: Tensor) -> list[Tensor]:
    """``tensors`` dense in the layout the traced graph had (a no-op when they are).

    Inductor may hand an opaque operator its input in a layout of its own choosing (NCHW
    for a node's sum that the traced graph had in channels_last), and ATen's pools are
    several times slower in NCHW at few channels; copying back is cheaper.  Deciding the
    layout here, in the operator, also keeps the output's strides what tracing saw."""
    layout = torch.channels_last if channels_last else torch.contiguous_format
    return [t.contiguous(memory_format=layout) for t in tensors]


def _aten_max_pool2d(x: Tensor, kernel_size: int, stride: int, padding: int,
                     channels_last: bool) -> tuple[Tensor, Tensor]:
    """A square max pool and the flat index of each window's maximum (ATen's)."""
    (x,) = _in_layout(channels_last, x)
    return cast(tuple[Tensor, Tensor], _aten.max_pool2d_with_indices(x, *_window(kernel_size, stride, padding)))


def _aten_max_pool2d_backward(grad: Tensor, x: Tensor, indices: Tensor, kernel_size: int, stride: int,
                              padding: int, channels_last: bool) -> Tensor:
    """The gradient of a max pool with respect to ``x`` (ATen's)."""
    grad, x, indices = _in_layout(channels_last, grad, x, indices)
    return cast(Tensor, _aten.max_pool2d_with_indices_backward(
        grad, x, *_window(kernel_size, stride, padding), [1, 1], False, indices))


def _aten_avg_pool2d(x: Tensor, kernel_size: int, stride: int, padding: int, count_include_pad: bool,
                     channels_last: bool) -> Tensor:
    """A square average pool (ATen's)."""
    (x,) = _in_layout(channels_last, x)
    return cast(Tensor, _aten.avg_pool2d(x, *_window(kernel_size, stride, padding), False, count_include_pad))


def _aten_avg_pool2d_backward(grad: Tensor, x: Tensor, kernel_size: int, stride: int, padding: int,
                              count_include_pad: bool, channels_last: bool) -> Tensor:
    """The gradient of an average pool with respect to ``x`` (ATen's)."""
    grad, x = _in_layout(channels_last, grad, x)
    return cast(Tensor, _aten.avg_pool2d_backward(
        grad, x, *_window(kernel_size, stride, padding), False, count_include_pad, None))


def _opaque(name: str, fn: Callable[..., Any]) -> Any:
    """``fn`` as the custom operator ``snas::<name>``; its output's shape, dtype and strides
    for tracing are what ``fn`` gives on fake tensors (ATen's meta functions)."""
    op = torch.library.custom_op(f"snas::{name}", fn, mutates_args=())
    op.register_fake(fn)
    return op


max_pool2d = _opaque("max_pool2d", _aten_max_pool2d)
max_pool2d_backward = _opaque("max_pool2d_backward", _aten_max_pool2d_backward)
avg_pool2d = _opaque("avg_pool2d", _aten_avg_pool2d)
avg_pool2d_backward = _opaque("avg_pool2d_backward", _aten_avg_pool2d_backward)


def _max_pool2d_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, Tensor]) -> None:
    x, *ctx.arguments = inputs
    ctx.save_for_backward(x, output[1])
    ctx.mark_non_differentiable(output[1])


def _max_pool2d_gradient(ctx: Any, grad: Tensor, _grad_indices: Tensor | None) -> tuple[Tensor | None, ...]:
    x, indices = ctx.saved_tensors
    return max_pool2d_backward(grad, x, indices, *ctx.arguments), *[None] * len(ctx.arguments)


def _avg_pool2d_context(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
    x, *ctx.arguments = inputs
    ctx.save_for_backward(x)


def _avg_pool2d_gradient(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
    (x,) = ctx.saved_tensors
    return avg_pool2d_backward(grad, x, *ctx.arguments), *[None] * len(ctx.arguments)


max_pool2d.register_autograd(_max_pool2d_gradient, setup_context=_max_pool2d_context)
avg_pool2d.register_autograd(_avg_pool2d_gradient, setup_context=_avg_pool2d_context)


def _channels_last(x: Tensor) -> bool:
    """Whether ATen would pool ``x`` in channels_last: its channels are the innermost
    dimension (a channels_last tensor, or a channel slice of one) and it is not also plain
    contiguous (one channel, or a 1×1 grid)."""
    return x.dim() == 4 and x.stride(1) == 1 and not x.is_contiguous()


def _square(value: object) -> int | None:
    """An int, or a pair of equal ints, as one int; ``None`` for anything else."""
    if isinstance(value, int):
        return value
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1] and isinstance(value[0], int):
        return value[0]
    return None


def _square_window(pool: nn.MaxPool2d | nn.AvgPool2d) -> tuple[int, int, int] | None:
    """``pool``'s kernel size, stride and padding if the operators here implement it (square,
    no ceil mode), read when it runs so that a changed attribute counts; else ``None``."""
    window = (_square(pool.kernel_size), _square(pool.stride), _square(pool.padding))
    if pool.ceil_mode or any(v is None for v in window):
        return None
    return cast(tuple[int, int, int], window)


class MaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d``; under ``torch.compile``, :func:`max_pool2d` where it applies (a square
    window, no dilation, ceil mode or returned indices), Inductor's own lowering elsewhere."""

    def forward(self, x: Tensor) -> Tensor:
        window = _square_window(self) if torch.compiler.is_compiling() else None
        if window is not None and _square(self.dilation) == 1 and not self.return_indices:
            return cast(Tensor, max_pool2d(x, *window, _channels_last(x))[0])
        return cast(Tensor, super().forward(x))


BOX_AVERAGE_CHANNELS_LAST_BELOW = 32
"""Channels below which a channels_last tensor is averaged by :func:`box_average` ..."""
BOX_AVERAGE_CHANNELS_LAST_FROM = 256
"""... on a grid of at least this many pixels."""
BOX_AVERAGE_FROM = 64
"""Pixels from which an NCHW tensor is averaged by :func:`box_average` (and any grid from
``BOX_AVERAGE_CHANNELS_LAST_BELOW`` channels on)."""


def box_average_applies(x: Tensor) -> bool:
    """Whether :func:`box_average` is the faster eager 3×3 average pool of ``x`` (a CPU tensor).

    ``bench/box_average.py`` (forward and backward, 32 images of 8-256 channels on 4×4 to
    32×32 grids, torch 2.14.1, AMD EPYC, 2026-12-07), ATen's time over the box sums': in
    channels_last, 1.3-2.5× with 8 and 16 channels on grids of 256 pixels or more, at 1 and 2
    threads, and 0.4-1.2× elsewhere (from 32 channels the box sums' seven passes over the
    tensor cost more than ATen's vectorised loop; on small grids the calls dominate).  In
    NCHW, where ATen's loop runs per plane, 1.3-6.7× on grids of 64 pixels or more and 1.2-3.3×
    on 4×4 grids from 32 channels; 0.6-1.4× on 4×4 grids with fewer.
    """
    if x.device.type != "cpu" or x.dim() != 4:
        return False
    pixels = x.shape[-2] * x.shape[-1]
    if _channels_last(x):
        return x.shape[1] < BOX_AVERAGE_CHANNELS_LAST_BELOW and pixels >= BOX_AVERAGE_CHANNELS_LAST_FROM
    return pixels >= BOX_AVERAGE_FROM or x.shape[1] >= BOX_AVERAGE_CHANNELS_LAST_BELOW


@functools.lru_cache(maxsize=64)
def _window_counts(rows: int, cols: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``rows × cols``: how many pixels of the grid each 3×3 window centred there covers."""
    def along(n: int) -> Tensor:
        i = torch.arange(n)
        return (i + 1).clamp(max=n - 1) - (i - 1).clamp(min=0) + 1
    return (along(rows)[:, None] * along(cols)[None, :]).to(dtype=dtype, device=device)


def _box_sum(x: Tensor) -> Tensor:
    """Each pixel's 3×3 neighbourhood summed (the grid zero-padded), in ``x``'s layout:
    three shifted columns, then three shifted rows."""
    rows = x.clone()
    rows[..., 1:] += x[..., :-1]
    rows[..., :-1] += x[..., 1:]
    total = rows.clone()
    total[..., 1:, :] += rows[..., :-1, :]
    total[..., :-1, :] += rows[..., 1:, :]
    return total


class _BoxAverage(torch.autograd.Function):
    """The 3×3 average with stride 1, padding 1, padding not counted.  The window is its own
    transpose, so the gradient is the same box sum of the output gradient over the counts."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.counts = _window_counts(x.shape[-2], x.shape[-1], x.dtype, x.device)
        return _box_sum(x).div_(ctx.counts)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return _box_sum(grad / ctx.counts)


def box_average(x: Tensor) -> Tensor:
    """``F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)`` as separable sums (see the module's
    docstring), in ``x``'s memory format; equal to it up to float rounding."""
    return cast(Tensor, _BoxAverage.apply(x))


class AvgPool2d(nn.AvgPool2d):
    """``nn.AvgPool2d``; eagerly :func:`box_average` where it applies and is faster (3×3,
    stride 1, padding 1 not counted, see :func:`box_average_applies`); under
    ``torch.compile``, :func:`avg_pool2d` where it applies (a square window, no ceil mode or
    divisor override), Inductor's own lowering elsewhere."""

    def forward(self, x: Tensor) -> Tensor:
        window = _square_window(self)
        if window is None or self.divisor_override is not None:
            return super().forward(x)
        if torch.compiler.is_compiling():
            return cast(Tensor, avg_pool2d(x, *window, self.count_include_pad, _channels_last(x)))
        if window == (3, 1, 1) and not self.count_include_pad and box_average_applies(x):
            return box_average(x)
        return super().forward(x)
