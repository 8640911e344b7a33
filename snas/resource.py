"""The SNAS resource constraint: per-op costs, the penalty, and its three estimators.

Every op on every edge has three costs for the input shape it really sees in its cell:
parameters ("size" in the official code), MACs ("flops") and memory accesses ("mac"),
counted by the cost model that ``resource.cost_model`` names (:data:`COST_MODELS`: the
``official`` formulas by default, or ``measured`` on the op as built), which each space
implements for its ops (:mod:`snas.spaces.darts.costs`, :mod:`snas.spaces.nas_bench_201.costs`).
For an edge with op weights ``w`` the edge cost is
``Σ_k w_k R_k`` per resource, combined as

* ``separation: all``  -- ``0.43 · (2·params + macs/4000 + memory/100)``, or with
  ``log_penalty`` the mean of the three ``log(max(1, ·))``;
* ``params`` / ``macs`` / ``mac`` -- that resource alone (``log(max(1, ·))`` with log).

Edge costs are summed per cell, and the cells of each type combined by the
``normalisation``:

* ``official`` (default) -- the official ``train_search.py``: the normal cells' total
  divided by 6 and the reduction cells' by 2 (the counts of its 8-cell network) at any
  depth, ``penalty = Σ normal / 6 + ratio · Σ reduce / 2``;
* ``mean`` -- each type's mean over its real number of cells (equal to ``official`` at 8
  cells; at 5 cells the normal term is twice the official one, at 20 a third of it).

The estimators of ``E_z[cost]``:

* ``reparametrization`` -- ``w`` is the relaxed sample ``z`` (pathwise gradient);
* ``discrete`` -- ``w = softmax(α)``, the expectation under the categorical, no sampling;
* ``policy_gradient`` -- the surrogate ``log p_{α,τ}(z) · stopgrad(cost(z) − b)`` per
  edge, with the Concrete log-density and optional baseline ``b`` (the cost of the cell's
  mean op).  The setting ``policy_gradient`` says at which ``z`` the density is taken:

  - ``score_function`` (default) -- ``stopgrad(z)``: per op the α gradient is
    ``(cost − b) · (1 − n·softmax(α − τ log z))``, i.e. ``(cost − b) · ∂_α log p_α(z)``,
    the unbiased score-function (REINFORCE) estimator of ``∇_α E_z[cost]``;
  - ``official`` -- ``z`` as sampled, still a function of α: the official
    ``model_search.py`` passes the sampled ``weights`` (``_get_categ_mask``, lines
    665-670) undetached to ``Network.logp`` (lines 247-257) in ``Network.forward``
    (lines 543-555; only the cost is detached there).  With ``z = softmax((α + g)/τ)``
    the total derivative of ``log p_α(z(α, g))`` is ``(n·z − 1)/τ`` (where no ``z_k`` is
    clamped at ε): the score above plus a pathwise part.  Nothing else differs: the
    official α gradient equals ours plus that part (to ≤ 6.1e-7 of its largest
    element, 8 cells, C = 16, every separation × log × baseline), and ``official``
    reproduces it to the same figure.

  ``score_function`` stays the default because the official gradient is biased:
  ``E[(n·z − 1)/τ] = (n·E[z] − 1)/τ`` is not 0 as ``E[∂_α log p] = 0`` is, so a
  constant cost still moves α and the baseline shifts the mean instead of only the
  variance.  Averaged over many samples of one edge it even moves some α against the
  gradient of ``E_z[cost]`` (``tests/snas/test_resource.py``).

The configuration validates the settings against the registries below without loading
torch; the functions that compute import it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from snas.registry import Registry

if TYPE_CHECKING:
    import torch

RESOURCES: tuple[str, ...] = ("params", "macs", "mac")
SEPARATIONS: Registry[tuple[str, ...]] = Registry("separation", {
    "all": RESOURCES, **{resource: (resource,) for resource in RESOURCES}})
"""``separation`` -> the resources its penalty combines."""

COST_MODELS: Registry[str] = Registry("cost model", {
    "official": "the closed-form formulas of the official SNAS code",
    "measured": "what the op as built computes and moves (snas.profile.count_forward)",
})
"""``resource.cost_model`` -> what it counts; every space's costs module implements each."""

_ALL_WEIGHTS = (2.0, 1.0 / 4000.0, 1.0 / 100.0)
_ALL_SCALE = 0.43
"""``separation: all`` weighs params, MACs and memory accesses ``0.43 · (2, 1/4000, 1/100)``."""


@dataclass(frozen=True)
class CellGeometry:
    """What a search cell's ops see: channels per node, input resolution, reduction or not."""

    channels: int
    height: int
    width: int
    reduction: bool


