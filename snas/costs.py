"""Per-op resource costs for the SNAS penalty: parameters, MACs and memory accesses.

Two cost models (``resource.cost_model``):

* ``official`` (default) -- the closed-form formulas of the official SNAS code
  (SNAS-Series/SNAS-Series, ``SNAS/operations.py``: the ``size``, ``flops`` and ``mac``
  attributes each op class sets in ``forward``), for an op whose output side is ``y``
  (``y = h`` at stride 1, ``h // 2`` at stride 2) on ``C`` channels:

  ==================  ==============  ==========  =====================================
  op                  params          MACs        memory accesses
  ==================  ==============  ==========  =====================================
  none (``Zero``)     0               0           0
  3×3 pool            0               9·y²·C      2·y²·C (stride 1), 5·y²·C (stride 2)
  (``AvgPool``, ``MaxPool``)
  skip, stride 1      0               0           2·C·y²
  (``Identity``)
  skip, stride 2      C²              C²·y²       2·y²·(4C + C/2) + C²
  (``FactorizedReduce``)
  k×k conv, r         r·(C·k² + C²)   params·y²   y²·(4·r·C + 3C·[stride 2]) + params
  (``DilConv`` r=1, ``SepConv`` r=2)
  ==================  ==============  ==========  =====================================

  The official code squares the height (square inputs); ``y²`` here is ``y_h · y_w``,
  the same on square inputs.
* ``measured`` -- what :func:`snas.profile.op_profile` counts on the op as built: the
  same for convolutions, but pools count 0 MACs, an identity moves no data (0 memory
  accesses) and the shifted branch of a stride-2 skip reads its ``(2y−1)²`` real pixels
  rather than ``4y²``.  Kept for studies of what the network actually executes.
"""

from __future__ import annotations

from collections.abc import Callable

from snas.ops import CONV_SPECS
from snas.profile import op_profile
from snas.registry import Registry

OpCosts = tuple[int, int, int]
"""(params, MACs, memory accesses) of one op."""

CostModel = Callable[[str, int, int, int, int], OpCosts]
"""``(primitive, channels, stride, height, width) -> OpCosts``."""


def _official_pool(c: int, stride: int, area: int) -> OpCosts:
    return 0, 9 * area * c, (2 if stride == 1 else 5) * area * c


def _official_skip(c: int, stride: int, area: int) -> OpCosts:
    if stride == 1:
        return 0, 0, 2 * c * area
    size = 2 * c * (c // 2)
    return size, size * area, 2 * area * (4 * c + c // 2) + size


def _official_conv(kernel: int, repeats: int) -> Callable[[int, int, int], OpCosts]:
    def costs(c: int, stride: int, area: int) -> OpCosts:
        size = repeats * (c * kernel**2 + c * c)
        return size, size * area, area * (4 * repeats * c + (3 * c if stride == 2 else 0)) + size
    return costs


_OFFICIAL: dict[str, Callable[[int, int, int], OpCosts]] = {
    "none": lambda c, stride, area: (0, 0, 0),
    "max_pool_3x3": _official_pool,
    "avg_pool_3x3": _official_pool,
    "skip_connect": _official_skip,
    **{name: _official_conv(spec.kernel, spec.repeats) for name, spec in CONV_SPECS.items()},
}


def official_costs(primitive: str, channels: int, stride: int, height: int, width: int) -> OpCosts:
    """The official SNAS formulas (see the module docstring) on a ``C×H×W`` input."""
    area = (height // stride) * (width // stride)
    return _OFFICIAL[primitive](channels, stride, area)


def measured_costs(primitive: str, channels: int, stride: int, height: int, width: int) -> OpCosts:
    """What the op as built computes and moves (:func:`snas.profile.op_profile`)."""
    p = op_profile(primitive, channels, stride, height, width)
    return p.params, p.macs, p.memory_access


COST_MODELS: Registry[CostModel] = Registry("cost model", {
    "official": official_costs,
    "measured": measured_costs,
})
"""``resource.cost_model`` -> how the cost of one op is counted."""
