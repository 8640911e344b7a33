"""Edge relaxations: how architecture logits α become the weights the supernet mixes ops with.

* ``snas``  -- a relaxed one-hot sample of the Concrete (Gumbel-softmax) distribution,
  ``z = softmax((α + g) / τ)``; every op runs; θ and α learn from the same loss.
* ``gdas``  -- the same draw made hard with a straight-through gradient,
  ``h = onehot(argmax z) - stopgrad(z) + z``; only the chosen op of each edge runs, and
  α learns through that op's weight (bilevel, on validation batches).
* ``darts`` -- the deterministic ``softmax(α)``; bilevel.

α is read as log-probabilities (the paper's ``log α``).  All noise is drawn from a CPU
``torch.Generator`` the search owns and then moved to α's device, so a run draws the same
architecture samples on CPU and GPU and its RNG state is a few bytes to checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

_TINY = torch.finfo(torch.float32).tiny


@dataclass(frozen=True)
class EdgeSample:
    """Edge weights for one cell type and, for a hard sample, the op chosen on each edge."""

    weights: torch.Tensor
    """``num_edges × num_ops``; differentiable w.r.t. α where the method allows."""
    choice: tuple[int, ...] | None = None
    """Chosen op index per edge when only that op needs to run, else ``None``; then
    ``weights`` is exactly one-hot in value."""


def gumbel_noise(shape: torch.Size | tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Standard Gumbel noise ``g = -log(-log u)``, ``u ~ U(0, 1)``, on the CPU."""
    u = torch.rand(shape, generator=generator).clamp_(_TINY, 1.0 - 1e-7)
    return -torch.log(-torch.log(u))


def gumbel_softmax(logits: torch.Tensor, tau: float, noise: torch.Tensor) -> torch.Tensor:
    """Relaxed one-hot sample ``softmax((logits + noise) / tau)`` along the last dim."""
    return F.softmax((logits + noise.to(logits.device, logits.dtype)) / tau, dim=-1)


def straight_through(soft: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    """One-hot of ``argmax(soft)`` whose gradient is the gradient of ``soft``.

    Written ``hard + (soft - stopgrad(soft))``, the reference code's
    ``hard - stopgrad(soft) + soft`` regrouped: the same gradient, and a value that is
    exactly one-hot by construction (``s - s`` is exactly 0), which lets a pass that does
    not train α use the chosen op's output unscaled.
    """
    index = soft.detach().argmax(dim=-1)
    hard = F.one_hot(index, soft.shape[-1]).to(soft.dtype)
    return hard + (soft - soft.detach()), tuple(index.tolist())


def argmax_sample(alpha: torch.Tensor) -> EdgeSample:
    """The mode of the architecture distribution as a one-hot, non-differentiable sample."""
    index = alpha.detach().argmax(dim=-1)
    return EdgeSample(F.one_hot(index, alpha.shape[-1]).to(alpha.dtype), tuple(index.tolist()))


def _softmax_weights(alpha: torch.Tensor, tau: float, generator: torch.Generator) -> EdgeSample:
    return EdgeSample(F.softmax(alpha, dim=-1))


def _concrete_sample(alpha: torch.Tensor, tau: float, generator: torch.Generator) -> EdgeSample:
    return EdgeSample(gumbel_softmax(alpha, tau, gumbel_noise(alpha.shape, generator)))


def _hard_concrete_sample(alpha: torch.Tensor, tau: float, generator: torch.Generator) -> EdgeSample:
    hard, choice = straight_through(gumbel_softmax(alpha, tau, gumbel_noise(alpha.shape, generator)))
    return EdgeSample(hard, choice)


@dataclass(frozen=True)
class Relaxation:
    """One edge-weighting method: how it samples, how α starts, and how it is trained."""

    name: str
    sample: Callable[[torch.Tensor, float, torch.Generator], EdgeSample]
    """``(alpha, tau, generator) -> EdgeSample`` for one cell type."""
    bilevel: bool
    """α learns on validation batches in a step separate from θ's (DARTS, GDAS)."""
    arch_first: bool
    """In a bilevel step, update α before θ (DARTS) rather than after (GDAS)."""
    alpha_init_mean: float
    alpha_init_std: float
    uses_temperature: bool

    def init_alpha(self, num_edges: int, num_ops: int, generator: torch.Generator) -> torch.Tensor:
        return self.alpha_init_mean + self.alpha_init_std * torch.randn(num_edges, num_ops, generator=generator)


RELAXATIONS: dict[str, Relaxation] = {
    # Official SNAS code: α ~ N(1, 0.01), single level.
    "snas": Relaxation("snas", _concrete_sample, bilevel=False, arch_first=False, alpha_init_mean=1.0,
                       alpha_init_std=0.01, uses_temperature=True),
    # GDAS and DARTS reference code: α = 1e-3 · N(0, 1), bilevel.
    "gdas": Relaxation("gdas", _hard_concrete_sample, bilevel=True, arch_first=False, alpha_init_mean=0.0,
                       alpha_init_std=1e-3, uses_temperature=True),
    "darts": Relaxation("darts", _softmax_weights, bilevel=True, arch_first=True, alpha_init_mean=0.0,
                        alpha_init_std=1e-3, uses_temperature=False),
}
