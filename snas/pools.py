"""Pools that a compiled graph calls as ATen's kernels instead of generating its own.

Inductor lowers a max or average pool, and their backward, to loops of its own whose
index arithmetic names every window bound as ``Min``/``Max`` terms (and the divisor of an
average pool that does not count padding as products of them).  Its C++ code generator
simplifies each such index with SymPy, and for the 3×3 pools of a DARTS cell that was the
largest single part of a cold compile: at ``bench/search_step.py`` config a (5 cells,
C = 8, batch 32) the first compiled step took 470 s with Inductor's pools and 268 s with
the ones below, and the compiled step was no slower (figures in ``bench/README.md``).

:class:`MaxPool2d` and :class:`AvgPool2d` are ``nn.MaxPool2d`` and ``nn.AvgPool2d``.  Run
eagerly they *are* those modules (the same ATen calls and autograd, so every eager result
is unchanged); traced by ``torch.compile`` with a square window they call the custom
operators ``snas::max_pool2d`` / ``snas::avg_pool2d``, whose forward and backward are each
one ATen kernel call that Inductor leaves opaque.  The values and gradients are ATen's in
both cases.  The cost: a compiled max pool saves ATen's int64 window indices for its
backward (3% more saved tensors in a trace of config a at batch 8), and no second
derivative is registered under compile (the search takes none).
"""

from __future__ import annotations

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


class AvgPool2d(nn.AvgPool2d):
    """``nn.AvgPool2d``; under ``torch.compile``, :func:`avg_pool2d` where it applies (a square
    window, no ceil mode or divisor override), Inductor's own lowering elsewhere."""

    def forward(self, x: Tensor) -> Tensor:
        window = _square_window(self) if torch.compiler.is_compiling() else None
        if window is not None and self.divisor_override is None:
            return cast(Tensor, avg_pool2d(x, *window, self.count_include_pad, _channels_last(x)))
        return super().forward(x)
