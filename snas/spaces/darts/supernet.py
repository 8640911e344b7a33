"""The DARTS search supernet: cells whose every edge mixes all candidate ops.

Mathematically each edge computes ``Σ_k w_k · o_k(x)`` exactly as the DARTS/SNAS
reference networks do.  The work is organised around the *source* node of each edge,
which is where the savings are:

* the edges leaving a node run each convolutional primitive as one grouped convolution
  chain with stacked weights (:mod:`snas.stacked`) -- a fraction of the calls;
* the ReLU that starts every convolution (and the stride-2 skip) runs once per node;
* a parameter-free pool followed by an affine-free BatchNorm gives the same output on
  every edge that leaves a node, so each pool runs once per node;
* ``none`` contributes zeros and is never run;
* under a hard sample (GDAS, or the argmax child) only the chosen op of each edge runs.

Search BatchNorm layers have no affine parameters, as in the reference design.  Edge
weights come from outside (:mod:`snas.relax`); α is not part of this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from snas.compilation import CompileMode, compiled
from snas.layout import BatchNorm2d, grad_in_input_layout
from snas.ops import FactorizedReduce, ReLUConvBN
from snas.relax import EdgeSample
from snas.resource import CellGeometry
from snas.spaces.darts.ops import CONV_SPECS, build_op
from snas.spaces.darts.primitives import (
    INPUT_NODES,
    NONE_INDEX,
    PRIMITIVES,
    SKIP_INDEX,
    STEPS,
    cell_edges,
    reduction_layers,
)
from snas.spaces.networks import SuperNetwork
from snas.stacked import StackedConvChain, StackedFactorizedReduce

_POOLS = ("max_pool_3x3", "avg_pool_3x3")


class SourceOps(nn.Module):
    """The candidate ops of every edge that leaves one node of a search cell."""

    edge_index: torch.Tensor  # a buffer: nn.Module's attribute lookup types it as Tensor | Module

    def __init__(self, channels: int, stride: int, edge_ids: list[int]):
        super().__init__()
        self.stride = stride
        self.edge_ids = edge_ids
        self.register_buffer("edge_index", torch.tensor(edge_ids), persistent=False)
        edges = len(edge_ids)
        self.pools = nn.ModuleDict({
            name: nn.Sequential(build_op(name, channels, stride), BatchNorm2d(channels, affine=False))
            for name in _POOLS
        })
        self.convs = nn.ModuleDict({
            name: StackedConvChain(channels, edges, spec.kernel, stride, spec.padding, spec.dilation, spec.repeats)
            for name, spec in CONV_SPECS.items()
        })
        self.reduce_skip = StackedFactorizedReduce(channels, edges) if stride != 1 else None

    def forward(
        self, x: torch.Tensor, weights: torch.Tensor, choices: list[int] | None, drop_masks: torch.Tensor | None,
    ) -> Sequence[torch.Tensor | None]:
        """Outputs of the edges leaving this node (``None`` where an edge computes zeros).

        ``weights``: the cell's ``num_edges × num_ops`` edge weights; ``choices``: the
        chosen op per edge of this node under a hard sample (then only that op runs);
        ``drop_masks``: the cell's ``num_edges × N`` drop-path multipliers.
        """
        weights = weights.index_select(0, self.edge_index)
        masks = None if drop_masks is None else drop_masks.index_select(0, self.edge_index)
        if choices is None:
            return self._mix_all(x, F.relu(x), weights, masks)
        shared: dict[str, torch.Tensor] = {}
        return [self._run_chosen(x, weights, masks, i, k, shared) for i, k in enumerate(choices)]

    def _mix_all(self, x: torch.Tensor, relu: torch.Tensor, weights: torch.Tensor,
                 masks: torch.Tensor | None) -> list[torch.Tensor]:
        """Every op on every edge, weighted and summed; ``none`` is skipped (it adds zeros).

        All edges are handled as one ``N × E·C × H × W`` tensor (edge-major channels):
        ops shared by the edges are repeated along channels, edge weights are repeated per
        channel, so every sum is a plain 4-D channel-broadcast multiply-add.
        """
        edges = len(self.edge_ids)

        def per_edge(t: torch.Tensor) -> torch.Tensor:
            return torch.cat([t] * edges, dim=1) if edges > 1 else t

        terms = {name: per_edge(self.pools[name](x)) for name in _POOLS}
        terms["skip_connect"] = per_edge(x) if self.reduce_skip is None else self.reduce_skip(relu)
        stacked_relu = per_edge(relu)
        terms.update({name: conv(stacked_relu) for name, conv in self.convs.items()})
        channels = terms["skip_connect"].shape[1] // edges
        channel_weights = weights.t().repeat_interleave(channels, dim=1)  # num_ops × E·C
        ops = [k for k in range(len(PRIMITIVES)) if k != NONE_INDEX]
        summed = [terms[PRIMITIVES[k]] for k in ops]
        if torch.compiler.is_compiling():  # Inductor fuses the chain itself
            total = _weighted_sum(channel_weights, ops, summed)
        else:
            total = cast(torch.Tensor, _WeightedSum.apply(channel_weights, ops, *summed))
        if masks is not None:
            total = total * masks.t().repeat_interleave(channels, dim=1)[:, :, None, None]
        return list(total.split(channels, dim=1))

    def _run_chosen(self, x: torch.Tensor, weights: torch.Tensor, masks: torch.Tensor | None, i: int, k: int,
                    shared: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """Edge ``i`` with only its chosen op ``k`` (weight exactly 1 in value).

        ``shared`` holds what the edges of this node computed once for all of them: a
        pool's output, and ``x`` through ReLU, which only the convolutions and the
        reducing skip read (so a node whose edges chose none of them runs no ReLU).  The
        weight enters the graph only when α needs its gradient (:class:`_TimesExactlyOne`);
        otherwise the op's output is used as it is.
        """
        if k == NONE_INDEX:
            return None
        name = PRIMITIVES[k]
        identity = k == SKIP_INDEX and self.reduce_skip is None
        if name in _POOLS:  # the same output on every edge of this node that chose it
            if name not in shared:
                shared[name] = self.pools[name](x)
            y = shared[name]
        elif identity:
            y = x
        else:
            if "relu" not in shared:
                shared["relu"] = F.relu(x)
            if k == SKIP_INDEX:
                assert self.reduce_skip is not None  # not the identity: this node reduces
                y = self.reduce_skip.forward_edge(shared["relu"], i)
            else:
                y = cast(StackedConvChain, self.convs[name]).forward_edge(shared["relu"], i)
        out = _TimesExactlyOne.apply(y, weights[i, k]) if weights.requires_grad else y
        if masks is not None and not identity:
            out = out * masks[i].view(-1, 1, 1, 1)
        return out


def _weighted_sum(weights: torch.Tensor, ops: list[int], terms: Sequence[torch.Tensor]) -> torch.Tensor:
    """``Σ weights[k] · term`` over ``ops`` and ``terms`` in step, each row of ``weights``
    (``num_ops × C``) scaling the channels of its ``N × C × H × W`` term: a multiply, then
    one ``addcmul`` per further term."""
    total = weights[ops[0]].view(1, -1, 1, 1) * terms[0]
    for k, term in zip(ops[1:], terms[1:]):
        total = torch.addcmul(total, weights[k].view(1, -1, 1, 1), term)
    return total


class _WeightedSum(torch.autograd.Function):
    """:func:`_weighted_sum` with the gradients autograd gives it, bit for bit, at less cost.

    Autograd's ``addcmul`` backward multiplies each factor by the scalar ``value`` (1)
    before multiplying by the gradient -- one full-size product per term that changes
    nothing -- and each row of ``weights`` comes back through its own select node.  Here
    each term's gradient is ``g · w_k`` and each weight row's ``Σ_{n,h,w} g · term``, the
    same products and the same reduction as autograd's, stacked into one tensor.
    """

    @staticmethod
    def forward(ctx: Any, weights: torch.Tensor, ops: list[int], *terms: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(weights, *terms)
        ctx.ops = ops
        return _weighted_sum(weights, ops, terms)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        weights, *terms = ctx.saved_tensors
        grad_weights = None
        if ctx.needs_input_grad[0]:
            grad_weights = torch.zeros_like(weights)
            for k, term in zip(ctx.ops, terms):
                grad_weights[k] = grad.mul(term).sum((0, 2, 3))
        grad_terms = [grad * weights[k].view(1, -1, 1, 1) if needed else None
                      for k, needed in zip(ctx.ops, ctx.needs_input_grad[2:])]
        return grad_weights, None, *grad_terms


class _TimesExactlyOne(torch.autograd.Function):
    """``weight * y`` for a weight that is exactly 1 in value (a hard sample's chosen op).

    The product is ``y`` itself and ``y``'s gradient is the incoming one unchanged, so of
    autograd's multiply -- a copy forward, two full-size products backward -- only the
    weight's gradient ``Σ g·y`` is left to compute.  The value is not checked: an
    :class:`~snas.relax.EdgeSample` with a ``choice`` promises one-hot weights.  The
    output is a view of ``y``, so autograd refuses in-place changes to it (the node sums
    add out of place).
    """

    @staticmethod
    def forward(ctx: Any, y: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(y)
        ctx.weight_dtype = weight.dtype
        return y.view_as(y)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        (y,) = ctx.saved_tensors
        grad_weight = (grad * y).sum().to(ctx.weight_dtype) if ctx.needs_input_grad[1] else None
        return grad, grad_weight


class SearchCell(nn.Module):
    """A cell of the supernet: two preprocessed inputs, ``STEPS`` mixed nodes, concat."""

    def __init__(self, c_prev_prev: int, c_prev: int, channels: int, reduction: bool, reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        self.channels = channels
        self.preprocess0 = (
            FactorizedReduce(c_prev_prev, channels, affine=False) if reduction_prev
            else ReLUConvBN(c_prev_prev, channels, 1, 1, 0, affine=False)
        )
        self.preprocess1 = ReLUConvBN(c_prev, channels, 1, 1, 0, affine=False)
        edges = cell_edges()
        self.sources = nn.ModuleList(
            SourceOps(channels, 2 if reduction and source < INPUT_NODES else 1,
                      [e for e, (s, _) in enumerate(edges) if s == source])
            for source in range(INPUT_NODES + STEPS - 1)
        )
        self._targets = [[t for s, t in edges if s == source] for source in range(INPUT_NODES + STEPS - 1)]

    def forward(
        self, s0: torch.Tensor, s1: torch.Tensor, sample: EdgeSample,
        kept: torch.Tensor | None = None, keep: float = 1.0,
    ) -> torch.Tensor:
        """The cell's output for inputs ``s0``, ``s1`` already through ReLU (each state
        is read by two cells, and its ReLU runs once).

        ``kept``: drop path's ``num_edges × N`` draws (True: the edge keeps sample ``n``),
        each kept output scaled by ``1 / keep``; ``None``: no drop path.
        """
        states = [self.preprocess0.after_relu(s0), self.preprocess1.after_relu(s1)]
        masks = None if kept is None else kept.to(states[1].device, states[1].dtype) / keep
        sums: list[torch.Tensor | None] = [None] * STEPS
        for source, ops in enumerate(cast(Iterable[SourceOps], self.sources)):
            if source >= INPUT_NODES:
                states.append(self._node(sums[source - INPUT_NODES], states[1]))
            choices = None if sample.choice is None else [sample.choice[e] for e in ops.edge_ids]
            outs = ops(states[source], sample.weights, choices, masks)
            for target, out in zip(self._targets[source], outs):
                if out is not None:
                    slot = target - INPUT_NODES
                    sums[slot] = out if sums[slot] is None else sums[slot] + out
        states.append(self._node(sums[-1], states[1]))
        return torch.cat([grad_in_input_layout(s) for s in states[INPUT_NODES:]], dim=1)

    def _node(self, total: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        """A node's value; zeros when every incoming edge chose ``none``."""
        if total is not None:
            return total
        stride = 2 if self.reduction else 1
        return torch.zeros_like(like[:, :, ::stride, ::stride])


