"""A study's space as Ray Tune sees it: search-space domains and the points run first."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ray import tune

from harness.study import Domain, Study

_TO_TUNE: dict[str, Callable[[Any], Any]] = {
    "grid": tune.grid_search,
    "choice": tune.choice,
    "uniform": lambda bounds: tune.uniform(*bounds),
    "loguniform": lambda bounds: tune.loguniform(*bounds),
    "randint": lambda bounds: tune.randint(*bounds),
}


def to_tune(domain: Domain) -> Any:
    return _TO_TUNE[domain.kind](domain.bounds)


GENOTYPE_KEY = "retrain.settings.genotype"
ORIGIN_FIELDS = ("origin", "genotype_id", "source_trials", "random_index")
"""What a retrain trial's config says of its genotype's origin, as ``retrain.<field>``
(:mod:`harness.retraining`); ``None`` where a field does not apply (a random genotype has
no source trials, a searched one no random index)."""


def _origin_field(origins: Mapping[str, Mapping[str, Any]], field: str, spec: Mapping[str, Any]) -> Any:
    """Tune 2.60 hands a ``sample_from`` function the trial's spec (its config under ``config``);
    it announces handing the config itself instead, which this reads too."""
    config = spec["config"] if "config" in spec else spec
    return origins.get(config[GENOTYPE_KEY], {}).get(field)


def origin_fields(study: Study) -> dict[str, Any]:
    """``retrain.origin`` etc. for a retrain study made by ``snas-study retrain``: resolved by
    Tune from each trial's genotype label, so every trial's config (params.json, the
    experiment state) carries them; none for any other study."""
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
    """The study's trials for Tune.

    With ``searcher.grid_order: shuffled`` the grid combinations become points, each
    ``num_samples`` times, in a seeded random order, and every trial is one of them: the
    sampled entries are drawn per trial as before.  The grid entries stay in
    ``param_space`` as choices only because Tune checks each point against it; with one
    trial per point nothing is ever drawn from them.  Otherwise Tune expands the grid
    itself, after the study's own ``points_to_evaluate``.
    """
    points = [dict(p) for p in study.searcher.points_to_evaluate]
    has_grid = any(domain.kind == "grid" for domain in study.space.values())
    if study.searcher.grid_order == "listed" or not has_grid:
        return TrialPlan({**{key: to_tune(domain) for key, domain in study.space.items()}, **origin_fields(study)},
                         points, study.searcher.num_samples)
    shuffled = [dict(combination) for combination in study.grid_combinations() * study.searcher.num_samples]
    random.Random(study.searcher.seed).shuffle(shuffled)
    space = {key: tune.choice(domain.bounds) if domain.kind == "grid" else to_tune(domain)
             for key, domain in study.space.items()} | origin_fields(study)
    return TrialPlan(space, shuffled, len(shuffled))
