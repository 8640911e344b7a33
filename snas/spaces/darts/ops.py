"""The DARTS space's ops by primitive name: pools, the identity (or, strided, the
factorized reduction), separable and dilated convolutions, and ``none``.

Every primitive is built by ``build_op(name, C, stride, affine)``.  Child networks use
these modules directly; the search supernet runs the same arithmetic with the weights of
all edges leaving a node stacked (:mod:`snas.stacked`), built from the same
:data:`CONV_SPECS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from snas.ops import DilConv, FactorizedReduce, SepConv, Zero
from snas.pools import AvgPool2d, MaxPool2d
from snas.registry import Registry
from snas.spaces.darts.primitives import PRIMITIVES


@dataclass(frozen=True)
class ConvSpec:
    """Geometry of a convolutional primitive: ``repeats`` (depthwise → pointwise → BN) blocks."""

    kernel: int
    padding: int
    dilation: int
    repeats: int

    def build(self, channels: int, stride: int, affine: bool) -> nn.Module:
        if self.repeats == 2:
            return SepConv(channels, channels, self.kernel, stride, self.padding, affine)
        return DilConv(channels, channels, self.kernel, stride, self.padding, self.dilation, affine)


CONV_SPECS: dict[str, ConvSpec] = {
    "sep_conv_3x3": ConvSpec(kernel=3, padding=1, dilation=1, repeats=2),
    "sep_conv_5x5": ConvSpec(kernel=5, padding=2, dilation=1, repeats=2),
    "dil_conv_3x3": ConvSpec(kernel=3, padding=2, dilation=2, repeats=1),
    "dil_conv_5x5": ConvSpec(kernel=5, padding=4, dilation=2, repeats=1),
}
"""The convolutional primitives; every one starts with a ReLU."""


OpBuilder = Callable[[int, int, bool], nn.Module]
"""``(channels, stride, affine) -> module``."""


def _skip(channels: int, stride: int, affine: bool) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels, affine)


OPS: Registry[OpBuilder] = Registry("primitive", {
    "none": lambda c, s, a: Zero(s),
    "max_pool_3x3": lambda c, s, a: MaxPool2d(3, stride=s, padding=1),
    "avg_pool_3x3": lambda c, s, a: AvgPool2d(3, stride=s, padding=1, count_include_pad=False),
    "skip_connect": _skip,
    **{name: spec.build for name, spec in CONV_SPECS.items()},
})
"""The op registry.  Its keys are exactly :data:`~snas.spaces.darts.primitives.PRIMITIVES`."""

assert tuple(OPS) == PRIMITIVES


def build_op(name: str, channels: int, stride: int, affine: bool = True) -> nn.Module:
    """Build primitive ``name`` mapping ``channels`` to ``channels`` at ``stride``."""
    return OPS[name](channels, stride, affine)