class SuperNet(SuperNetwork):
    """Stem, ``layers`` search cells (reductions at ⌊L/3⌋, ⌊2L/3⌋), pooling, classifier."""

    def __init__(self, channels: int, num_classes: int, layers: int, in_channels: int = 3,
                 stem_multiplier: int = 3):
        super().__init__()
        self.layers = layers
        stem_channels = stem_multiplier * channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False), BatchNorm2d(stem_channels)
        )
        c_prev_prev, c_prev, c_curr = stem_channels, stem_channels, channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in reduction_layers(layers)
            if reduction:
                c_curr *= 2
            self.cells.append(SearchCell(c_prev_prev, c_prev, c_curr, reduction, reduction_prev))
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, STEPS * c_curr
        self.classifier = nn.Linear(c_prev, num_classes)
        self._compiled_cells: Callable[..., torch.Tensor] | None = None

    @property
    def _search_cells(self) -> Iterable[SearchCell]:
        """``self.cells``, typed as what they hold (``nn.ModuleList`` types its items as ``Module``)."""
        return cast(Iterable[SearchCell], self.cells)

    @property
    def cell_counts(self) -> tuple[int, int]:
        """Normal and reduction cells (the space's cell types, in order)."""
        cells = self._search_cells
        return sum(not c.reduction for c in cells), sum(c.reduction for c in cells)

    def geometry(self, height: int, width: int) -> list[CellGeometry]:
        """What each cell's ops see for ``height × width`` input images."""
        out = []
        for cell in self._search_cells:
            out.append(CellGeometry(cell.channels, height, width, cell.reduction))
            if cell.reduction:
                height, width = height // 2, width // 2
        return out

    def compile_training(self, mode: CompileMode) -> None:
        """Compile the forward of soft samples in training (see :mod:`snas.compilation`);
        hard samples and evaluation keep running eagerly.  Parameters and the state dict
        are untouched (no ``_orig_mod.`` prefix), so checkpoints do not depend on it."""
        self._compiled_cells = compiled(self._cells, mode) if mode != "off" else None

    def forward(
        self, x: torch.Tensor, normal: list[EdgeSample], reduce: list[EdgeSample],
        drop_prob: float = 0.0, generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Logits for ``x``; ``normal``/``reduce`` hold one sample shared by all cells of
        that type, or one per cell of that type."""
        kept = None
        if self.training and drop_prob > 0.0:  # drawn cell by cell, as the cells use them
            kept = [torch.rand(len(cell_edges()), x.shape[0], generator=generator) < 1.0 - drop_prob
                    for _ in self.cells]
        cells = self._cells
        if self._compiled_cells is not None and self.training and all(
                s.choice is None for s in (*normal, *reduce)):
            cells = self._compiled_cells
        return cells(x, normal, reduce, kept, 1.0 - drop_prob)

    def _cells(self, x: torch.Tensor, normal: list[EdgeSample], reduce: list[EdgeSample],
               kept: list[torch.Tensor] | None, keep: float) -> torch.Tensor:
        """The network from stem to logits, with the drop-path draws already made
        (no generator inside: the part :meth:`compile_training` compiles)."""
        state = self.stem(x)
        s0 = s1 = F.relu(state)
        counters = {False: 0, True: 0}
        for position, cell in enumerate(self._search_cells):
            samples = reduce if cell.reduction else normal
            i = counters[cell.reduction]
            counters[cell.reduction] += 1
            sample = samples[i] if len(samples) > 1 else samples[0]
            state = cell(s0, s1, sample, None if kept is None else kept[position], keep)
            if position + 1 < len(self.cells):  # the classifier reads the last state without ReLU
                s0, s1 = s1, F.relu(state)
        return cast(torch.Tensor, self.classifier(F.adaptive_avg_pool2d(grad_in_input_layout(state), 1).flatten(1)))
