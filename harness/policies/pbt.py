"""Population-based training (Jaderberg et al., 2017): a population of trials that copy the
strong and perturb their settings as they train.

Every ``perturbation_interval`` epochs a trial in the bottom ``quantile_fraction`` of the
population (ranked by the study's objective) *exploits* one in the top fraction: it
continues from that donor's latest checkpoint (weights, α, optimisers, schedule state,
random streams) under the donor's settings, of which each ``mutations`` key is *explored*:
resampled from its domain with ``resample_probability``, else multiplied by one of
``perturbation_factors`` (a number range) or moved to a neighbouring value (a ``grid`` /
``choice`` list).  A multiplied value is kept inside its domain's range.  Only settings a
run may change between epochs (:attr:`snas.config.SearchConfig.MUTABLE_SETTINGS`) can be
mutated; the trial applies the new ones from its next epoch
(:meth:`snas.run.EpochRun.restore` with ``config``) and records the exploit and the change
in its folder (:mod:`harness.lineage`).

``search.temperature.initial`` is how the Gumbel-softmax temperature is perturbed: τ stays
proportional to it, so a new τ0' multiplies the donor's τ for the next epoch by
τ0' / τ0, after which the schedule anneals on from there at the trial's anneal rate toward
its minimum (:meth:`snas.temperature.TemperatureSchedule.retune`).

Seeds are replicates: a study that varies a seed runs one population per seed, and exploits
never cross seeds.  ``population.control: {grid: [false, true]}`` in the space adds a control
arm: each starting point also runs once untouched, so that the report can compare the
population's winner with the best fixed setting, seed by seed, at the same epochs.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, Literal

from pydantic import Field

from harness.domain import CONTROL_KEY, Domain, Space
from harness.policies.base import Budget, Objective, Scheduler, TrialFacts

EXPLOITS_COLUMN = "exploits"
"""The trials table's count of the exploits each trial made (:mod:`harness.analysis.population`)."""


