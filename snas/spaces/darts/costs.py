"""Resource costs of the DARTS space's ops for the SNAS penalty: parameters, MACs and memory
accesses, per op and per search cell.

Two cost models (``resource.cost_model``, :data:`snas.resource.COST_MODELS`):

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
* ``measured`` -- what :func:`op_profile` counts on the op as built: the
  same for convolutions, but pools count 0 MACs, an identity moves no data (0 memory
  accesses) and the shifted branch of a stride-2 skip reads its ``(2y−1)²`` real pixels
  rather than ``4y²``.  Kept for studies of what the network actually executes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import torch

from snas.profile import Profile, count_forward
from snas.registry import Registry
from snas.resource import COST_MODELS as COST_MODEL_NAMES
from snas.resource import RESOURCES, CellGeometry, ResourcePenalty
from snas.spaces.darts.ops import CONV_SPECS, build_op
from snas.spaces.darts.primitives import INPUT_NODES, PRIMITIVES, cell_edges

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


@lru_cache(maxsize=4096)
def op_profile(primitive: str, channels: int, stride: int, height: int, width: int) -> Profile:
    """Cost of one op (search BN: no affine parameters) on a ``C×H×W`` input."""
    with torch.device("meta"):
        op = build_op(primitive, channels, stride, affine=False)
    params = sum(p.numel() for p in op.parameters())
    macs, memory = count_forward(op.eval(), (channels, height, width))
    return Profile(params, macs, memory)


def measured_costs(primitive: str, channels: int, stride: int, height: int, width: int) -> OpCosts:
    """What the op as built computes and moves (:func:`op_profile`)."""
    p = op_profile(primitive, channels, stride, height, width)
    return p.params, p.macs, p.memory_access


COST_MODELS: Registry[CostModel] = Registry("cost model", {
    "official": official_costs,
    "measured": measured_costs,
})
"""``resource.cost_model`` -> how the cost of one op is counted."""
assert tuple(COST_MODELS) == tuple(COST_MODEL_NAMES)

OFFICIAL_CELL_COUNTS = {False: 6, True: 2}
"""Normal and reduction cells of the official 8-cell search network, its fixed divisors."""


def cell_cost_table(cell: CellGeometry, cost_model: str = "official") -> torch.Tensor:
    """Costs ``[resource, edge, op]`` (params, MACs, memory accesses) of one search cell."""
    op_costs = COST_MODELS[cost_model]
    table = torch.zeros(len(RESOURCES), len(cell_edges()), len(PRIMITIVES), dtype=torch.float64)
    for e, (source, _) in enumerate(cell_edges()):
        stride = 2 if cell.reduction and source < INPUT_NODES else 1
        # In a reduction cell the intermediate nodes already have half the resolution.
        halved = cell.reduction and source >= INPUT_NODES
        height, width = (cell.height // 2, cell.width // 2) if halved else (cell.height, cell.width)
        for k, primitive in enumerate(PRIMITIVES):
            table[:, e, k] = torch.tensor(op_costs(primitive, cell.channels, stride, height, width),
                                          dtype=torch.float64)
    return table


def darts_penalty(cells: list[CellGeometry], **settings: Any) -> ResourcePenalty:
    """The penalty of a DARTS supernet whose cells are ``cells`` (normal and reduction mixed)."""
    by_type = [[c for c in cells if not c.reduction], [c for c in cells if c.reduction]]
    return ResourcePenalty.for_cells(by_type, cost_table=cell_cost_table, ratio_weighted=(False, True),
                                     official_counts=(OFFICIAL_CELL_COUNTS[False], OFFICIAL_CELL_COUNTS[True]),
                                     **settings)
