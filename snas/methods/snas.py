"""SNAS (Xie et al., ICLR 2019): a relaxed Concrete sample per edge, single level.

``z = softmax((α + g) / τ)`` with Gumbel noise ``g``; every op runs, weighted by ``z``, and
θ and α learn from the same training loss.  α starts at ``N(1, 0.01)`` as in the official
code.  Defaults follow the official single-GPU search: α by SGD at lr 3e-4 without weight
decay, drop path 0.3 (official README).
"""

from __future__ import annotations

import torch

from snas.methods.base import SingleLevelMethod
from snas.relax import EdgeSample, gumbel_noise, gumbel_softmax


class Snas(SingleLevelMethod):
    name = "snas"
    soft_samples = True
    alpha_init_mean = 1.0
    alpha_init_std = 0.01
    defaults = {"arch": {"name": "sgd", "lr": 3e-4, "weight_decay": 0.0}, "drop_path": 0.3}

    def sample(self, alpha: torch.Tensor, tau: float, generator: torch.Generator) -> EdgeSample:
        return EdgeSample(gumbel_softmax(alpha, tau, gumbel_noise(alpha.shape, generator)))
