"""Optuna: ``num_samples`` trials proposed from the results so far, seeded, journaled.

``sampler``: ``tpe`` (the default, also Optuna's for several objectives; its first
``startup_trials`` trials are random), ``nsga2`` or ``nsga3`` (genetic, of
``population_size`` trials per generation, the first one random).  Each serves one
objective or several; with several, the study's constraints are passed to the sampler.

The study's Optuna history is kept in ``<study>/optuna.journal`` (local storage), which
optuna-dashboard opens; every Optuna trial records the Tune trial it became, so ``status``
and ``trials.csv`` show both numbers (:mod:`harness.optuna_journal`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from harness.domain import Space
from harness.optuna_journal import JOURNAL_FILE, optuna_trial_numbers
from harness.policies.base import Objective, Searcher
from harness.trialplan import TrialPlan

OPTUNA_TRIAL_COLUMN = "optuna_trial"


class OptunaSearcher(Searcher):
    name: Literal["optuna"] = "optuna"
    title: ClassVar[str] = "Optuna's TPE"
    column_titles: ClassVar[dict[str, str]] = {OPTUNA_TRIAL_COLUMN: "optuna"}
    carries_derived_settings: ClassVar[bool] = False
    learns_from_results: ClassVar[bool] = True
    state_glob: ClassVar[str | None] = "optuna-searcher-*.json"
    """Written by :class:`harness.optuna_search.DistinctOptunaSearch` (its ``CKPT_FILE_TMPL``)."""

    sampler: Literal["tpe", "nsga2", "nsga3"] = Field("tpe", exclude_if=lambda sampler: sampler == "tpe")
    """Optuna's sampler: TPE (multivariate off, as Optuna's default), NSGA-II or NSGA-III."""
    population_size: int | None = Field(None, ge=2, exclude_if=lambda size: size is None)
    """Trials per generation of ``nsga2`` / ``nsga3`` (default: Optuna's, 50).  The first
    generation is drawn at random, so a study of fewer trials than this never leaves it."""
    startup_trials: int | None = Field(None, ge=1, exclude_if=lambda count: count is None)
    """Random trials ``tpe`` starts with before it models the results (Optuna's
    ``n_startup_trials``; default: Optuna's, 10).  A study of few expensive trials, as a NAS
    search is, lowers it so that TPE has most of the budget to search with."""

    SAMPLER_SETTINGS: ClassVar[dict[str, tuple[tuple[str, ...], str]]] = {
        "population_size": (("nsga2", "nsga3"), "sizes the generations of sampler nsga2 or nsga3; TPE has none: "
                                                 "drop it, or set searcher.sampler"),
        "startup_trials": (("tpe",), "counts the random trials sampler tpe starts with; {sampler} starts with a "
                                     "random first generation: set searcher.population_size instead"),
    }
    """Each sampler setting: the samplers it applies to, and why it is refused for the others."""

    def check(self, space: Space) -> None:
        for setting, (samplers, why) in self.SAMPLER_SETTINGS.items():
            if getattr(self, setting) is not None and self.sampler not in samplers:
                raise ValueError(f"searcher.{setting} {why.format(sampler=self.sampler)}")
        gridded = [key for key, domain in space.items() if domain.variation == "grid"]
        if gridded:
            raise ValueError(f"Ray's Optuna searcher does not support grid entries ({', '.join(gridded)}); "
                             "use choice instead")
        super().check(space)

    def check_saved_state(self, state: dict[str, Any]) -> None:
        from harness.optuna_search import check_saved_state

        check_saved_state(state)

    def plan(self, space: Space, derived: dict[str, Any]) -> TrialPlan:
        """The searcher draws every space entry itself (:func:`harness.optuna_search.optuna_space`):
        Tune's param space is empty, and each trial's config is what Optuna proposed."""
        return TrialPlan({}, [dict(p) for p in self.points_to_evaluate], self.num_samples)

    def build(self, space: Space, plan: TrialPlan, objective: Objective, experiment_path: str,
              max_concurrent: int | None) -> Any:
        """The searcher of :mod:`harness.optuna_search`.  ``max_concurrent`` is Tune's to enforce
        (``max_concurrent_trials``; :meth:`limits_concurrency` is False)."""
        from harness.optuna_search import DistinctOptunaSearch, optuna_space
        from harness.storage import is_uri

        journal = None if is_uri(experiment_path) else Path(experiment_path) / JOURNAL_FILE
        several = bool(objective.others)
        return DistinctOptunaSearch(optuna_space(space), metric=objective.metrics if several else objective.metric,
                                    mode=objective.modes if several else objective.mode, seed=self.seed,
                                    sampler=self.sampler, population_size=self.population_size,
                                    startup_trials=self.startup_trials,
                                    constraints=objective.constraints, study_name=objective.study_name,
                                    journal=journal, points_to_evaluate=plan.points)

    def settings_are_distinct(self, space: Space) -> bool:
        """Optuna never runs a configuration twice (:mod:`harness.optuna_search`)."""
        return bool(space)

    def trial_columns(self, folder: Path, study_name: str) -> dict[str, dict[str, Any]]:
        return {OPTUNA_TRIAL_COLUMN: optuna_trial_numbers(folder, study_name)}
