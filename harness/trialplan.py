"""A study's trials as Ray Tune sees them: the param space and the points run first.

The searchers (:mod:`harness.policies`) build a :class:`TrialPlan` from the study; the
tuner hands it to Tune.  Each study ``space`` entry becomes its Tune domain here, once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.study import Domain, Study

GENOTYPE_KEY = "retrain.settings.genotype"
ORIGIN_FIELDS = ("origin", "genotype_id", "source_trials", "random_index")
"""What a retrain trial's config says of its genotype's origin, as ``retrain.<field>``
(:mod:`harness.retraining`); ``None`` where a field does not apply (a random genotype has
no source trials, a searched one no random index)."""


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


def _origin_field(origins: Mapping[str, Mapping[str, Any]], field: str, spec: Mapping[str, Any]) -> Any:
    """Tune 2.60 hands a ``sample_from`` function the trial's spec (its config under ``config``);
    it announces handing the config itself instead, which this reads too."""
    config = spec["config"] if "config" in spec else spec
    return origins.get(config[GENOTYPE_KEY], {}).get(field)


def origin_fields(study: Study) -> dict[str, Any]:
    """``retrain.origin`` etc. for a retrain study made by ``snas-study retrain``: resolved by
    Tune from each trial's genotype label, so every trial's config (params.json, the
    experiment state) carries them; none for any other study."""
    from ray import tune

    origins = (study.source or {}).get("genotypes")
    if not origins or GENOTYPE_KEY not in study.space:
        return {}
    return {f"retrain.{field}": tune.sample_from(functools.partial(_origin_field, origins, field))
            for field in ORIGIN_FIELDS}


@dataclass(frozen=True)
class TrialPlan:
    """What the searcher is given: ``param_space``, the points it starts first (in this
    order) and ``num_samples`` as Tune counts it (each point uses up one sample)."""

    param_space: dict[str, Any]
    points: list[dict[str, Any]]
    num_samples: int


def trial_plan(study: Study) -> TrialPlan:
    """The study's trials for Tune, as its searcher plans them."""
    return study.searcher.plan(study)
