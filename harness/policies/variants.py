"""What the grid and random searchers share: Tune's variant generator and the order of trials.

Both run every combination of the ``grid`` entries ``num_samples`` times, drawing the
sampled entries (random search only) per trial from a seeded generator.
"""

from __future__ import annotations

import random
from typing import Any, Literal

from harness.domain import Space, grid_combinations
from harness.policies.base import Objective, Searcher
from harness.trialplan import TrialPlan, to_tune


class VariantSearcher(Searcher):
    """A searcher on Tune's ``BasicVariantGenerator``."""

    grid_order: Literal["shuffled", "listed"] = "shuffled"
    """Order in which the grid combinations start.  ``shuffled`` (seeded by ``seed``)
    because asynchronous halving judges a trial only against those that reached a rung
    before it: a sweep listed from weak to strong values would pass nearly every trial
    through every rung.  ``listed``: Tune's order (keys sorted, the first varying fastest)."""

    def _check_order(self, space: Space) -> None:
        gridded = [key for key, domain in space.items() if domain.variation == "grid"]
        if gridded and self.points_to_evaluate and self.grid_order == "shuffled":
            raise ValueError("searcher.points_to_evaluate runs first, each point crossed with the grid entries it "
                             "leaves out, in listed order: set searcher.grid_order: listed to use it with grid "
                             f"entries ({', '.join(gridded)})")

    def plan(self, space: Space, derived: dict[str, Any]) -> TrialPlan:
        """The study's trials for Tune.

        With ``grid_order: shuffled`` the grid combinations become points, each
        ``num_samples`` times, in a seeded random order, and every trial is one of them: the
        sampled entries are drawn per trial as before.  The grid entries stay in
        ``param_space`` as choices only because Tune checks each point against it; with one
        trial per point nothing is ever drawn from them.  Otherwise Tune expands the grid
        itself, after the study's own ``points_to_evaluate``.
        """
        from ray import tune

        points = [dict(p) for p in self.points_to_evaluate]
        has_grid = any(domain.variation == "grid" for domain in space.values())
        if self.grid_order == "listed" or not has_grid:
            return TrialPlan({**{key: to_tune(domain) for key, domain in space.items()}, **derived}, points,
                             self.num_samples)
        shuffled = [dict(combination) for combination in grid_combinations(space) * self.num_samples]
        random.Random(self.seed).shuffle(shuffled)
        domains = {key: tune.choice(domain.bounds) if domain.variation == "grid" else to_tune(domain)
                   for key, domain in space.items()}
        return TrialPlan(domains | derived, shuffled, len(shuffled))

    def build(self, space: Space, plan: TrialPlan, objective: Objective, experiment_path: str,
              max_concurrent: int | None) -> Any:
        from ray.tune.search.basic_variant import BasicVariantGenerator

        return BasicVariantGenerator(points_to_evaluate=plan.points or None, random_state=self.seed,
                                     max_concurrent=max_concurrent or 0)

    def limits_concurrency(self) -> bool:
        return True
