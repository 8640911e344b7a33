"""The training steps the search methods are built from, in the two shapes the published
methods take:

* single level (SNAS): one loss on the training batch, θ and α step together;
* bilevel (DARTS, GDAS): θ steps on a training batch, α on a validation batch, in the
  order the method's reference code uses.

A step only sees a :class:`Learner`, the pieces of one search it trains, so a method
never depends on :class:`snas.search.Search`.  In a data-parallel search every step
averages its gradients over the ranks before clipping (:mod:`snas.distributed`); in one
process that is a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from snas.distributed import average_gradients
from snas.training import RunningMean, correct

Batch = tuple[torch.Tensor, torch.Tensor]
Stats = dict[str, RunningMean]
LossFn = Callable[..., tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]
"""``(x, y, tau, forward=None) -> (CE + λ·penalty, CE, logits, cost)`` for one
architecture sample; ``forward`` replaces the supernet call (substituted weights)."""


@dataclass
class Learner:
    """The parts of one search a training step trains."""

    model: nn.Module
    weights: list[nn.Parameter]
    """θ, listed once: walking the module tree for them took ~9 ms of a 300 ms GDAS step."""
    alphas: list[nn.Parameter]
    weight_optimizer: torch.optim.SGD
    arch_optimizer: torch.optim.Optimizer
    weight_clip: float
    arch_clip: float | None
    """α's gradient-norm clip; ``None``: not clipped."""
    nsample: int
    """Architecture samples per batch; their objectives are averaged."""
    second_order: bool
    loss: LossFn


@contextmanager
def frozen(params: Iterable[nn.Parameter]) -> Iterator[None]:
    """Parameters the enclosed pass does not train, excluded from its autograd graph.

    A bilevel θ pass then builds no graph towards α, and an α pass none towards θ: every
    convolution's weight gradient is skipped instead of computed and discarded (custom
    autograd functions cannot see that a gradient is unwanted, only that it is possible).
    """
    params = [p for p in params if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def accumulate(learner: Learner, batch: Batch, tau: float, params: list[nn.Parameter], stats: Stats | None) -> bool:
    """Back-propagate the mean objective of ``nsample`` samples into ``params``; False on NaN/inf."""
    x, y = batch
    n = learner.nsample
    for _ in range(n):
        objective, ce, logits, cost = learner.loss(x, y, tau)
        if not torch.isfinite(objective):
            return False
        if objective.requires_grad:  # not when every edge of a hard sample chose ``none``
            (objective / n).backward(inputs=params)
        if stats is not None:
            stats["loss"].add(ce.item(), len(y))
            stats["acc"].add(100.0 * correct(logits, y) / len(y), len(y))
            stats["cost"].add(cost.item(), 1)
    return True


def step_single_level(learner: Learner, batch: Batch, tau: float, stats: Stats | None) -> bool:
    """θ and α step together on the gradient of one training-batch objective."""
    weights, alphas = learner.weights, learner.alphas
    learner.weight_optimizer.zero_grad(set_to_none=True)
    learner.arch_optimizer.zero_grad(set_to_none=True)
    if not average_gradients(weights + alphas, accumulate(learner, batch, tau, weights + alphas, stats)):
        return False
    nn.utils.clip_grad_norm_(weights, learner.weight_clip)
    if learner.arch_clip is not None:
        nn.utils.clip_grad_norm_(alphas, learner.arch_clip)
    learner.weight_optimizer.step()
    learner.arch_optimizer.step()
    return True


def step_weights(learner: Learner, batch: Batch, tau: float, stats: Stats | None) -> bool:
    """The θ half of a bilevel step: α frozen, one training batch."""
    params = learner.weights
    learner.weight_optimizer.zero_grad(set_to_none=True)
    with frozen(learner.alphas):
        finite = accumulate(learner, batch, tau, params, stats)
    if not average_gradients(params, finite):
        return False
    nn.utils.clip_grad_norm_(params, learner.weight_clip)
    learner.weight_optimizer.step()
    return True


ArchGradient = Callable[[Learner, Batch, Batch, float], bool]
"""``(learner, train batch, validation batch, τ) -> ok``: sets ``.grad`` of α."""


def first_order_arch_gradient(learner: Learner, batch: Batch, val_batch: Batch, tau: float) -> bool:
    """∇_α of the validation objective at the current θ (θ frozen)."""
    with frozen(learner.weights):
        return accumulate(learner, val_batch, tau, learner.alphas, None)


def step_arch(learner: Learner, batch: Batch, val_batch: Batch, tau: float, gradient: ArchGradient) -> bool:
    """The α half of a bilevel step, with the method's architecture gradient."""
    params = learner.alphas
    learner.arch_optimizer.zero_grad(set_to_none=True)
    if not average_gradients(params, gradient(learner, batch, val_batch, tau)):
        return False
    if learner.arch_clip is not None:
        nn.utils.clip_grad_norm_(params, learner.arch_clip)
    learner.arch_optimizer.step()
    return True
