"""A study's trials as Ray Tune sees them: the param space and the points run first.

The searchers (:mod:`harness.policies`) build a :class:`TrialPlan` from the study's space;
the tuner (:func:`harness.tuner.trial_plan`) hands it to Tune.  Each ``space`` entry
becomes its Tune domain here, once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.domain import Domain

def _tune_domains() -> dict[str, Callable[[Any], Any]]:
    from ray import tune

    return {
        "grid": tune.grid_search,
        "choice": tune.choice,
        "uniform": lambda bounds: tune.uniform(*bounds),
        "loguniform": lambda bounds: tune.loguniform(*bounds),
        "randint": lambda bounds: tune.randint(*bounds),
    }


def to_tune(domain: Domain) -> Any:
    """The Tune domain of a study's space entry (Ray is imported only when a study runs)."""
    return _tune_domains()[domain.variation](domain.bounds)


@dataclass(frozen=True)
class TrialPlan:
    """What the searcher is given: ``param_space``, the points it starts first (in this
    order) and ``num_samples`` as Tune counts it (each point uses up one sample)."""

    param_space: dict[str, Any]
    points: list[dict[str, Any]]
    num_samples: int
