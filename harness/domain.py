"""How one setting of a study varies across its trials: a ``space`` entry.

Used by the study schema, the searchers (which check points and plan trials against a
study's space) and the Tune translation (:mod:`harness.trialplan`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

from pydantic import model_validator

from snas.configmodel import Frozen


class Domain(Frozen):
    """How one setting varies: exactly one of the keys.

    ``grid`` tries every value; ``choice`` samples one per trial; ``uniform`` and
    ``loguniform`` sample floats in ``[low, high]``; ``randint`` samples integers in
    ``[low, high)`` (high excluded, as in Ray Tune).
    """

    grid: list[Any] | None = None
    choice: list[Any] | None = None
    uniform: tuple[float, float] | None = None
    loguniform: tuple[float, float] | None = None
    randint: tuple[int, int] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Domain:
        given = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of grid, choice, uniform, loguniform, randint (got {given or 'none'})")
        variation = given[0]
        value = getattr(self, variation)
        if variation in ("grid", "choice") and not value:
            raise ValueError(f"{variation} needs at least one value")
        if variation in ("uniform", "loguniform", "randint") and not value[0] < value[1]:
            raise ValueError(f"{variation} needs low < high, got {list(value)}")
        if variation == "loguniform" and value[0] <= 0:
            raise ValueError(f"loguniform needs low > 0, got {value[0]}")
        return self

    @property
    def variation(self) -> str:
        """How the setting varies: ``grid``, ``choice``, ``uniform``, ``loguniform`` or ``randint``."""
        return next(k for k in type(self).model_fields if getattr(self, k) is not None)

    @property
    def bounds(self) -> Any:
        return getattr(self, self.variation)

    def problem_with(self, value: Any) -> str | None:
        """Why this domain cannot produce ``value`` (None when it can): a point run first must
        be a trial the study could have proposed, or Tune runs it with a warning and the
        trial fails on it later (and Optuna cannot record it at all)."""
        if self.variation in ("grid", "choice"):
            listed = self.bounds
            if any(value == v and isinstance(value, bool) == isinstance(v, bool) for v in listed):
                return None
            return f"{value!r} is not one of the {self.variation} values {listed}"
        low, high = self.bounds
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if self.variation == "randint":
            if not (number and float(value).is_integer() and low <= value < high):
                return f"{value!r} is not a whole number in randint [{low}, {high})"
            return None
        if not (number and low <= value <= high):
            return f"{value!r} is not a number in {self.variation} [{low}, {high}]"
        return None

    def probe_values(self) -> list[Any]:
        """Values that, if all valid, make every value this domain can produce valid."""
        if self.variation in ("grid", "choice"):
            return list(self.bounds)
        low, high = self.bounds
        return [low, high - 1] if self.variation == "randint" else [low, high]


Space = Mapping[str, Domain]
"""A study's ``space``: dotted setting -> how it varies."""


CONTROL_KEY = "population.control"
"""The space key that splits a population-based study into the population (false) and a
control arm (true): trials that run their starting settings to the end, untouched by the
scheduler (:mod:`harness.policies.pbt`), so the analysis can set the population's winner
against the best fixed setting at equal epochs (:mod:`harness.analysis.population`)."""


def is_seed_key(key: str) -> bool:
    """Whether a space key is a seed (``search.seed``, ``retrain.settings.seed``): its values
    repeat a run with other random streams, so they are replicates, never a factor."""
    return key.rsplit(".", 1)[-1] == "seed"


def grid_size(space: Space) -> int:
    """How many combinations the grid entries make (counted, not listed)."""
    return math.prod(len(domain.bounds) for domain in space.values() if domain.variation == "grid")


def grid_combinations(space: Space) -> list[dict[str, Any]]:
    """Every combination of the grid entries in Tune's order (keys sorted, the first varying
    fastest); ``[{}]`` when the space has none."""
    gridded = {key: domain.bounds for key, domain in space.items() if domain.variation == "grid"}
    keys = sorted(gridded, reverse=True)
    return [dict(zip(keys, values)) for values in itertools.product(*(gridded[key] for key in keys))]
