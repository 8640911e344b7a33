"""Study space entries as Ray Tune search-space domains."""

from __future__ import annotations

from collections.abc import Callable
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


def param_space(study: Study) -> dict[str, Any]:
    """Tune's ``param_space``: one entry per varied dotted key."""
    return {key: to_tune(domain) for key, domain in study.space.items()}
