"""Optuna's samplers as a Ray Tune searcher, on Optuna's public API, never running a configuration twice.

Each Tune trial is one Optuna trial: the searcher asks the study for it (``study.ask``) and
tells it the trial's result (``study.tell``).  The study is seeded (``TPESampler(seed)``,
or NSGA-II/III's) and kept in ``<study>/optuna.journal`` on local storage, where
optuna-dashboard opens it.

With several objectives (a list of metrics and modes, as Ray's ``OptunaSearch`` takes) the
Optuna study has one direction per objective and is told every objective's value; the
constraints on other metrics are set on each trial before it is told
(``Trial.set_constraint``, feasible at ≤ 0), where Optuna's samplers read them.  An
intermediate value is reported for a single objective only: Optuna has none for several.

TPE samples ``choice`` entries; in a small space it proposes a configuration it has
already seen (a 4-trial study once drew τ0 = 1.0, rate = 0.9 twice, so a quarter of the
budget re-ran a finished search).  Here a proposal equal to a completed trial's settings
is told that trial's result (Optuna learns the same as from running it, and the journal
records ``repeat_of``) and TPE is asked again.  A proposal equal to a trial still running
(two trials run at once on two CPUs) has no result to learn from yet: it is recorded as
a failed duplicate (``duplicate_of``; TPE models completed trials only) and TPE is asked
again.  Only when 20 draws in a row propose such configurations is the last one run
again, with a warning.  Every Optuna trial records the Tune trial id it became
(``tune_trial_id``), so ``status`` and ``trials.csv`` show both numbers.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages import JournalStorage
from optuna.storages.journal import BaseJournalBackend, JournalFileBackend
from optuna.trial import TrialState
from ray.tune.search import Searcher

from harness.optuna_journal import TUNE_TRIAL_ID

if TYPE_CHECKING:
    from harness.domain import Domain

log = logging.getLogger(__name__)
MAX_DRAWS = 20

SAMPLER_STATE = "tpe_random_streams"
"""The saved state's entry of the sampler's random streams (:func:`random_streams`; named when
TPE was the only sampler)."""

def _nsga3(seed: int, population_size: int = 50) -> optuna.samplers.BaseSampler:
    """Optuna's NSGA-III, without its warning that the class is experimental: printed once per
    study between the trial lines, it asks nothing of a user who chose ``sampler: nsga3``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.NSGAIIISampler(seed=seed, population_size=population_size)


SAMPLERS: dict[str, Callable[..., optuna.samplers.BaseSampler]] = {
    "tpe": lambda seed, startup_trials=10: optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials),
    "nsga2": lambda seed, population_size=50: optuna.samplers.NSGAIISampler(seed=seed,
                                                                            population_size=population_size),
    "nsga3": _nsga3,
}
"""Optuna's samplers by the name a study gives (``searcher.sampler``), built from the seed and
the settings that sampler takes: TPE's ``startup_trials`` (its random start, Optuna's
``n_startup_trials``), a genetic one's ``population_size`` (its generations, the first one
random); the defaults are Optuna's, 10 and 50.  Each draws from the two random streams
:func:`random_streams` saves."""
SAVED_KEYS = ("tune_trials", "points_started", SAMPLER_STATE, "journal_entries")
_MT_WORDS = 624
"""The length of a Mersenne Twister state (numpy's ``RandomState``)."""


def _streams_of(sampler: Any) -> dict[str, np.random.RandomState]:
    """The random streams a sampler of :data:`SAMPLERS` draws from: its own (TPE: the
    candidates it weighs; NSGA: crossover and mutation) and its random sampler's (the
    startup trials or first generation, and parameters outside the joint space).
    Optuna keeps them in private attributes, and has no public way to save them; every
    other attribute of the sampler is a setting fixed when it is built from the seed."""
    return {"tpe": sampler._rng.rng, "random": sampler._random_sampler._rng.rng}


