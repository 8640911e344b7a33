"""Tune's population-based schedulers as a study runs them: one population per seed, control
trials left alone, no perturbation at a trial's last epoch, a resume that goes on where it stopped.

Seeds are replicates: a study that varies a seed runs one independent population per seed
(exploits never cross seeds), so a population's result is repeated, not pooled.  A trial
whose ``population.control`` is true is invisible to the scheduler: it runs its starting
settings to the end, the fixed-schedule arm the population is compared with.

Tune consults its scheduler on every report, the last one included; PBT would then pause a
trial that has finished its epochs and restart it from a donor's finished state, so that
the trial ends as a copy of another one (its curve, genotype and score the donor's).  A
careful PBT user perturbs only trials that still train: these subclasses let a report of
the last epoch (or a later one) through untouched, and they pick up a resumed population
where it stopped.  Imported where a study runs
(:meth:`harness.policies.pbt.PbtScheduler.build`): it imports Ray.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import warnings
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from ray.tune.experiment import Trial
from ray.tune.schedulers import PopulationBasedTraining, TrialScheduler
from ray.tune.schedulers.pb2 import PB2

from harness.domain import CONTROL_KEY, is_seed_key

if TYPE_CHECKING:
    from ray.tune.execution.tune_controller import TuneController


def is_control(trial: Any) -> bool:
    """Whether ``trial`` is a control: its starting settings run to the end, never copied."""
    return bool(trial.config.get(CONTROL_KEY))


def population_of(trial: Any) -> tuple[tuple[str, Any], ...]:
    """The population ``trial`` belongs to: its seeds (none: the study's one population)."""
    return tuple(sorted((key, value) for key, value in trial.config.items() if is_seed_key(key)))


class _WithoutControls:
    """The Tune controller as PBT's own code should see it: without the control trials, so that
    it never waits for one at a synchronous perturbation nor pauses for one in the queue.
    It stands in for the controller (:func:`_without_controls`) where PBT lists trials; every
    other call goes to the controller itself."""

    def __init__(self, controller: Any):
        self._controller = controller

    def get_trials(self) -> list[Any]:
        return [trial for trial in self._controller.get_trials() if not is_control(trial)]

    def get_live_trials(self) -> list[Any]:
        return [trial for trial in self._controller.get_live_trials() if not is_control(trial)]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._controller, name)


def _without_controls(controller: TuneController) -> TuneController:
    return cast("TuneController", _WithoutControls(controller))


class _SeparatePopulations(PopulationBasedTraining):
    """One population per seed, and control trials kept out of every decision.  Tune's PBT
    ranks the whole population at once (``_quantiles``) and lets a bottom trial copy any top
    one; here the quantiles are Tune's own, taken within each population, and a trial copies
    only from its own."""

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        if not is_control(trial):
            super().on_trial_add(_without_controls(tune_controller), trial)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        if is_control(trial):
            return TrialScheduler.CONTINUE
        return super().on_trial_result(_without_controls(tune_controller), trial, result)

    def choose_trial_to_run(self, tune_controller: Any) -> Any:
        chosen = super().choose_trial_to_run(_without_controls(tune_controller))
        if chosen is not None:
            return chosen
        return next((trial for trial in tune_controller.get_trials()
                     if is_control(trial) and trial.status in (Trial.PENDING, Trial.PAUSED)), None)

    def _quantiles(self) -> tuple[list[Any], list[Any]]:
        everyone = self._trial_state
        populations: dict[tuple, dict[Any, Any]] = defaultdict(dict)
        for trial, state in everyone.items():
            populations[population_of(trial)][trial] = state
        lower: list[Any] = []
        upper: list[Any] = []
        try:
            for states in populations.values():
                self._trial_state = states
                low, high = super()._quantiles()
                lower += low
                upper += high
        finally:
            self._trial_state = everyone
        return lower, upper

    def _checkpoint_or_exploit(self, trial: Any, tune_controller: Any, upper_quantile: list[Any],
                               lower_quantile: list[Any]) -> None:
        population = population_of(trial)
        return super()._checkpoint_or_exploit(
            trial, tune_controller, [t for t in upper_quantile if population_of(t) == population],
            [t for t in lower_quantile if population_of(t) == population])


def trial_number(trial: Any) -> str:
    """The part of ``trial``'s id a rerun of the study gives it again: Tune names trials
    ``<experiment>_<number>``, the experiment part drawn afresh for every run, the number in the
    order the searcher proposed them."""
    return str(trial.trial_id).rsplit("_", 1)[-1]


@contextlib.contextmanager
def seeded_decision(*key: object) -> Iterator[None]:
    """Python's and NumPy's global random generators seeded from ``key`` for the block, and
    put back as they were after it (the driver's other users of them see no change)."""
    seed = int.from_bytes(hashlib.sha256(repr(key).encode()).digest()[:8], "little")
    python_state, numpy_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


