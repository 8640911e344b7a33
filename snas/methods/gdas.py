"""GDAS (Dong & Yang, CVPR 2019): a hard Gumbel sample per edge, bilevel, θ first.

The Concrete draw is made one-hot with a straight-through gradient,
``h = onehot(argmax z) − stopgrad(z) + z``; only the chosen op of each edge runs, and α
learns through that op's weight on validation batches, after θ's step (the reference
order).  α starts at ``1e-3 · N(0, 1)``; α by Adam lr 3e-4, betas (0.5, 0.999), weight
decay 1e-3, its gradient not clipped; no drop path; τ from 10 down to 0.1, linearly per
epoch (D-X-Y/AutoDL-Projects, scripts-search/NASNet-space-search-by-GDAS.sh: ``--tau_max 10
--tau_min 0.1 --arch_learning_rate 0.0003 --arch_weight_decay 0.001``); 250 epochs of
batch 256, θ by Nesterov SGD with weight decay 5e-4, lr 0.025 cosine to 0.001
(configs/search-opts/GDAS-NASNet-CIFAR.config).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snas.methods.base import BilevelMethod

if TYPE_CHECKING:
    import torch

    from snas.relax import EdgeSample


class Gdas(BilevelMethod):
    name = "gdas"
    arch_first = False
    soft_samples = False
    alpha_init_mean = 0.0
    alpha_init_std = 1e-3
    defaults = {
        "arch": {"name": "adam", "lr": 3e-4, "weight_decay": 1e-3},
        "drop_path": 0.0,
        "temperature": {"initial": 10.0, "min": 0.1},
        "epochs": 250,
        "batch_size": 256,
        "weights": {"weight_decay": 5e-4, "nesterov": True},
    }

    def sample(self, alpha: torch.Tensor, tau: float, generator: torch.Generator) -> EdgeSample:
        from snas.relax import EdgeSample, gumbel_noise, gumbel_softmax, straight_through

        hard, choice = straight_through(gumbel_softmax(alpha, tau, gumbel_noise(alpha.shape, generator)))
        return EdgeSample(hard, choice)