def within_ranges(ranges: dict[str, tuple[float, float]], config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with each value of ``ranges`` clipped into its ``[low, high]``: PBT's
    multiplicative perturbation knows no bounds, and an anneal rate above 1 is no schedule."""
    clipped = dict(config)
    for key, (low, high) in ranges.items():
        if key in clipped:
            clipped[key] = type(clipped[key])(min(max(clipped[key], low), high))
    return clipped


def _range(domain: Domain) -> tuple[float, float] | None:
    """The closed range a number domain's values lie in (None for a list of values)."""
    if domain.variation in ("grid", "choice"):
        return None
    low, high = domain.bounds
    return (low, high - 1) if domain.variation == "randint" else (low, high)


class PopulationScheduler(Scheduler):
    """What PBT and PB2 share: the population's settings, their checks against the study, and
    the lineage columns of the analysis."""

    title: ClassVar[str] = "PBT"
    several_objectives: ClassVar[str | None] = ("copies the best trials by one metric, so it cannot take a list "
                                                "objective; use scheduler fifo")
    plots: ClassVar[tuple[str, ...]] = ("population",)
    column_titles: ClassVar[dict[str, str]] = {EXPLOITS_COLUMN: "exploits"}
    copies_trials: ClassVar[bool] = True
    space_keys: ClassVar[tuple[str, ...]] = (CONTROL_KEY,)

    perturbation_interval: int = Field(ge=1)
    """Epochs between a trial's perturbations (exploit-and-explore decisions)."""
    quantile_fraction: float = Field(0.25, gt=0, le=0.5)
    """The bottom fraction of the population that exploits the top fraction."""
    mutations: dict[str, Domain] = Field(min_length=1)
    """The settings explored (space keys of mid-run-mutable settings) and the domain each is
    explored in."""
    synch: bool = False
    """Perturb the whole population at once, every trial waiting for the slowest at each
    perturbation (Tune's synchronous PBT); else each trial when it gets there."""
    seed: int = Field(0, ge=0)
    """Seeds each decision's random choices (the donor, the perturbation factors, resampled
    values), with the trial's number and the epoch: a synchronous study rerun, or resumed,
    makes the same decisions (:class:`harness.population_tune.StudyPBT`)."""

    def check_trials(self, space: Space, trials: TrialFacts) -> None:
        """Each mutated setting may change mid-run, and starts where the study's space puts it
        (PBT would otherwise draw its first value itself, unseen by the searcher and the
        analysis); checkpoints fall on perturbations; trials run in one process, proposed
        up front."""
        mutable = [f"{trials.section}.{key}" for key in trials.mutable_settings]
        control = space.get(CONTROL_KEY)
        if control is not None and (control.variation != "grid" or sorted(control.bounds) != [False, True]
                                    or not all(isinstance(value, bool) for value in control.bounds)):
            raise ValueError(f"space.{CONTROL_KEY} splits the trials into the population and a control arm: "
                             f"give it {{grid: [false, true]}}")
        for key in self.mutations:
            if key not in mutable:
                raise ValueError(f"scheduler.mutations.{key}: cannot change during a trial; {self.title} may "
                                 f"mutate only {', '.join(mutable)}")
            if key not in space:
                raise ValueError(f"scheduler.mutations.{key}: {self.title} explores settings the space varies; "
                                 f"add {key} to space (its starting values)")
        if self.perturbation_interval % trials.checkpoint_every:
            raise ValueError(f"checkpoint_every {trials.checkpoint_every} does not divide "
                             f"scheduler.perturbation_interval {self.perturbation_interval}: {self.title} copies a "
                             f"donor's checkpoint at every perturbation; set checkpoint_every to "
                             f"{self.perturbation_interval} (or leave it out)")
        if trials.workers > 1:
            raise ValueError(f"scheduler {self.name} runs trials in one process: a data-parallel trial "
                             f"(resources.workers {trials.workers}) cannot continue from another trial's "
                             f"checkpoint yet; use resources.workers: 1")
        if trials.searcher.learns_from_results:
            raise ValueError(f"scheduler {self.name} cannot run with searcher {trials.searcher.name}: it copies "
                             f"and perturbs trials itself, and Tune refuses a searcher that learns from results; "
                             f"use searcher grid or random")

    def check_budget(self, budget: Budget) -> None:
        """Some trial runs past the first perturbation."""
        if self.perturbation_interval >= budget.most:
            raise ValueError(f"scheduler.perturbation_interval {self.perturbation_interval} is not below the trials' "
                             f"epochs ({budget.most_named()}): {self.title} would perturb no trial before it "
                             f"ends; lower scheduler.perturbation_interval or raise {budget.section}.epochs")

    def changing_settings(self) -> tuple[str, ...]:
        return tuple(self.mutations)

    def checkpoint_interval(self) -> int | None:
        return self.perturbation_interval


class PbtScheduler(PopulationScheduler):
    name: Literal["pbt"] = "pbt"
    title: ClassVar[str] = "PBT"

    resample_probability: float = Field(0.25, ge=0, le=1)
    """The chance that a mutated setting is drawn afresh from its domain instead of perturbed."""
    perturbation_factors: tuple[float, float] = (1.2, 0.8)
    """What a number setting is multiplied by when perturbed (one of the two, at random)."""

    def build(self, epochs: int, data_parallel: bool, objective: Objective) -> Any:
        from harness.population_tune import StudyPBT
        from harness.trialplan import to_tune

        ranges = {key: bounds for key, domain in self.mutations.items() if (bounds := _range(domain)) is not None}
        mutations = {key: list(domain.bounds) if domain.variation in ("grid", "choice") else to_tune(domain)
                     for key, domain in self.mutations.items()}
        # Perturbation times count epochs as the trials report them (also after an exploit,
        # where the trial continues at its donor's epoch).
        return StudyPBT(
            epochs, time_attr="epoch", perturbation_interval=self.perturbation_interval,
            hyperparam_mutations=mutations, quantile_fraction=self.quantile_fraction,
            resample_probability=self.resample_probability, perturbation_factors=self.perturbation_factors,
            synch=self.synch, custom_explore_fn=functools.partial(within_ranges, ranges), decision_seed=self.seed)