class _SeededDecisions(PopulationBasedTraining):
    """Each exploit-and-explore decision drawn from a random stream of its own.  Tune's PBT
    draws the donor a bottom trial copies, each perturbation factor and each resampled value
    (PB2: the starts of its acquisition search) from the driver's global ``random`` and
    ``numpy.random``, which nothing seeds, so two runs of one study file copied different
    donors and could reach different answers.  Here a decision's stream is seeded by the
    scheduler's ``seed``, the trial's number and the epoch it is made at: a synchronous
    population makes the same decisions on a rerun whatever order its trials report in, and
    a resumed one the decisions the uninterrupted one made.  (Asynchronous PBT decides on
    whichever trials have reported by then, which no seed can fix.)"""

    def __init__(self, *, decision_seed: int, **settings: Any):
        super().__init__(**settings)
        self.decision_seed = decision_seed

    def _checkpoint_or_exploit(self, trial: Any, tune_controller: Any, upper_quantile: list[Any],
                               lower_quantile: list[Any]) -> None:
        epoch = self._trial_state[trial].last_train_time
        with seeded_decision(self.decision_seed, trial_number(trial), epoch):
            return super()._checkpoint_or_exploit(trial, tune_controller, upper_quantile, lower_quantile)


class _SparesLastEpoch(PopulationBasedTraining):
    """The guard both schedulers share (listed first among the bases: its hook runs first)."""

    last_epoch: int

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        if result.get("epoch", 0) >= self.last_epoch:
            return TrialScheduler.CONTINUE
        # a mixin: the hook is the scheduler's it is listed before (mypy looks in object)
        return super().on_trial_result(tune_controller, trial, result)


class _ResumesWhereItStopped(PopulationBasedTraining):
    """Tune saves no scheduler state with a study: after ``resume`` a fresh PBT meets the
    restored trials as if none had trained.  It would then perturb each trial at its first
    report however recently it was perturbed, and in synchronous mode it would place the next
    perturbation at the restored epoch itself, where no trial is waiting below it, so that
    Tune has nothing left to run and the study hangs (Ray 2.60).  This seeds each restored
    trial's record from the checkpoint it resumes from (its epoch, its last perturbation on
    the grid of perturbation times, its score) and puts the next synchronous perturbation at
    the earliest one a trial still has to reach."""

    def __init__(self, **settings: Any):
        super().__init__(**settings)
        self._resumed = False
        self._next_perturbations: list[float] = []
        """Each added trial's next perturbation time."""

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        super().on_trial_add(tune_controller, trial)
        interval = self._perturbation_interval
        first = max(interval, self._burn_in_period)
        restored = trial.latest_checkpoint_result
        epoch = restored.metrics.get(self._time_attr) if restored is not None else None
        if epoch is None:
            next_perturbation = first
        else:
            last = 0 if epoch < first else first + (epoch - first) // interval * interval
            next_perturbation = max(first, last + interval)
            state = self._trial_state[trial]
            state.last_train_time, state.last_perturbation_time = epoch, last
            if self._metric in restored.metrics and self._metric_op is not None:
                state.last_score = self._metric_op * restored.metrics[self._metric]
                state.last_result = restored.metrics
            self._resumed = True
        self._next_perturbations.append(next_perturbation)
        if self._resumed:
            self._next_perturbation_sync = min(self._next_perturbations)
            if self._synch:
                self._hold_at_perturbation(tune_controller, trial)

    def _hold_at_perturbation(self, tune_controller: Any, added: Any) -> None:
        """Pause every restored trial already at the next synchronous perturbation, as it
        was when the study stopped (waiting there for the others).  Tune restores trials
        as PENDING and starts every PENDING trial whatever the scheduler chooses; one that
        trained on past the perturbation would be cloned from a later epoch than the
        perturbation's (its save scheduled while it runs), and the population would leave
        step with the uninterrupted one -- or, with every trial past the next perturbation
        time, have nothing left to run.  ``added`` is not yet in the controller's queues:
        its own status is set directly."""
        for trial, state in self._trial_state.items():
            if trial.status != Trial.PENDING or state.last_train_time < self._next_perturbation_sync:
                continue
            if trial is added:
                trial.set_status(Trial.PAUSED)
            else:
                tune_controller._set_trial_status(trial, Trial.PAUSED)


class StudyPBT(_SeparatePopulations, _SeededDecisions, _SparesLastEpoch, _ResumesWhereItStopped,
               PopulationBasedTraining):
    """:class:`ray.tune.schedulers.PopulationBasedTraining` for trials of ``last_epoch`` epochs,
    its decisions seeded by ``decision_seed``."""

    def __init__(self, last_epoch: int, **settings: Any):
        super().__init__(**settings)
        self.last_epoch = last_epoch


class StudyPB2(_SeparatePopulations, _SeededDecisions, _SparesLastEpoch, _ResumesWhereItStopped, PB2):
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