def random_streams(sampler: optuna.samplers.BaseSampler) -> dict[str, list]:
    """The sampler's random streams as JSON numbers (``RandomState.get_state``)."""
    saved = {}
    for name, stream in _streams_of(sampler).items():
        kind, words, position, has_gauss, cached_gauss = stream.get_state()
        saved[name] = [kind, [int(w) for w in words], int(position), int(has_gauss), float(cached_gauss)]
    return saved


def set_random_streams(sampler: optuna.samplers.BaseSampler, saved: Mapping[str, list]) -> None:
    """Continue ``sampler``'s random streams where :func:`random_streams` saved them."""
    for name, stream in _streams_of(sampler).items():
        kind, words, position, has_gauss, cached_gauss = saved[name]
        stream.set_state((kind, np.array(words, dtype=np.uint32), position, has_gauss, cached_gauss))


def check_saved_state(state: Mapping[str, Any]) -> None:
    """Raise :class:`ValueError` saying what is wrong with a saved searcher state ``resume``
    would continue from, before Tune starts restoring the study."""
    missing = [key for key in SAVED_KEYS if key not in state]
    if "tpe_sampler_pickle" in state and SAMPLER_STATE in missing:
        raise ValueError("it holds the TPE sampler as a pickle, as versions before this one saved it, and a "
                         "pickle in a study folder is never loaded")
    if missing:
        raise ValueError(f"it lacks {', '.join(missing)}")
    streams = state[SAMPLER_STATE]
    for name in ("tpe", "random"):
        saved = streams.get(name) if isinstance(streams, dict) else None
        if not (isinstance(saved, list) and len(saved) == 5 and saved[0] == "MT19937"
                and isinstance(saved[1], list) and len(saved[1]) == _MT_WORDS
                and all(type(w) is int and 0 <= w < 2**32 for w in saved[1])
                and type(saved[2]) is int and 0 <= saved[2] <= _MT_WORDS
                and type(saved[3]) is int and isinstance(saved[4], int | float)):
            raise ValueError(f"its {SAMPLER_STATE}.{name} is not a Mersenne Twister state")


DISTRIBUTIONS: dict[str, Callable[[Any], BaseDistribution]] = {
    "choice": CategoricalDistribution,
    "uniform": lambda bounds: FloatDistribution(bounds[0], bounds[1]),
    "loguniform": lambda bounds: FloatDistribution(bounds[0], bounds[1], log=True),
    "randint": lambda bounds: IntDistribution(bounds[0], bounds[1] - 1),  # Tune's high is excluded, Optuna's not
}
"""The Optuna distribution of each way a space entry varies, as Ray's ``OptunaSearch``
converted the Tune domain (``convert_search_space``), so that studies stay comparable.
``grid`` has none: the Optuna searcher refuses it."""


def optuna_space(space: Mapping[str, Domain]) -> dict[str, BaseDistribution]:
    """The study's space entries as Optuna distributions."""
    return {key: DISTRIBUTIONS[domain.variation](domain.bounds) for key, domain in space.items()}


def _number(value: Any) -> float | None:
    """A reported value as a float; None when absent, NaN or not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _key(params: Mapping[str, Any]) -> tuple:
    return tuple(sorted(params.items()))


def _settings(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


class _SavedJournal(BaseJournalBackend):
    """Optuna's journal held in a list: the study of a study stored remotely, where no journal
    file can be kept; its entries are saved with the searcher's state."""

    def __init__(self, entries: Iterable[dict[str, Any]] = ()):
        self.entries = list(entries)

    def read_logs(self, log_number_from: int) -> list[dict[str, Any]]:
        return self.entries[log_number_from:]

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        self.entries.extend(logs)


