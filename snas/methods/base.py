"""What a search method is.

A method owns how α becomes edge weights (its sampler), how α starts, the settings it
fills in when a search leaves them out, what it can be combined with, and one training
step built from :mod:`snas.methods.steps`.

The configuration reads the methods' names, defaults and abilities, and the α optimisers'
names, without loading torch: a method imports its sampler and its steps when a search
calls them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from snas.registry import Registry

if TYPE_CHECKING:
    import torch
    from torch import nn

    from snas.methods.steps import ArchGradient, Batch, Learner, Stats
    from snas.relax import EdgeSample

Betas = tuple[float, float]


def _sgd(params: list[nn.Parameter], lr: float, betas: Betas, weight_decay: float) -> torch.optim.Optimizer:
    import torch

    return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)


def _adam(params: list[nn.Parameter], lr: float, betas: Betas, weight_decay: float) -> torch.optim.Optimizer:
    import torch

    return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay)


ARCH_OPTIMIZERS: Registry[Callable[..., torch.optim.Optimizer]] = Registry("α optimiser", {
    "sgd": _sgd,    # official SNAS (single GPU)
    "adam": _adam,  # DARTS and GDAS
})
"""``(params, lr=, betas=, weight_decay=) -> optimiser`` of α, by ``arch.name``."""


class Method(ABC):
    """One search method (see the module docstring); subclasses fill in the class attributes."""

    name: str
    bilevel: bool
    """α learns on validation batches in a step of its own (the search then draws them)."""
    soft_samples: bool
    """Its samples are soft Concrete draws, whose density the policy-gradient penalty needs."""
    offers_second_order: bool = False
    """``second_order: true`` is meaningful (DARTS's unrolled gradient)."""
    uses_temperature: bool = True
    """Its samples depend on the temperature τ (DARTS's softmax does not; its τ is reported, unused)."""
    alpha_init_mean: float
    alpha_init_std: float
    defaults: Mapping[str, Any]
    """Settings filled in when a search leaves them out (nested like the config)."""

    @abstractmethod
    def sample(self, alpha: torch.Tensor, tau: float, generator: torch.Generator) -> EdgeSample:
        """Edge weights of one cell type from its α (``tau`` and ``generator`` where it samples)."""

    def init_alpha(self, num_edges: int, num_ops: int, generator: torch.Generator) -> torch.Tensor:
        import torch

        return self.alpha_init_mean + self.alpha_init_std * torch.randn(num_edges, num_ops, generator=generator)

    @abstractmethod
    def step(self, learner: Learner, batch: Batch, val_batch: Batch | None, tau: float, stats: Stats | None) -> bool:
        """One optimisation step; False if a loss was NaN/inf (that update is not applied)."""


class SingleLevelMethod(Method):
    """θ and α learn from the same training loss."""

    bilevel = False

    def step(self, learner: Learner, batch: Batch, val_batch: Batch | None, tau: float, stats: Stats | None) -> bool:
        from snas.methods.steps import step_single_level

        return step_single_level(learner, batch, tau, stats)


class BilevelMethod(Method):
    """θ on training batches, α on validation batches; ``arch_first`` orders the halves."""

    bilevel = True
    arch_first: bool

    def arch_gradient(self, learner: Learner) -> ArchGradient:
        from snas.methods.steps import first_order_arch_gradient

        return first_order_arch_gradient

    def step(self, learner: Learner, batch: Batch, val_batch: Batch | None, tau: float, stats: Stats | None) -> bool:
        if val_batch is None:
            raise ValueError(f"method {self.name} needs a validation batch for its α step")
        from snas.methods.steps import step_arch, step_weights

        gradient = self.arch_gradient(learner)
        if self.arch_first:
            return (step_arch(learner, batch, val_batch, tau, gradient)
                    and step_weights(learner, batch, tau, stats))
        return step_weights(learner, batch, tau, stats) and step_arch(learner, batch, val_batch, tau, gradient)


def with_defaults(defaults: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` with every default it leaves out filled in, sections merged key by key."""
    merged = dict(settings)
    for key, default in defaults.items():
        if key not in merged:
            merged[key] = default
        elif isinstance(default, Mapping) and isinstance(merged[key], Mapping):
            merged[key] = with_defaults(default, merged[key])
    return merged
