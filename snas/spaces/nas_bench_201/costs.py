"""Resource costs of the NAS-Bench-201 ops for the SNAS penalty, per op and per search cell."""

from __future__ import annotations

from collections.abc import Callable

import torch

from snas.profile import count_forward
from snas.registry import Registry
from snas.resource import COST_MODELS as COST_MODEL_NAMES
from snas.resource import RESOURCES, CellGeometry
from snas.spaces.nas_bench_201.ops import OPS
from snas.spaces.nas_bench_201.primitives import CONV_KERNELS, NUM_EDGES, PRIMITIVES


def official_costs(primitive: str, channels: int, height: int, width: int) -> tuple[int, int, int]:
    """(params, MACs, memory accesses) of one op, in the official SNAS formulas' terms.

    The SNAS code has no NAS-Bench-201 ops; these follow its conventions for the DARTS ones
    (:mod:`snas.spaces.darts.costs`): a ReLU-conv-BN counts its k²·C² weights, weights·y² MACs and
    ``in + out`` maps plus its weights of memory (the DilConv formula with one k×k
    convolution instead of depthwise + pointwise); the 3×3 average pool 9·y²·C MACs and
    2·y²·C memory, the identity 2·C·y² memory, ``none`` nothing.
    """
    area, c = height * width, channels
    if primitive in CONV_KERNELS:
        size = CONV_KERNELS[primitive] ** 2 * c * c
        return size, size * area, 2 * c * area + size
    return {"none": (0, 0, 0), "skip_connect": (0, 0, 2 * c * area),
            "avg_pool_3x3": (0, 9 * area * c, 2 * area * c)}[primitive]


def measured_costs(primitive: str, channels: int, height: int, width: int) -> tuple[int, int, int]:
    """What the op as built (search BN, no affine) counts with :func:`snas.profile.count_forward`."""
    with torch.device("meta"):
        op = OPS[primitive](channels, False)
    params = sum(p.numel() for p in op.parameters())
    macs, memory = count_forward(op.eval(), (channels, height, width))
    return params, macs, memory


COST_MODELS: Registry[Callable[[str, int, int, int], tuple[int, int, int]]] = Registry("cost model", {
    "official": official_costs,
    "measured": measured_costs,
})
assert tuple(COST_MODELS) == tuple(COST_MODEL_NAMES)


def cell_cost_table(cell: CellGeometry, cost_model: str = "official") -> torch.Tensor:
    """Costs ``[resource, edge, op]`` of one search cell (every edge sees the cell's input shape)."""
    costs = COST_MODELS[cost_model]
    table = torch.zeros(len(RESOURCES), NUM_EDGES, len(PRIMITIVES), dtype=torch.float64)
    for k, primitive in enumerate(PRIMITIVES):
        table[:, :, k] = torch.tensor(costs(primitive, cell.channels, cell.height, cell.width),
                                      dtype=torch.float64)[:, None]
    return table