class DistinctOptunaSearch(Searcher):
    """An Optuna sampler (:data:`SAMPLERS`) over ``space``, never proposing a configuration
    that finished or is running.  ``metric`` and ``mode`` are one name each, or lists (one
    entry per objective); ``constraints`` are ``(metric, "max" or "min", bound)``;
    ``population_size`` and ``startup_trials`` are given to the sampler that takes them
    (:data:`SAMPLERS`), left out for Optuna's defaults.

    ``points_to_evaluate`` run first, in order: each is enqueued in the study just before
    the trial it becomes is asked (a point may leave entries out; TPE draws them).  At most
    ``resources.max_concurrent`` trials run at once through Tune's ``max_concurrent_trials``
    (a ``ConcurrencyLimiter`` around this searcher), as for every searcher that does not
    limit itself.

    Resume.  Tune saves the searcher with each experiment checkpoint (:meth:`save`, to
    ``optuna-searcher-<session>.json``) and ``snas-study resume`` restores it into the
    searcher ``tuner.pkl`` holds, as the study started (:meth:`restore`).  Saved: the
    Optuna trial number of every Tune trial handed out, how many points were handed out,
    the sampler and, for a study kept in memory, the study's journal entries.  The
    study itself comes back from its journal; the finished and running configurations are
    read from its trials.  The sampler's state is its two random streams, saved as numbers
    (:func:`random_streams`; Ray's own ``OptunaSearch`` pickled itself whole, and a pickle in
    a study folder is code that runs when it is read), so after a resume TPE continues the
    random stream of the last checkpoint; the trials Tune re-runs from that checkpoint are
    proposed as an uninterrupted run would have proposed them.

    Not restored: Optuna trials asked after the last checkpoint became Tune trials Tune
    does not know; they are told FAIL and their points are handed out again.  A trial
    that ended after the checkpoint and that Tune runs again keeps its first result.  The
    journal is the file the study started with (``tuner.pkl`` holds its path), so a study
    folder must be resumed where it ran.
    """

    CKPT_FILE_TMPL = "optuna-searcher-{}.json"
    """Tune's name for the saved state (Ray's default names a pickle; this one is JSON)."""

    def __init__(self, space: Mapping[str, BaseDistribution], *, metric: str | list[str], mode: str | list[str],
                 seed: int = 0, sampler: str = "tpe", population_size: int | None = None,
                 startup_trials: int | None = None,
                 constraints: Sequence[tuple[str, str, float]] = (), study_name: str = "optuna",
                 journal: str | Path | None = None, points_to_evaluate: Sequence[Mapping[str, Any]] = ()):
        # Tune's Searcher is typed for one metric, but keeps a list as Ray's own OptunaSearch gives it.
        super().__init__(metric=metric, mode=mode)  # type: ignore[arg-type]
        self._space = dict(space)
        self._metrics = [metric] if isinstance(metric, str) else list(metric)
        modes = [mode] if isinstance(mode, str) else list(mode)
        directions: dict[str, Literal["maximize", "minimize"]] = {"max": "maximize", "min": "minimize"}
        self._directions = [directions[m] for m in modes]
        self._constraints = [(str(metric), str(side), float(bound)) for metric, side, bound in constraints]
        settings = {"population_size": population_size, "startup_trials": startup_trials}
        self._sampler = SAMPLERS[sampler](seed, **{name: n for name, n in settings.items() if n is not None})
        self._study_name = study_name
        self._journal = None if journal is None else str(journal)
        self._points = [dict(point) for point in points_to_evaluate]
        self._points_started = 0
        self._saved_journal: _SavedJournal | None = None
        self._storage: JournalStorage | None = None
        self._study: optuna.Study | None = None
        self._numbers: dict[str, int] = {}
        """Tune trial id -> the Optuna trial number it runs as."""
        self._live: dict[str, optuna.Trial] = {}
        """Tune trial id -> its Optuna trial, while that is running."""
        self._finished: dict[tuple, tuple[list[float], str, dict[str, float]]] = {}
        """Settings of every completed trial -> (its objectives, its Tune trial id, its constraints)."""
        self._running: dict[tuple, str] = {}
        """Settings of every trial suggested and not completed yet -> its Tune trial id."""

    @property
    def study(self) -> optuna.Study:
        """The Optuna study, opened (or created) on first use: Tune pickles this searcher into
        ``tuner.pkl`` before the study runs, with no study in it."""
        return self._open_study([]) if self._study is None else self._study

    def _open_study(self, saved_entries: Iterable[dict[str, Any]]) -> optuna.Study:
        if self._journal is None:
            self._saved_journal = _SavedJournal(saved_entries)
            backend: BaseJournalBackend = self._saved_journal
        else:
            backend = JournalFileBackend(self._journal)
        self._storage = JournalStorage(backend)
        # Optuna announces "A new study created in Journal ..." at INFO on stderr, between the
        # study's trial lines and under --quiet too; the study's journal is named in the docs.
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._study = optuna.create_study(storage=self._storage, sampler=self._sampler,
                                          study_name=self._study_name, directions=self._directions,
                                          load_if_exists=True)
        return self._study

    def suggest(self, trial_id: str) -> dict[str, Any]:
        for draw in range(1, MAX_DRAWS + 1):
            trial = self._ask()
            key = _key(trial.params)
            if key not in self._finished and key not in self._running:
                break
            if draw == MAX_DRAWS:
                log.warning("after %d draws Optuna proposed only finished or running configurations; running %s "
                            "again", MAX_DRAWS, _settings(trial.params))
                break
            self._answer_repeat(trial, key)
        trial.set_user_attr(TUNE_TRIAL_ID, trial_id)
        self._numbers[trial_id] = trial.number
        self._live[trial_id] = trial
        self._running.setdefault(key, trial_id)
        return dict(trial.params)

    def _ask(self) -> optuna.Trial:
        """The next point to evaluate, if any is left, else TPE's proposal."""
        if self._points_started < len(self._points):
            self.study.enqueue_trial(self._points[self._points_started])
            self._points_started += 1
        return self.study.ask(self._space)

    def _answer_repeat(self, trial: optuna.Trial, key: tuple) -> None:
        """Tell ``trial``, whose settings an earlier trial has, what is known of them."""
        if key in self._finished:
            values, first, constraints = self._finished[key]
            trial.set_user_attr("repeat_of", first)
            for name, value in constraints.items():
                trial.set_constraint(name, value)
            self.study.tell(trial, values)
            log.info("Optuna proposed the settings of finished trial %s again (%s); its result was reused and "
                     "another configuration drawn", first, _settings(trial.params))
        else:
            trial.set_user_attr("duplicate_of", self._running[key])
            self.study.tell(trial, state=TrialState.FAIL)
            log.info("Optuna proposed the settings of running trial %s (%s); another configuration drawn",
                     self._running[key], _settings(trial.params))

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        """Each epoch's objective, as the trial's intermediate value (optuna-dashboard plots them);
        none with several objectives (Optuna's ``Trial.report`` takes one)."""
        trial = self._live.get(trial_id)
        value, step = result.get(self._metrics[0]), result.get("training_iteration")
        if trial is not None and value is not None and step is not None and len(self._metrics) == 1:
            trial.report(float(value), step)

    def _values(self, result: dict | None) -> list[float] | None:
        """The trial's objectives, None unless it reported every one."""
        values = [(result or {}).get(metric) for metric in self._metrics]
        reported = [float(value) for value in values if value is not None]
        return reported if len(reported) == len(values) else None

    def _constraint_values(self, result: dict) -> dict[str, float]:
        """Optuna's constraint value per bound, ``<metric>.<max|min>`` (feasible at ≤ 0); a
        metric the trial did not report leaves it infeasible (+inf)."""
        out = {}
        for metric, side, bound in self._constraints:
            value = _number(result.get(metric))
            out[f"{metric}.{side}"] = math.inf if value is None else (value - bound if side == "max" else bound - value)
        return out

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        """Tell Optuna how the trial ended: its objectives and constraints (complete; also an
        ASHA-stopped trial, scored by its last epoch), else failed (an error) or pruned
        (stopped before it ran)."""
        values = self._values(result)
        trial = self._live.pop(trial_id, None)
        if trial is None:
            self._ended_again(trial_id, values, result or {})
            return
        constraints = self._constraint_values(result or {}) if values is not None else {}
        if values is not None:
            for name, value in constraints.items():
                trial.set_constraint(name, value)
            ended = self.study.tell(trial, values)
        else:
            ended = self.study.tell(trial, state=TrialState.FAIL if error else TrialState.PRUNED)
        key = _key(ended.params)
        if self._running.get(key) == trial_id:
            del self._running[key]
        if ended.state == TrialState.COMPLETE:
            self._finished.setdefault(key, (ended.values, trial_id, constraints))

    def _ended_again(self, trial_id: str, values: list[float] | None, result: dict) -> None:
        """A Tune trial whose Optuna trial already ended: one that errored and ``resume`` ran
        again.  A result it now has is recorded as a new Optuna trial (``retry_of``), as
        Optuna cannot be told twice of one trial."""
        number = self._numbers.get(trial_id)
        if number is None or values is None or any(math.isnan(value) for value in values):
            return
        earlier = self.study.trials[number]
        if earlier.state == TrialState.COMPLETE:
            return  # told before the interruption; Tune ran it again from its checkpoint
        constraints = self._constraint_values(result)
        retried = optuna.trial.create_trial(params=earlier.params, distributions=earlier.distributions,
                                            values=values, user_attrs={TUNE_TRIAL_ID: trial_id, "retry_of": number})
        for name, value in constraints.items():
            retried.set_constraint(name, value)
        self.study.add_trial(retried)
        self._numbers[trial_id] = len(self.study.trials) - 1
        self._finished.setdefault(_key(earlier.params), (values, trial_id, constraints))
        log.info("Tune trial %s (Optuna trial %d, failed) completed when resumed: recorded as Optuna trial %d",
                 trial_id, number, self._numbers[trial_id])

    def save(self, checkpoint_path: str) -> None:
        state = {
            "tune_trials": self._numbers,
            "points_started": self._points_started,
            SAMPLER_STATE: random_streams(self._sampler),
            "journal_entries": None if self._saved_journal is None else self._saved_journal.entries,
        }
        Path(checkpoint_path).write_text(json.dumps(state))

    def restore(self, checkpoint_path: str) -> None:
        """Continue from the state :meth:`save` wrote (checked first by :func:`check_saved_state`)."""
        state = json.loads(Path(checkpoint_path).read_text())
        self._numbers = {trial_id: int(number) for trial_id, number in state["tune_trials"].items()}
        self._points_started = state["points_started"]
        set_random_streams(self._sampler, state[SAMPLER_STATE])
        self._open_study(state["journal_entries"] or [])
        self._live, self._finished, self._running = {}, {}, {}
        trials = self.study.trials
        for frozen in trials:
            if frozen.state == TrialState.COMPLETE and TUNE_TRIAL_ID in frozen.user_attrs:
                self._finished.setdefault(_key(frozen.params), (frozen.values, frozen.user_attrs[TUNE_TRIAL_ID],
                                                                dict(frozen.constraints)))
        handed_out = {number: trial_id for trial_id, number in self._numbers.items()}
        for frozen in trials:
            if frozen.state != TrialState.RUNNING:
                continue
            if frozen.number in handed_out:
                trial_id = handed_out[frozen.number]
                self._live[trial_id] = self._trial(frozen.number)
                self._running.setdefault(_key(frozen.params), trial_id)
            else:
                self.study.tell(frozen.number, state=TrialState.FAIL)
                log.info("Optuna trial %d was asked after Tune's last checkpoint; told failed", frozen.number)

    def _trial(self, number: int) -> optuna.Trial:
        """The running Optuna trial ``number`` (to report to), as ``study.ask`` returned it
        before the interruption; found through the storage's public lookups."""
        study, storage = self.study, self._storage
        assert storage is not None  # opening the study opened its storage
        study_id = storage.get_study_id_from_name(self._study_name)
        return optuna.trial.Trial(study, storage.get_trial_id_from_study_id_trial_number(study_id, number))
