"""Optuna's TPE: ``num_samples`` trials proposed from the results so far, seeded, journaled.

The study's Optuna history is kept in ``<study>/optuna.journal`` (local storage), which
optuna-dashboard opens; every Optuna trial records the Tune trial it became, so ``status``
and ``trials.csv`` show both numbers (:mod:`harness.optuna_journal`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from harness.domain import Space
from harness.optuna_journal import JOURNAL_FILE, optuna_trial_numbers
from harness.policies.base import Objective, Searcher
from harness.trialplan import TrialPlan, to_tune

OPTUNA_TRIAL_COLUMN = "optuna_trial"


class OptunaSearcher(Searcher):
    name: Literal["optuna"] = "optuna"
    title: ClassVar[str] = "Optuna's TPE"
    column_titles: ClassVar[dict[str, str]] = {OPTUNA_TRIAL_COLUMN: "optuna"}

    def check(self, space: Space) -> None:
        gridded = [key for key, domain in space.items() if domain.variation == "grid"]
        if gridded:
            raise ValueError(f"Ray's Optuna searcher does not support grid entries ({', '.join(gridded)}); "
                             "use choice instead")
        super().check(space)

    def plan(self, space: Space, derived: dict[str, Any]) -> TrialPlan:
        return TrialPlan({**{key: to_tune(domain) for key, domain in space.items()}, **derived},
                         [dict(p) for p in self.points_to_evaluate], self.num_samples)

    def build(self, plan: TrialPlan, objective: Objective, experiment_path: str, max_concurrent: int | None) -> Any:
        import optuna
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        from harness.optuna_search import DistinctOptunaSearch
        from harness.storage import is_uri

        storage = None
        if not is_uri(experiment_path):  # optuna-dashboard can open this journal file
            Path(experiment_path).mkdir(parents=True, exist_ok=True)
            storage = JournalStorage(JournalFileBackend(str(Path(experiment_path) / JOURNAL_FILE)))
        return DistinctOptunaSearch(metric=objective.metric, mode=objective.mode, points_to_evaluate=plan.points
                                    or None, sampler=optuna.samplers.TPESampler(seed=self.seed),
                                    study_name=objective.study_name, storage=storage)

    def settings_are_distinct(self, space: Space) -> bool:
        """Optuna never runs a configuration twice (:mod:`harness.optuna_search`)."""
        return bool(space)

    def trial_columns(self, folder: Path, study_name: str) -> dict[str, dict[str, Any]]:
        return {OPTUNA_TRIAL_COLUMN: optuna_trial_numbers(folder, study_name)}
