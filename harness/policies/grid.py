"""Grid search: every combination of the ``grid`` entries, ``num_samples`` times each."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from harness.policies.variants import VariantSearcher

if TYPE_CHECKING:
    from harness.study import Study


class GridSearcher(VariantSearcher):
    """Runs the grid exactly: a study with sampled entries needs the random searcher."""

    name: Literal["grid"] = "grid"
    title: ClassVar[str] = "grid search"

    def check(self, study: Study) -> None:
        sampled = [key for key, domain in study.space.items() if domain.variation != "grid"]
        if sampled:
            raise ValueError(f"searcher grid tries grid entries only; {', '.join(sampled)} are sampled: "
                             "use searcher.name random (or optuna), or make them grid entries")
        super().check(study)

    def settings_are_distinct(self, study: Study) -> bool:
        return bool(study.space) and self.num_samples == 1
