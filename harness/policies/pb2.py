"""PB2 (Parker-Holder et al., NeurIPS 2020): population-based training whose explore step is a
GP bandit.

Exploiting is PBT's (:mod:`harness.policies.pbt`: the bottom ``quantile_fraction`` copies the
top); exploring picks each mutated setting's new value within its range by a time-varying
Gaussian-process upper confidence bound fitted to the population's recent improvements,
instead of multiplying or resampling it.  So its ``mutations`` are ranges (``uniform`` or
``loguniform``, both searched on a linear scale), and it has no ``resample_probability`` or
``perturbation_factors``.  Tune 2.60's PB2 fits its GP with scikit-learn, a dependency of
snas-study already.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from harness.domain import Space, is_seed_key
from harness.policies.base import Objective, TrialFacts
from harness.policies.pbt import PopulationScheduler

RANGES = ("uniform", "loguniform")


class Pb2Scheduler(PopulationScheduler):
    name: Literal["pb2"] = "pb2"
    title: ClassVar[str] = "PB2"

    def check_trials(self, space: Space, trials: TrialFacts) -> None:
        super().check_trials(space, trials)
        seeds = [key for key, domain in space.items() if is_seed_key(key)]
        if seeds:
            raise ValueError(f"space.{seeds[0]}: PB2 fits one GP to every trial's progress, so the populations of "
                             f"several seeds would not be independent replicates; run the study once per seed "
                             f"(--set {seeds[0]}=N with {seeds[0]} out of the space) or use scheduler pbt")
        for key, domain in self.mutations.items():
            if domain.variation not in RANGES:
                raise ValueError(f"scheduler.mutations.{key}: PB2 explores a range of numbers; give uniform or "
                                 f"loguniform [low, high], not {domain.variation}")

    def build(self, epochs: int, data_parallel: bool, objective: Objective) -> Any:
        from harness.population_tune import StudyPB2

        bounds = {key: list(domain.bounds) for key, domain in self.mutations.items()}
        return StudyPB2(epochs, time_attr="epoch", perturbation_interval=self.perturbation_interval,
                        hyperparam_bounds=bounds, quantile_fraction=self.quantile_fraction, synch=self.synch,
                        decision_seed=self.seed)
