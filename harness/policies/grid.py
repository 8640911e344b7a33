"""Grid search: every combination of the ``grid`` entries, ``num_samples`` times each."""

from __future__ import annotations

from typing import ClassVar, Literal

from harness.domain import Space
from harness.policies.variants import VariantSearcher


class GridSearcher(VariantSearcher):
    """Runs the grid exactly: a study with sampled entries needs the random searcher."""

    name: Literal["grid"] = "grid"
    title: ClassVar[str] = "grid search"

    def check(self, space: Space) -> None:
        sampled = [key for key, domain in space.items() if domain.variation != "grid"]
        if sampled:
            raise ValueError(f"searcher grid tries grid entries only; {', '.join(sampled)} are sampled: "
                             "use searcher.name random (or optuna), or make them grid entries")
        super().check(space)

    def settings_are_distinct(self, space: Space) -> bool:
        return bool(space) and self.num_samples == 1
