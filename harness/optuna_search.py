"""Ray's Optuna searcher, made to never run a finished configuration again.

TPE samples ``choice`` entries; in a small space it proposes a configuration it has
already seen (a 4-trial study once drew τ0 = 1.0, rate = 0.9 twice, so a quarter of the
budget re-ran a finished search).  Here a proposal equal to a completed trial's settings
is told its result (Optuna learns the same as from running it, and the journal records
``repeat_of``) and TPE is asked again.  A proposal equal to a trial still running (two
trials run at once on two CPUs) has no result to learn from yet: it is recorded as a
failed duplicate (``duplicate_of``; TPE models completed trials only) and TPE is asked
again.  Only when it keeps proposing such configurations is one run again, with a
warning.  Every Optuna trial records the Tune trial id it became (``tune_trial_id``), so
``status`` and ``trials.csv`` show both numbers.
"""

from __future__ import annotations

import logging
from typing import Any

import optuna
from ray.tune.search.optuna import OptunaSearch

from harness.optuna_journal import TUNE_TRIAL_ID

log = logging.getLogger(__name__)
MAX_DRAWS = 20


def _key(params: dict[str, Any]) -> tuple:
    return tuple(sorted(params.items()))


class DistinctOptunaSearch(OptunaSearch):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._finished: dict[tuple, tuple[float, str]] = {}
        """Settings of every completed trial -> (its objective, its Tune trial id)."""
        self._running: dict[tuple, str] = {}
        """Settings of every trial suggested and not completed yet -> its Tune trial id."""

    def suggest(self, trial_id: str) -> dict | None:
        config = super().suggest(trial_id)
        for _ in range(MAX_DRAWS):
            ot_trial = self._ot_trials.get(trial_id)
            if ot_trial is None:
                break
            key, settings = _key(ot_trial.params), ", ".join(f"{k}={v}" for k, v in ot_trial.params.items())
            if key in self._finished:
                value, first = self._finished[key]
                ot_trial.set_user_attr("repeat_of", first)
                self._ot_study.tell(ot_trial, value)
                log.info("Optuna proposed the settings of finished trial %s again (%s); its result was reused and "
                         "another configuration drawn", first, settings)
            elif key in self._running:
                ot_trial.set_user_attr("duplicate_of", self._running[key])
                self._ot_study.tell(ot_trial, state=optuna.trial.TrialState.FAIL)
                log.info("Optuna proposed the settings of running trial %s (%s); another configuration drawn",
                         self._running[key], settings)
            else:
                break
            del self._ot_trials[trial_id]
            config = super().suggest(trial_id)
        else:
            log.warning("after %d draws Optuna proposed only finished or running configurations; running %s again",
                        MAX_DRAWS, self._ot_trials[trial_id].params)
        if trial_id in self._ot_trials:
            self._ot_trials[trial_id].set_user_attr(TUNE_TRIAL_ID, trial_id)
            self._running.setdefault(_key(self._ot_trials[trial_id].params), trial_id)
        return config

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        ot_trial = self._ot_trials.get(trial_id)
        key = _key(ot_trial.params) if ot_trial is not None else None
        super().on_trial_complete(trial_id, result, error)
        if key is None:
            return
        if self._running.get(key) == trial_id:
            del self._running[key]
        value = (result or {}).get(self.metric)
        if not error and isinstance(value, int | float):
            self._finished.setdefault(key, (float(value), trial_id))
