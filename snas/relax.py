"""Edge relaxations: the pieces the methods (:mod:`snas.methods`) turn α into edge weights with.

The Concrete (Gumbel-softmax) sample ``z = softmax((α + g) / τ)``, its hard
straight-through form, and the argmax sample of a derived child; :class:`EdgeSample` is
what the supernet mixes its ops with.

α is read as log-probabilities (the paper's ``log α``).  All noise is drawn from a CPU
``torch.Generator`` the search owns and then moved to α's device, so a run draws the same
architecture samples on CPU and GPU and its RNG state is a few bytes to checkpoint.
"""

from __future__ import annotations

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