def concrete_log_prob(logits: torch.Tensor, z: torch.Tensor, tau: float, eps: float = 1e-4) -> torch.Tensor:
    """Log-density of the Concrete distribution at ``z`` (last dim = categories).

    ``log (n−1)! + (n−1) log τ + Σ α_k − (τ+1) Σ log z_k − n log Σ exp(α_k) z_k^−τ``,
    with ``z`` clamped at ``eps`` for stability.  (The official ``Network.logp`` also
    floors each ``exp(α_k) z_k^−τ`` at ``eps``; as ``z_k^−τ ≥ 1`` that only matters
    where ``α_k < log eps ≈ −9.2``.)
    """
    import torch

    n = logits.shape[-1]
    log_z = torch.log(z.clamp_min(eps))
    return (
        math.lgamma(n) + (n - 1) * math.log(tau) + logits.sum(-1)
        - (tau + 1) * log_z.sum(-1) - n * torch.logsumexp(logits - tau * log_z, dim=-1)
    )


@dataclass(frozen=True)
class PenaltyTerm:
    """What the penalty contributes to one step."""

    loss: torch.Tensor
    """Add ``λ · loss`` to the objective (the surrogate, for policy_gradient)."""
    cost: torch.Tensor
    """The normalised resource cost itself (detached), as reported in metrics."""


