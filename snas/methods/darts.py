"""DARTS (Liu et al., ICLR 2019): the deterministic ``softmax(α)`` per edge, bilevel, α first.

Every op runs, weighted by ``softmax(α)`` (no sampling, no temperature).  α steps on a
validation batch before θ steps on the training batch, as ``Architect.step`` does in the
reference code; ``second_order`` replaces α's gradient by the unrolled one
(:mod:`snas.methods.unrolled`).  α starts at ``1e-3 · N(0, 1)``; α by Adam lr 3e-4, betas
(0.5, 0.999), weight decay 1e-3, its gradient not clipped (``Architect.step``); no drop
path; 50 epochs (quark0/darts, cnn/train_search.py; batch 64 and the θ optimiser are the
shared defaults).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snas.methods.base import BilevelMethod

if TYPE_CHECKING:
    import torch

    from snas.methods.steps import ArchGradient, Learner
    from snas.relax import EdgeSample


class Darts(BilevelMethod):
    name = "darts"
    arch_first = True
    soft_samples = False
    uses_temperature = False
    offers_second_order = True
    alpha_init_mean = 0.0
    alpha_init_std = 1e-3
    defaults = {"arch": {"name": "adam", "lr": 3e-4, "weight_decay": 1e-3}, "drop_path": 0.0, "epochs": 50}

    def sample(self, alpha: torch.Tensor, tau: float, generator: torch.Generator) -> EdgeSample:
        import torch.nn.functional as F

        from snas.relax import EdgeSample

        return EdgeSample(F.softmax(alpha, dim=-1))

    def arch_gradient(self, learner: Learner) -> ArchGradient:
        from snas.methods.unrolled import unrolled_arch_gradient

        return unrolled_arch_gradient if learner.second_order else super().arch_gradient(learner)
