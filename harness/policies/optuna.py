"""Optuna's TPE: ``num_samples`` trials proposed from the results so far, seeded, journaled.

The study's Optuna history is kept in ``<study>/optuna.journal`` (local storage), which
optuna-dashboard opens; every Optuna trial records the Tune trial it became, so ``status``
and ``trials.csv`` show both numbers (:mod:`harness.analysis.optuna_trials`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from harness.policies.base import Searcher
from harness.trialplan import GENOTYPE_KEY, TrialPlan

if TYPE_CHECKING:
    from harness.study import Study

OPTUNA_TRIAL_COLUMN = "optuna_trial"


class OptunaSearcher(Searcher):
    name: Literal["optuna"] = "optuna"
    title: ClassVar[str] = "Optuna's TPE"
    column_titles: ClassVar[dict[str, str]] = {OPTUNA_TRIAL_COLUMN: "optuna"}

    def check(self, study: Study) -> None:
        gridded = [key for key, domain in study.space.items() if domain.variation == "grid"]
        if gridded:
            raise ValueError(f"Ray's Optuna searcher does not support grid entries ({', '.join(gridded)}); "
                             "use choice instead")
        if (study.source or {}).get("genotypes") and GENOTYPE_KEY in study.space:
            raise ValueError(f"searcher optuna cannot run a retrain study's genotypes ({GENOTYPE_KEY}): Tune's "
                             "variant generator fills in where each came from; use searcher grid or random")
        super().check(study)

    def plan(self, study: Study) -> TrialPlan:
        """The searcher draws every space entry itself (:func:`harness.optuna_search.optuna_space`):
        Tune's param space is empty, and each trial's config is what Optuna proposed."""
        return TrialPlan({}, [dict(p) for p in self.points_to_evaluate], self.num_samples)

    def build(self, study: Study, plan: TrialPlan, experiment_path: str, max_concurrent: int | None) -> Any:
        """The searcher of :mod:`harness.optuna_search`.  ``max_concurrent`` is Tune's to enforce
        (``max_concurrent_trials``; :meth:`limits_concurrency` is False)."""
        from harness.optuna_search import DistinctOptunaSearch, optuna_space
        from harness.storage import is_uri
        from harness.studyfolder import OPTUNA_JOURNAL

        journal = None if is_uri(experiment_path) else Path(experiment_path) / OPTUNA_JOURNAL
        return DistinctOptunaSearch(optuna_space(study.space), metric=study.metric, mode=study.objective.mode,
                                    seed=self.seed, study_name=study.name, journal=journal,
                                    points_to_evaluate=plan.points)

    def settings_are_distinct(self, study: Study) -> bool:
        """Optuna never runs a configuration twice (:mod:`harness.optuna_search`)."""
        return bool(study.space)

    def trial_columns(self, folder: Path, study: Study) -> dict[str, dict[str, Any]]:
        from harness.analysis.optuna_trials import optuna_trial_numbers

        return {OPTUNA_TRIAL_COLUMN: optuna_trial_numbers(folder, study.name)}
