"""Optuna's TPE: ``num_samples`` trials proposed from the results so far, seeded, journaled.

The study's Optuna history is kept in ``<study>/optuna.journal`` (local storage), which
optuna-dashboard opens; every Optuna trial records the Tune trial it became, so ``status``
and ``trials.csv`` show both numbers (:mod:`harness.analysis.optuna_trials`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from harness.policies.base import Searcher
from harness.trialplan import TrialPlan, origin_fields, to_tune

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
        super().check(study)

    def plan(self, study: Study) -> TrialPlan:
        return TrialPlan({**{key: to_tune(domain) for key, domain in study.space.items()}, **origin_fields(study)},
                         [dict(p) for p in self.points_to_evaluate], self.num_samples)

    def build(self, study: Study, plan: TrialPlan, experiment_path: str, max_concurrent: int | None) -> Any:
        import optuna
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        from harness.optuna_search import DistinctOptunaSearch
        from harness.storage import is_uri
        from harness.studyfolder import OPTUNA_JOURNAL

        storage = None
        if not is_uri(experiment_path):  # optuna-dashboard can open this journal file
            Path(experiment_path).mkdir(parents=True, exist_ok=True)
            storage = JournalStorage(JournalFileBackend(str(Path(experiment_path) / OPTUNA_JOURNAL)))
        return DistinctOptunaSearch(metric=study.metric, mode=study.objective.mode, points_to_evaluate=plan.points
                                    or None, sampler=optuna.samplers.TPESampler(seed=self.seed),
                                    study_name=study.name, storage=storage)

    def settings_are_distinct(self, study: Study) -> bool:
        """Optuna never runs a configuration twice (:mod:`harness.optuna_search`)."""
        return bool(study.space)

    def trial_columns(self, folder: Path, study: Study) -> dict[str, dict[str, Any]]:
        from harness.analysis.optuna_trials import optuna_trial_numbers

        return {OPTUNA_TRIAL_COLUMN: optuna_trial_numbers(folder, study.name)}
