"""The layers candidate ops are built of: ReLU-conv-BN, separable and dilated convolutions,
the factorized reduction and the zero op, with the CPU kernels that make them fast.

The spaces name their ops from these (:mod:`snas.spaces.darts.ops`,
:mod:`snas.spaces.nas_bench_201.ops`); the DARTS supernet runs the same arithmetic with the
weights of all edges leaving a node stacked (:mod:`snas.stacked`).
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.grad import conv2d_input

from snas.layout import BatchNorm2d, grad_in_input_layout, layout_of


class ReLUConvBN(nn.Sequential):
    """ReLU → k×k convolution → BatchNorm; the cell preprocessing layer."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            BatchNorm2d(c_out, affine=affine),
        )

    def after_relu(self, activated: torch.Tensor) -> torch.Tensor:
        """The layer for an input already through ReLU (shared by the cells reading it)."""
        return cast(torch.Tensor, self[2](self[1](activated)))


def depthwise_conv2d(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int,
                     dilation: int) -> torch.Tensor:
    """Depthwise convolution (``groups`` = channels), the same numbers as ``F.conv2d``.

    On the CPU, oneDNN's backward pass for *dilated* depthwise convolution is 3-8× slower
    than forward and backward of an undilated one with the same work (measured at the
    search sizes; ``dil_conv`` was then the largest single cost of a search step).  A
    "same"-padded convolution of dilation ``d`` only ever combines pixels whose row and
    column agree modulo ``d``, so it equals undilated convolutions on the ``d²`` sub-grids
    (TensorFlow's space-to-batch form of atrous convolution): with stride ``d`` only the
    first sub-grid is read; with stride 1 the sub-grids are stacked as channels
    (:func:`to_sub_grids`) and put back (:func:`from_sub_grids`), which pays off only while
    a sub-grid is at least a kernel wide (below that the copies cost more than they save).
    GPUs handle dilation natively and take the plain call.
    """
    channels, _, kernel, _ = weight.shape
    d = dilation
    if d > 1 and x.device.type == "cpu" and kernel % 2 == 1 and padding == d * (kernel // 2):
        if stride == d:
            return _depthwise_call(grad_in_input_layout(x)[:, :, ::d, ::d], weight, 1, kernel // 2, 1)
        rows, cols = x.shape[-2], x.shape[-1]
        if stride == 1 and rows % d == 0 and cols % d == 0 and min(rows, cols) // d >= kernel:
            out = _depthwise_call(to_sub_grids(x, d), weight.repeat(d * d, 1, 1, 1), 1, kernel // 2, 1)
            return from_sub_grids(out, d)
    return _depthwise_call(x, weight, stride, padding, d)


def to_sub_grids(x: torch.Tensor, d: int) -> torch.Tensor:
    """``N × C × d·h × d·w`` as its ``d²`` sub-grids stacked grid-major along channels:
    channel ``(i·d + j)·C + c`` is ``x[:, c, i::d, j::d]``.  One copy, in ``x``'s memory format.

    ``pixel_unshuffle`` stacks the same sub-grids channel-major (``c·d² + i·d + j``): on a
    channels_last tensor that order moves single floats, this one runs of ``C`` floats,
    4-10× faster at the search's shapes (the way back 1.2-4×), with the same values.
    """
    n, c, rows, cols = x.shape
    h, w = rows // d, cols // d
    if layout_of(x) is torch.channels_last:
        grids = x.permute(0, 2, 3, 1).reshape(n, h, d, w, d, c).transpose(2, 3)
        return grids.reshape(n, h, w, d * d * c).permute(0, 3, 1, 2)
    return x.reshape(n, c, h, d, w, d).permute(0, 3, 5, 1, 2, 4).reshape(n, d * d * c, h, w)


def from_sub_grids(y: torch.Tensor, d: int) -> torch.Tensor:
    """The inverse of :func:`to_sub_grids`, in ``y``'s memory format."""
    n, stacked, h, w = y.shape
    c = stacked // (d * d)
    if layout_of(y) is torch.channels_last:
        grid = y.permute(0, 2, 3, 1).reshape(n, h, w, d, d, c).transpose(2, 3)
        return grid.reshape(n, h * d, w * d, c).permute(0, 3, 1, 2)
    return y.reshape(n, d, d, c, h, w).permute(0, 3, 4, 1, 5, 2).reshape(n, c, h * d, w * d)


@torch.compiler.assume_constant_result
def _threads() -> int:
    """``torch.get_num_threads()``, which Dynamo cannot trace: a constant of the compiled graph
    (read when it is traced) instead of a graph break in every depthwise convolution.  Dynamo's
    guards include the thread count, so a graph is traced again when it changes."""
    return torch.get_num_threads()


def weight_gradient_by_convolution(kernel: int, stride: int, dilation: int, extent: int) -> bool:
    """Whether a depthwise convolution on a small CPU grid (at most 16×16, ``extent`` its
    shorter side) takes its weight gradient from :class:`_DepthwiseOnSmallGrid`.

    With several threads: only a kernel still dilated here (:func:`depthwise_conv2d` runs
    most dilated ones undilated on sub-grids) that is strided or whose dilated span passes
    the grid.  ``bench/depthwise_gradient.py --threads 2`` (forward and backward of the
    search cells' 5×5 and dilated kernels, 32 images of 32 or 128 channels, channels_last,
    torch 2.14): a 5×5 kernel dilated 2 on an 8×8 grid took 1.3-1.4× longer with oneDNN's
    gradient, dilated kernels on 4×4 grids about as long (0.87-1.01×); everywhere else
    oneDNN's was faster, 1.06-4.5×, as it spreads over the threads and the two transposing
    copies of the convolutional gradient do not.  A config-a SNAS step (5 cells, C=8,
    32×32, 2 threads) took 3-7% less than with the one-thread rule (three paired runs).

    With one thread: every 5×5 or dilated kernel, and any kernel wider than the grid.  There
    the same benchmark is mixed (an undilated 5×5 on 8×8 sub-grids 1.2-1.4× faster by
    convolution, on a 16×16 grid 2× slower), and a config-a SNAS step took 3% longer with
    the several-thread rule, so one thread keeps this one.
    """
    if _threads() == 1:
        return kernel * dilation > 3 or kernel > extent
    return dilation > 1 and (stride > 1 or (kernel - 1) * dilation + 1 > extent)


def _depthwise_call(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int,
                    dilation: int) -> torch.Tensor:
    """``F.conv2d`` with ``groups`` = channels; on small CPU grids with the weight gradient
    of :class:`_DepthwiseOnSmallGrid`.

    A tap whose offset ``(r − k//2)·dilation`` exceeds the grid's extent reads only padding
    for every output pixel, so a kernel wider than the grid is cropped symmetrically to the
    taps that can touch it (the output size is unchanged, and the cropped taps' gradient is
    exactly the zero they would get).  A 5×5 kernel on a 2×2 grid runs as 3×3, a dilated
    one as a per-channel scale.
    """
    kernel, rows, cols = weight.shape[-1], x.shape[-2], x.shape[-1]
    reach = (min(rows, cols) - 1) // dilation
    crop = kernel // 2 - reach
    if crop > 0 and kernel % 2 == 1 and padding >= crop * dilation:
        weight = weight[:, :, crop:kernel - crop, crop:kernel - crop]
        padding -= crop * dilation
        kernel -= 2 * crop
    if kernel == 1 and padding == 0:  # a per-channel scale; oneDNN's weight gradient of it is slow
        return x[:, :, ::stride, ::stride] * weight.view(1, -1, 1, 1)
    if (x.device.type == "cpu" and weight.requires_grad and torch.is_grad_enabled() and rows * cols <= 256
            and weight_gradient_by_convolution(kernel, stride, dilation, min(rows, cols))):
        return cast(torch.Tensor, _DepthwiseOnSmallGrid.apply(x, weight, stride, padding, dilation))
    return F.conv2d(x, weight, None, stride, padding, dilation, weight.shape[0])


class _DepthwiseOnSmallGrid(torch.autograd.Function):
    """Depthwise convolution whose weight gradient is itself computed as a convolution.

    On small CPU grids oneDNN's weight gradient of some depthwise convolutions is slower than
    this one (:func:`weight_gradient_by_convolution` says which, by thread count).  The
    weight gradient of channel ``c`` correlates the padded input with the output gradient,
    summed over the batch::

        ∂L/∂w[c, r, s] = Σ_n Σ_ij g[n, c, i, j] · x_pad[n, c, i·stride + r·dil, j·stride + s·dil]

    which is one grouped convolution of the ``N·C`` input planes with the ``N·C``
    gradient planes as kernels (stride ``dil``, dilation ``stride``), summed over ``n``.
    Both go channel-major first, one transposing copy each: the price that makes it lose
    where oneDNN's gradient is fast.  The input gradient keeps oneDNN's.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int,
                dilation: int) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.geometry = (stride, padding, dilation)
        return F.conv2d(x, weight, None, stride, padding, dilation, weight.shape[0])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        stride, padding, dilation = ctx.geometry
        channels, kernel = weight.shape[0], weight.shape[-1]
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_x = conv2d_input(x.shape, weight, grad, stride, padding, dilation, channels)
            grad_x = grad_x.contiguous(memory_format=layout_of(x))  # conv2d_input returns NCHW
        if ctx.needs_input_grad[1]:
            n, _, rows, cols = x.shape
            planes = _channel_major(x).view(1, channels * n, rows, cols)
            kernels = _channel_major(grad).view(channels * n, 1, *grad.shape[-2:])
            per_sample = F.conv2d(planes, kernels, None, dilation, padding, stride, channels * n)
            grad_weight = per_sample[..., :kernel, :kernel].reshape(channels, n, kernel, kernel).sum(1, keepdim=True)
        return grad_x, grad_weight, None, None, None


def _channel_major(t: torch.Tensor) -> torch.Tensor:
    """``t.transpose(0, 1)`` (``C × N × H × W``) copied into contiguous memory.

    A channels_last ``t`` is an ``N·H·W × C`` matrix in memory, and the result its
    transpose: copied as a 2-D transpose, PyTorch moves it in cache-sized blocks, where
    the 4-D copy reads every float ``C`` floats after the last (3-6× faster at 32 images
    of 16×16 with 64-256 channels, one thread).
    """
    n, c, h, w = t.shape
    if layout_of(t) is torch.channels_last:
        return t.permute(0, 2, 3, 1).reshape(n * h * w, c).t().contiguous().view(c, n, h, w)
    return t.transpose(0, 1).contiguous()


class DepthwiseConv2d(nn.Conv2d):
    """``nn.Conv2d`` with ``groups = channels`` and no bias, run by :func:`depthwise_conv2d`."""

    def __init__(self, channels: int, kernel: int, stride: int, padding: int, dilation: int = 1):
        super().__init__(channels, channels, kernel, stride=stride, padding=padding, dilation=dilation,
                         groups=channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padding = self.padding[0]
        assert isinstance(padding, int)  # built with a number, not 'same' or 'valid'
        return depthwise_conv2d(x, self.weight, self.stride[0], padding, self.dilation[0])


class DilConv(nn.Sequential):
    """ReLU → dilated depthwise k×k → pointwise 1×1 → BatchNorm."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int,
                 affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            DepthwiseConv2d(c_in, kernel, stride, padding, dilation),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            BatchNorm2d(c_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """Two stacked (ReLU → depthwise k×k → pointwise 1×1 → BatchNorm) blocks.

    Only the first depthwise convolution is strided, as in DARTS.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            DepthwiseConv2d(c_in, kernel, stride, padding),
            nn.Conv2d(c_in, c_in, 1, bias=False),
            BatchNorm2d(c_in, affine=affine),
            nn.ReLU(inplace=False),
            DepthwiseConv2d(c_in, kernel, 1, padding),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            BatchNorm2d(c_out, affine=affine),
        )


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset stride-2 1×1 convolutions, concatenated.

    Requires an even input size: the two branches see the grid shifted by one pixel.
    """

    def __init__(self, c_in: int, c_out: int, affine: bool = True):
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.after_relu(self.relu(x))

    def after_relu(self, activated: torch.Tensor) -> torch.Tensor:
        """The layer for an input already through ReLU (shared by the cells reading it)."""
        return cast(torch.Tensor, self.bn(factorized_reduce(activated, self.conv_1.weight, self.conv_2.weight)))


def factorized_reduce(x: torch.Tensor, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """``cat([conv(x, first, stride 2), conv(x[:, :, 1:, 1:], second, stride 2)])`` for 1×1 kernels.

    A stride-2 1×1 convolution reads one pixel of each 2×2 block, so the two branches read
    the (even, even) and the (odd, odd) pixels; stacked along channels they make one
    grouped convolution, and only the half of the input it reads is copied (the offset
    view ``x[:, :, 1:, 1:]`` used to be copied whole): 1.4-2.3× faster forward and
    backward on the CPU for the search's shapes.
    """
    return F.conv2d(_DiagonalPhases.apply(x), torch.cat([first, second]), groups=2)


class _DiagonalPhases(torch.autograd.Function):
    """``cat([x[:, :, ::2, ::2], x[:, :, 1::2, 1::2]], dim=1)`` whose backward writes both
    halves of the gradient into one zero-filled tensor in ``x``'s memory format.

    Autograd's own backward fills a full-size zero tensor per slice, adds the two, and
    returns NCHW; this is one fill, two strided copies, and no layout change.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.shape, ctx.layout = x.shape, layout_of(x)
        return torch.cat([x[:, :, ::2, ::2], x[:, :, 1::2, 1::2]], dim=1)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        even, odd = grad.chunk(2, dim=1)
        grad_x = torch.empty(ctx.shape, dtype=grad.dtype, device=grad.device, memory_format=ctx.layout).zero_()
        grad_x[:, :, ::2, ::2] = even
        grad_x[:, :, 1::2, 1::2] = odd
        return grad_x


class Zero(nn.Module):
    """The ``none`` primitive: zeros with the output shape of a (strided) edge."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)
