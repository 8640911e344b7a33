"""Tune's population-based schedulers as a study runs them: no perturbation at a trial's last epoch.

Tune consults its scheduler on every report, the last one included; PBT would then pause a
trial that has finished its epochs and restart it from a donor's finished state, so that
the trial ends as a copy of another one (its curve, genotype and score the donor's).  A
careful PBT user perturbs only trials that still train: these subclasses let a report of
the last epoch (or a later one) through untouched.  Imported where a study runs
(:meth:`harness.policies.pbt.PbtScheduler.build`): it imports Ray.
"""

from __future__ import annotations

import warnings
from typing import Any

from ray.tune.schedulers import PopulationBasedTraining, TrialScheduler
from ray.tune.schedulers.pb2 import PB2


class _SparesLastEpoch:
    """The guard both schedulers share (listed first among the bases: its hook runs first)."""

    last_epoch: int

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        if result.get("epoch", 0) >= self.last_epoch:
            return TrialScheduler.CONTINUE
        # a mixin: the hook is the scheduler's it is listed before (mypy looks in object)
        return super().on_trial_result(tune_controller, trial, result)  # type: ignore[misc]


class StudyPBT(_SparesLastEpoch, PopulationBasedTraining):
    """:class:`ray.tune.schedulers.PopulationBasedTraining` for trials of ``last_epoch`` epochs."""

    def __init__(self, last_epoch: int, **settings: Any):
        super().__init__(**settings)
        self.last_epoch = last_epoch


class StudyPB2(_SparesLastEpoch, PB2):
    """:class:`ray.tune.schedulers.PB2` for trials of ``last_epoch`` epochs, its GP fitted
    quietly: scikit-learn warns that a kernel length scale reached its bound whenever the
    few points of a small population fit a flat surface, between the study's trial lines
    and under ``--quiet`` too, with nothing for the user to do."""

    def __init__(self, last_epoch: int, **settings: Any):
        super().__init__(**settings)
        self.last_epoch = last_epoch

    def _get_new_config(self, trial: Any, trial_to_clone: Any) -> tuple[dict, dict]:
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return super()._get_new_config(trial, trial_to_clone)