@dataclass
class ResourcePenalty:
    """The resource term for one supernet, with its cost tables on the α device.

    One cost table per cell type of the search space (DARTS: normal, reduction; NAS-Bench-201:
    its one cell), each ``[cells of that type, resource, edge, op]``.
    """

    method: str
    separation: str
    log_penalty: bool
    ratio: float
    baseline: bool
    costs: tuple[torch.Tensor, ...]
    ratio_weighted: tuple[bool, ...]
    """Per cell type: whether ``ratio`` weights its cost (DARTS's reduction cells)."""
    official_counts: tuple[int, ...]
    """Per cell type: the divisor of the ``official`` normalisation."""
    normalisation: str = "official"
    policy_gradient: str = "score_function"
    """Which gradient the ``policy_gradient`` estimator gives (see :data:`POLICY_GRADIENTS`)."""

    @classmethod
    def for_cells(
        cls, cells: list[list[CellGeometry]], *, cost_table: Callable[[CellGeometry, str], torch.Tensor],
        ratio_weighted: tuple[bool, ...], official_counts: tuple[int, ...], method: str, separation: str,
        log_penalty: bool, ratio: float, baseline: bool, device: torch.device, cost_model: str = "official",
        normalisation: str = "official", policy_gradient: str = "score_function",
    ) -> ResourcePenalty:
        """``cells``: the geometry of every cell, one list per cell type."""
        import torch

        PENALTIES.check(method)
        SEPARATIONS.check(separation)
        COST_MODELS.check(cost_model)
        NORMALISATIONS.check(normalisation)
        POLICY_GRADIENTS.check(policy_gradient)
        costs = tuple(torch.stack([cost_table(c, cost_model) for c in of_type]).to(device, torch.float32)
                      for of_type in cells)
        return cls(method, separation, log_penalty, ratio, baseline, costs, ratio_weighted, official_counts,
                   normalisation, policy_gradient)

    def _combine(self, per_resource: torch.Tensor) -> torch.Tensor:
        """Per-resource costs ``[..., resource, edge]`` -> one penalty per edge ``[..., edge]``."""
        import torch

        if self.log_penalty:
            logs = torch.log(per_resource.clamp_min(1.0))
            return logs.mean(-2) if self.separation == "all" else logs[..., RESOURCES.index(self.separation), :]
        if self.separation == "all":
            weights = (torch.tensor(_ALL_WEIGHTS) * _ALL_SCALE).to(per_resource.device, per_resource.dtype)
            return (per_resource * weights[:, None]).sum(-2)
        return per_resource[..., RESOURCES.index(self.separation), :]

    def _edge_costs(self, costs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """``[cells, edge]`` penalties for op weights ``[cells or 1, edge, op]``."""
        return self._combine((costs * weights[:, None]).sum(-1))

    def _baseline(self, costs: torch.Tensor) -> torch.Tensor:
        """``[cells, 1]`` penalty of each cell's mean op cost (the official minus_baseline)."""
        mean = costs.mean(dim=(-1, -2))  # [cells, resource]
        return self._combine(mean[..., None])

    def __call__(self, alphas: tuple[torch.Tensor, ...], weights: tuple[torch.Tensor, ...], tau: float) -> PenaltyTerm:
        """The penalty for sampled op weights ``[cells or 1, edge, op]`` of each cell type
        (``alphas`` and ``weights`` in the space's cell-type order)."""
        estimate, normalise = PENALTIES[self.method].estimate, NORMALISATIONS[self.normalisation]
        loss: torch.Tensor | None = None
        cost: torch.Tensor | None = None
        for costs, alpha, sample, weighted, count in zip(
                self.costs, alphas, weights, self.ratio_weighted, self.official_counts, strict=True):
            type_loss, type_cost = (normalise(part, count) for part in estimate(self, costs, alpha, sample, tau))
            if weighted:
                type_loss, type_cost = self.ratio * type_loss, self.ratio * type_cost
            loss = type_loss if loss is None else loss + type_loss
            cost = type_cost if cost is None else cost + type_cost
        assert loss is not None and cost is not None
        return PenaltyTerm(loss, cost.detach())


Estimator = Callable[
    [ResourcePenalty, "torch.Tensor", "torch.Tensor", "torch.Tensor", float], tuple["torch.Tensor", "torch.Tensor"]]
"""``(penalty, costs, alpha, sample weights, τ) -> (loss term, cost)`` for one cell type,
each per cell of that type (the normalisation combines the cells)."""


def _reparametrization(pen: ResourcePenalty, costs: torch.Tensor, alpha: torch.Tensor,
                       weights: torch.Tensor, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    cost = pen._edge_costs(costs, weights).sum(-1)
    return cost, cost


def _discrete(pen: ResourcePenalty, costs: torch.Tensor, alpha: torch.Tensor,
              weights: torch.Tensor, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    cost = pen._edge_costs(costs, torch.softmax(alpha, dim=-1)[None]).sum(-1)
    return cost, cost


def _policy_gradient(pen: ResourcePenalty, costs: torch.Tensor, alpha: torch.Tensor,
                     weights: torch.Tensor, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    edge_costs = pen._edge_costs(costs, weights.detach())  # [cells, edge]
    reward = edge_costs - pen._baseline(costs) if pen.baseline else edge_costs
    density_at = POLICY_GRADIENTS[pen.policy_gradient]
    log_p = concrete_log_prob(alpha[None], density_at(weights), tau)  # [cells or 1, edge]
    surrogate = (log_p * reward.detach()).sum(-1)
    return surrogate, edge_costs.sum(-1)


def _score_function(z: torch.Tensor) -> torch.Tensor:
    """``stopgrad(z)``: only ``∂_α log p_α(z)``, the unbiased score-function gradient."""
    return z.detach()


def _official_pathwise(z: torch.Tensor) -> torch.Tensor:
    """``z`` with its graph to α, as the official code: the score plus a biased pathwise part."""
    return z


POLICY_GRADIENTS: Registry[Callable[[torch.Tensor], torch.Tensor]] = Registry("policy-gradient estimator", {
    "score_function": _score_function,
    "official": _official_pathwise,
})
"""``resource.policy_gradient`` -> the sample (detached or not) the Concrete density is taken at."""


def _no_penalty(pen: ResourcePenalty, costs: torch.Tensor, alpha: torch.Tensor,
                weights: torch.Tensor, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """No loss term; the cost is still reported (the discrete expectation)."""
    import torch

    _, cost = _discrete(pen, costs, alpha, weights, tau)
    return torch.zeros((), device=cost.device), cost


@dataclass(frozen=True)
class PenaltyEstimator:
    """One way of estimating ``E_z[cost]`` and its gradient, with the official default λ."""

    estimate: Estimator
    lambda_log: float
    """λ the official code uses with ``log_penalty``."""
    lambda_linear: float
    """λ the official code uses without it."""
    needs_soft_samples: bool = False
    """Needs the density of soft Concrete samples (only methods drawing those qualify)."""

    def default_lambda(self, log_penalty: bool) -> float:
        return self.lambda_log if log_penalty else self.lambda_linear


PENALTIES: Registry[PenaltyEstimator] = Registry("penalty method", {
    "none": PenaltyEstimator(_no_penalty, 0.0, 0.0),
    "reparametrization": PenaltyEstimator(_reparametrization, 1e-2, 1e-5),
    "discrete": PenaltyEstimator(_discrete, 1e-2, 1e-4),
    "policy_gradient": PenaltyEstimator(_policy_gradient, 1e-4, 1e-5, needs_soft_samples=True),
})
"""``resource.method`` -> its estimator."""


Normalisation = Callable[["torch.Tensor", int], "torch.Tensor"]
"""``(per-cell values, the official divisor of that cell type) -> one value for the type``."""

def _official_normalisation(per_cell: torch.Tensor, official_count: int) -> torch.Tensor:
    return per_cell.sum() / official_count


def _mean_normalisation(per_cell: torch.Tensor, official_count: int) -> torch.Tensor:
    return per_cell.mean()


NORMALISATIONS: Registry[Normalisation] = Registry("normalisation", {
    "official": _official_normalisation,
    "mean": _mean_normalisation,
})
"""``resource.normalisation`` -> how the cells of one type are combined."""


def default_lambda(method: str, log_penalty: bool) -> float:
    """The official SNAS default λ for a penalty estimator."""
    return PENALTIES[method].default_lambda(log_penalty)
